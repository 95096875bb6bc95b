//! parallel: run one job per host on a bounded number of threads, as
//! `status` and `push --all` do. Jobs start in index order, each once the
//! jobs it comes `after` have finished; the caller's thread sees each start,
//! each job's progress and each result as they happen. A result that `stops`
//! (a failed push without `--keep-going`) ends the handing out of jobs under
//! the same lock that hands them out, so no job starts after it.
//! [`map_on_every_core`] maps items on every core, as a build bundles hosts.

use std::sync::mpsc;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// How many hosts a command contacts at once unless told (`-j`).
pub const JOBS: u16 = 8;

/// What the caller's thread hears from the workers.
pub enum Event<P, R> {
    Started(usize),
    Progress(usize, P),
    Finished(usize, R),
    /// Nothing happened for `Pool::tick` (only with a tick).
    Tick,
}

/// How many jobs run at once, in which order, and how often the caller hears
/// `Event::Tick`.
pub struct Pool<'a> {
    pub width: usize,
    /// `after[i]`: the jobs that finish before job `i` starts (empty: none).
    pub after: &'a [Vec<usize>],
    pub tick: Option<Duration>,
}

#[derive(Default)]
struct Board {
    started: Vec<bool>,
    finished: Vec<bool>,
    stopped: bool,
}

impl Board {
    /// The first job not started whose predecessors have all finished.
    fn ready(&self, after: &[Vec<usize>]) -> Option<usize> {
        (0..self.started.len()).find(|&index| {
            !self.started[index]
                && after
                    .get(index)
                    .is_none_or(|before| before.iter().all(|&job| self.finished[job]))
        })
    }

    fn all_started(&self) -> bool {
        self.started.iter().all(|started| *started)
    }
}

/// The board under its lock, and the signal that it changed.
struct Shared<'a> {
    board: Mutex<Board>,
    changed: Condvar,
    after: &'a [Vec<usize>],
}

impl Shared<'_> {
    fn lock(&self) -> MutexGuard<'_, Board> {
        self.board.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stop(&self) {
        self.lock().stopped = true;
        self.changed.notify_all();
    }

    /// Take the next job, waiting while those ready must wait for others.
    fn next(&self) -> Option<usize> {
        let mut board = self.lock();
        loop {
            if board.stopped || board.all_started() {
                return None;
            }
            if let Some(index) = board.ready(self.after) {
                board.started[index] = true;
                return Some(index);
            }
            board = self
                .changed
                .wait(board)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// One worker: take jobs until none is left, telling `sender` of each.
    fn work_through<J, P, R>(
        &self,
        jobs: &[J],
        work: impl Fn(usize, &J, &dyn Fn(P)) -> R,
        stops: impl Fn(&R) -> bool,
        sender: &mpsc::Sender<Event<P, R>>,
    ) {
        while let Some(index) = self.next() {
            let _ = sender.send(Event::Started(index));
            let progress = |update: P| {
                let _ = sender.send(Event::Progress(index, update));
            };
            let result = work(index, &jobs[index], &progress);
            let stop = stops(&result);
            {
                // Under the lock, so that the caller hears of the end
                // before the start of a job that waited for it.
                let mut board = self.lock();
                board.finished[index] = true;
                board.stopped |= stop;
                let _ = sender.send(Event::Finished(index, result));
            }
            self.changed.notify_all();
        }
    }
}

impl Pool<'_> {
    /// Run `work(index, job, progress)` for every job; `handle` sees every
    /// event on this thread. When `handle` fails, no job starts any more, the
    /// running ones finish, and its first error is returned. Returns which
    /// jobs started.
    pub fn run<J, P, R, E>(
        &self,
        jobs: &[J],
        work: impl Fn(usize, &J, &dyn Fn(P)) -> R + Sync,
        stops: impl Fn(&R) -> bool + Sync,
        handle: impl FnMut(Event<P, R>) -> Result<(), E>,
    ) -> Result<Vec<bool>, E>
    where
        J: Sync,
        P: Send,
        R: Send,
    {
        let shared = Shared {
            board: Mutex::new(Board {
                started: vec![false; jobs.len()],
                finished: vec![false; jobs.len()],
                stopped: false,
            }),
            changed: Condvar::new(),
            after: self.after,
        };
        let workers = self.width.clamp(1, jobs.len().max(1));
        let outcome = std::thread::scope(|scope| {
            let (sender, received) = mpsc::channel::<Event<P, R>>();
            for _ in 0..workers {
                let sender = sender.clone();
                let (work, stops, shared) = (&work, &stops, &shared);
                scope.spawn(move || shared.work_through(jobs, work, stops, &sender));
            }
            drop(sender);
            self.hear(&received, &shared, handle)
        });
        outcome.map(|()| {
            shared
                .board
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner)
                .started
        })
    }

    /// Hand every event to `handle` until the workers are gone; after its
    /// first error, stop the pool and only drain the rest.
    fn hear<P, R, E>(
        &self,
        received: &mpsc::Receiver<Event<P, R>>,
        shared: &Shared<'_>,
        mut handle: impl FnMut(Event<P, R>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut first_error = None;
        loop {
            let event = match self.tick {
                Some(tick) => match received.recv_timeout(tick) {
                    Ok(event) => event,
                    Err(mpsc::RecvTimeoutError::Timeout) => Event::Tick,
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                },
                None => match received.recv() {
                    Ok(event) => event,
                    Err(_) => break,
                },
            };
            if first_error.is_some() {
                continue;
            }
            if let Err(error) = handle(event) {
                first_error = Some(error);
                shared.stop();
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// `work` applied to each item on every core, the results in the items'
/// order. Threads take batches of items as they come free, so that a thread
/// the machine slows down holds up no other.
pub fn map_on_every_core<T: Send, U: Send>(items: Vec<T>, work: impl Fn(T) -> U + Sync) -> Vec<U> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if cores == 1 || items.len() < 2 {
        return items.into_iter().map(work).collect();
    }
    let batch = items.len().div_ceil(cores * BATCHES_PER_CORE).max(1);
    let mut batches = Vec::new();
    let mut rest = items.into_iter().peekable();
    while rest.peek().is_some() {
        batches.push(rest.by_ref().take(batch).collect::<Vec<T>>());
    }
    let workers = cores.min(batches.len());
    let queue = Mutex::new(batches.into_iter().enumerate());
    let done = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let next = queue.lock().unwrap_or_else(PoisonError::into_inner).next();
                let Some((index, batch)) = next else { break };
                let results: Vec<U> = batch.into_iter().map(&work).collect();
                done.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push((index, results));
            });
        }
    });
    let mut done = done.into_inner().unwrap_or_else(PoisonError::into_inner);
    done.sort_by_key(|(index, _)| *index);
    done.into_iter().flat_map(|(_, results)| results).collect()
}

/// How many batches [`map_on_every_core`] cuts per core.
const BATCHES_PER_CORE: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    fn collect<R: Send>(
        pool: &Pool,
        jobs: &[u64],
        work: impl Fn(usize, &u64, &dyn Fn(())) -> R + Sync,
        stops: impl Fn(&R) -> bool + Sync,
    ) -> (Vec<bool>, Vec<String>) {
        let mut log = Vec::new();
        let started = pool
            .run(jobs, work, stops, |event| {
                match event {
                    Event::Started(index) => log.push(format!("start {index}")),
                    Event::Finished(index, _) => log.push(format!("end {index}")),
                    Event::Progress(..) | Event::Tick => {}
                }
                Ok::<(), ()>(())
            })
            .unwrap();
        (started, log)
    }

    #[test]
    fn jobs_run_at_most_width_at_once() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let pool = Pool {
            width: 3,
            after: &[],
            tick: None,
        };
        let (started, _) = collect(
            &pool,
            &[40; 9],
            |_, millis, _| {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                // Until three have met once, wait for the others (however
                // loaded the machine); a pool running one at a time gives up.
                let waiting = Instant::now();
                while most.load(Ordering::SeqCst) < 3 && waiting.elapsed() < Duration::from_secs(10)
                {
                    std::thread::sleep(Duration::from_millis(1));
                }
                std::thread::sleep(Duration::from_millis(*millis));
                running.fetch_sub(1, Ordering::SeqCst);
            },
            |_| false,
        );
        assert!(started.iter().all(|started| *started));
        // Three at once at some moment (so not one after another), never four.
        assert_eq!(most.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_job_waits_for_those_it_comes_after() {
        // Job 0 comes after the slow jobs 1 and 2; job 3 is free to go.
        let after = [vec![1, 2], vec![], vec![], vec![]];
        let pool = Pool {
            width: 4,
            after: &after,
            tick: None,
        };
        let (_, log) = collect(
            &pool,
            &[0, 30, 60, 0],
            |_, millis, _| std::thread::sleep(Duration::from_millis(*millis)),
            |_| false,
        );
        let at = |entry: &str| log.iter().position(|seen| seen == entry).unwrap();
        assert!(at("start 0") > at("end 1"), "{log:?}");
        assert!(at("start 0") > at("end 2"), "{log:?}");
        assert!(at("start 3") < at("end 2"), "{log:?}");
    }

    #[test]
    fn nothing_starts_after_a_result_that_stops() {
        let pool = Pool {
            width: 2,
            after: &[],
            tick: None,
        };
        // Job 1 fails at once while job 0 still runs; jobs 2.. never start.
        let (started, log) = collect(
            &pool,
            &[50, 0, 0, 0, 0],
            |index, millis, _| {
                std::thread::sleep(Duration::from_millis(*millis));
                index == 1
            },
            |failed| *failed,
        );
        assert_eq!(started, [true, true, false, false, false], "{log:?}");
        assert!(log.contains(&"end 0".to_owned()), "{log:?}");
    }

    #[test]
    fn a_map_on_every_core_keeps_the_order() {
        let items: Vec<u64> = (0..1000).collect();
        let squares = map_on_every_core(items, |n| n * n);
        assert_eq!(squares, (0..1000).map(|n| n * n).collect::<Vec<u64>>());
        assert!(map_on_every_core(Vec::<u8>::new(), |n| n).is_empty());
    }
}
