//! `lugc push --all`: every bundle, `-j N` at a time (`parallel::Pool`),
//! the cluster bundle once the bundles of the members it reaches are done.
//! Each push writes its usual lines into a buffer of its own, printed whole
//! when it ends: in bundle order when stdout is not a terminal that can move
//! its cursor (`TERM` unset or `dumb` cannot), else as each
//! ends, above one live line per bundle. A failure stops the handing out of
//! bundles unless `--keep-going` (a dry run always goes on); a table of every
//! bundle's result ends the output.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::connect::label;
use super::push_check::Check;
use crate::bundle::Bundle;
use crate::diff::{BundleChange, View};
use crate::error::{Error, Outcome};
use crate::harm::{Harm, Listed};
use crate::host::Remote;
use crate::parallel::{Event, Pool};
use crate::push::{self, BundleFailure, Failed, Options, PushError, Summary};
use crate::ui::live::Live;
use crate::ui::{self, plural, short_id, Paint};

/// What `push --all` pushes, and how.
pub struct Fleet<'a> {
    /// The out/ directory.
    pub out: &'a Path,
    /// cluster.ncl's directory, where facts/ lies.
    pub root: &'a Path,
    pub bundles: &'a [&'a Bundle],
    /// Where each of `bundles` lands: the host and how to reach it.
    pub destinations: Vec<(String, Remote)>,
    pub options: &'a Options,
    /// How many pushes run at once.
    pub jobs: usize,
    pub keep_going: bool,
    /// A dry run exits 1 when a bundle is not up to date.
    pub exit_code: bool,
}

struct Job {
    bundle: String,
    host: String,
    remote: Remote,
}

impl Job {
    /// One job per bundle, to the destination at the same index.
    fn all(bundles: &[&Bundle], destinations: Vec<(String, Remote)>) -> Vec<Job> {
        bundles
            .iter()
            .zip(destinations)
            .map(|(bundle, (host, remote))| Job {
                bundle: bundle.name.clone(),
                host,
                remote,
            })
            .collect()
    }
}

/// How one bundle's turn ended.
struct Ended {
    /// The push's lines, as a push to this host alone prints them.
    output: Vec<u8>,
    summary: Summary,
    previews: Vec<BundleChange>,
    harms: Vec<Harm>,
    /// `Err(reason)`: skipped without contacting the host.
    pushed: Result<Result<(), PushError>, String>,
}

impl Ended {
    fn skipped(reason: String) -> Ended {
        Ended {
            output: Vec::new(),
            summary: Summary::default(),
            previews: Vec::new(),
            harms: Vec::new(),
            pushed: Err(reason),
        }
    }

    fn failed(&self) -> bool {
        matches!(self.pushed, Ok(Err(_)))
    }

    fn result(&self, apply: bool) -> String {
        match &self.pushed {
            Err(reason) => format!("skipped: {reason}"),
            Ok(Err(error)) => format!("failed: {}", crate::sanitise::line(&error.to_string())),
            Ok(Ok(())) if self.summary.up_to_date => "up to date".to_owned(),
            Ok(Ok(())) if !apply && self.summary.harms > 0 => match self.summary.harms {
                1 => "dry run: 1 harm".to_owned(),
                count => format!("dry run: {count} harms"),
            },
            Ok(Ok(())) if !apply => "dry run".to_owned(),
            Ok(Ok(())) => "done".to_owned(),
        }
    }
}

pub fn run(fleet: Fleet, view: &View, color: bool, out: &mut dyn Write) -> Result<Outcome, Error> {
    let jobs = Job::all(fleet.bundles, fleet.destinations);
    let after = after(fleet.bundles);
    let options = fleet.options;
    let json = *view == View::Json;
    // With --json, stdout holds the document alone; the rest goes to stderr.
    let mut stderr = std::io::stderr();
    let progress: &mut dyn Write = if json { &mut stderr } else { &mut *out };
    if options.apply {
        let checks = jobs
            .iter()
            .map(|job| Check::new(&job.bundle, &job.host, &job.remote));
        super::push_check::first(
            fleet.out,
            &checks.collect::<Vec<_>>(),
            options,
            fleet.jobs,
            progress,
        )?;
    }
    let terminal = !json && std::io::stdout().is_terminal();
    let mut screen = Screen::new(&jobs, terminal, progress);
    let blocked: Vec<AtomicBool> = jobs.iter().map(|_| AtomicBool::new(false)).collect();
    let pool = Pool {
        width: fleet.jobs,
        after: &after,
        tick: terminal.then_some(Duration::from_millis(250)),
    };
    let keep_going = fleet.keep_going || !options.apply;
    let started = pool.run(
        &jobs,
        |index, job, progress: &dyn Fn(String)| {
            let ended = if let Some(&member) = after[index]
                .iter()
                .find(|&&other| blocked[other].load(Ordering::SeqCst))
            {
                Ended::skipped(format!("{} did not go through", jobs[member].bundle))
            } else {
                push_one(fleet.out, job, options, progress)
            };
            if !matches!(ended.pushed, Ok(Ok(()))) {
                blocked[index].store(true, Ordering::SeqCst);
            }
            ended
        },
        |ended: &Ended| ended.failed() && !keep_going,
        |event| screen.event(event, options.apply),
    )?;
    let mut ended = screen.finish()?;
    skip_unstarted(&jobs, &started, &mut ended);
    let mut ended: Vec<Ended> = ended.into_iter().flatten().collect();
    let (previews, harms) = shown(&jobs, &mut ended);
    let outcome = super::push::pending(fleet.exit_code, &previews);
    super::push::draw_previews(previews, harms, view, color, out)?;
    let progress: &mut dyn Write = if json { &mut stderr } else { &mut *out };
    let labels: Vec<String> = jobs
        .iter()
        .map(|job| label(&job.bundle, &job.host))
        .collect();
    write!(
        progress,
        "\n{}",
        table(&labels, &ended, options.apply, color)
    )?;
    if let Some(advice) = first_push_advice(fleet.root, fleet.bundles, &ended, options.apply) {
        writeln!(progress, "\n{advice}")?;
    }
    progress.flush()?;
    failure(&labels, ended, fleet.keep_going, options.apply)?;
    Ok(outcome)
}

/// Each push that never started ends as skipped, after the first that failed.
fn skip_unstarted(jobs: &[Job], started: &[bool], ended: &mut [Option<Ended>]) {
    let first_failed = (0..jobs.len())
        .find(|&index| ended[index].as_ref().is_some_and(Ended::failed))
        .map(|index| jobs[index].bundle.clone());
    for (index, slot) in ended.iter_mut().enumerate() {
        if !started[index] {
            let reason = match &first_failed {
                Some(bundle) => format!("not started after {bundle} failed"),
                None => "not started".to_owned(),
            };
            *slot = Some(Ended::skipped(reason));
        }
    }
}

/// What the dry runs would change, and their harms, taken from `ended`.
fn shown(jobs: &[Job], ended: &mut [Ended]) -> (Vec<BundleChange>, Vec<Listed>) {
    let mut previews = Vec::new();
    let mut harms = Vec::new();
    for (job, ended) in jobs.iter().zip(ended) {
        previews.append(&mut ended.previews);
        let taken = std::mem::take(&mut ended.harms);
        harms.extend(super::push::listed(&job.bundle, &job.host, taken));
    }
    (previews, harms)
}

/// After a dry run (not `apply`), the advice for the bundles lugc never pushed.
fn first_push_advice(
    root: &Path,
    bundles: &[&Bundle],
    ended: &[Ended],
    apply: bool,
) -> Option<String> {
    if apply {
        return None;
    }
    let never_pushed: Vec<(&str, &[String])> = bundles
        .iter()
        .zip(ended)
        .filter(|(_, ended)| ended.summary.never_pushed())
        .map(|(bundle, _)| (bundle.name.as_str(), bundle.manifest.reaches.as_slice()))
        .collect();
    super::push::first_push_advice(root, &never_pushed)
}

/// A bundle that reaches other hosts (the cluster's) comes after their own bundles.
fn after(bundles: &[&Bundle]) -> Vec<Vec<usize>> {
    bundles
        .iter()
        .enumerate()
        .map(|(index, bundle)| {
            (0..bundles.len())
                .filter(|&other| {
                    other != index && bundle.manifest.reaches.contains(&bundles[other].name)
                })
                .collect()
        })
        .collect()
}

/// Push one bundle, its lines kept and each line passed on to `progress`.
fn push_one(out: &Path, job: &Job, options: &Options, progress: &dyn Fn(String)) -> Ended {
    let mut lines = Lines {
        kept: Vec::new(),
        line_start: 0,
        progress,
    };
    let pushed = push::from_out(
        out,
        &job.remote,
        &job.host,
        &job.bundle,
        options,
        &mut lines,
    );
    Ended {
        output: lines.kept,
        summary: pushed.summary,
        previews: pushed.preview.into_iter().collect(),
        harms: pushed.harms,
        pushed: Ok(pushed.result),
    }
}

/// Keeps what a push writes and passes each line it completes to `progress`.
struct Lines<'a> {
    kept: Vec<u8>,
    line_start: usize,
    progress: &'a dyn Fn(String),
}

impl Write for Lines<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.kept.extend_from_slice(bytes);
        while let Some(end) = self.kept[self.line_start..]
            .iter()
            .position(|byte| *byte == b'\n')
        {
            let line = &self.kept[self.line_start..self.line_start + end];
            (self.progress)(String::from_utf8_lossy(line).trim().to_owned());
            self.line_start += end + 1;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Where a bundle is, for its live line.
enum State {
    Waiting,
    Running { since: Instant, line: String },
    Over(String),
}

/// The output while pushes run: each push's lines once it ends, and on a
/// terminal one live line per bundle below them.
struct Screen<'o> {
    out: &'o mut dyn Write,
    live: Option<Live>,
    names: Vec<String>,
    states: Vec<State>,
    ended: Vec<Option<Ended>>,
    /// Without a terminal: the bundles whose lines are printed, in order.
    printed: usize,
}

impl<'o> Screen<'o> {
    fn new(jobs: &[Job], terminal: bool, out: &'o mut dyn Write) -> Screen<'o> {
        Screen {
            out,
            live: terminal.then(Live::stdout).flatten(),
            names: jobs
                .iter()
                .map(|job| label(&job.bundle, &job.host))
                .collect(),
            states: jobs.iter().map(|_| State::Waiting).collect(),
            ended: jobs.iter().map(|_| None).collect(),
            printed: 0,
        }
    }

    fn event(&mut self, event: Event<String, Ended>, apply: bool) -> std::io::Result<()> {
        match event {
            Event::Started(index) => {
                self.states[index] = State::Running {
                    since: Instant::now(),
                    line: "connecting".to_owned(),
                };
            }
            // Shown at the next tick: a chatty action does not redraw for each line.
            Event::Progress(index, text) => {
                if let State::Running { line, .. } = &mut self.states[index] {
                    if !text.is_empty() {
                        *line = text;
                    }
                }
                return Ok(());
            }
            Event::Finished(index, ended) => {
                self.states[index] = State::Over(ended.result(apply));
                let block = self.block(index, &ended);
                self.ended[index] = Some(ended);
                if self.live.is_none() {
                    return self.print_in_order();
                }
                return self.redraw(&block);
            }
            Event::Tick => {}
        }
        self.redraw(&[])
    }

    /// On a terminal, print `above` and draw the live lines again.
    fn redraw(&mut self, above: &[u8]) -> std::io::Result<()> {
        if self.live.is_none() {
            return Ok(());
        }
        let lines = self.lines();
        match &mut self.live {
            Some(live) => live.above(self.out, above, &lines),
            None => Ok(()),
        }
    }

    /// `[3/9] pve-6`, then the push's lines.
    fn block(&self, index: usize, ended: &Ended) -> Vec<u8> {
        let mut block = format!(
            "[{}/{}] {}\n",
            index + 1,
            self.names.len(),
            self.names[index]
        )
        .into_bytes();
        block.extend_from_slice(&ended.output);
        match &ended.pushed {
            Err(reason) => block.extend_from_slice(format!("  skipped: {reason}\n").as_bytes()),
            Ok(Err(error)) => block.extend_from_slice(
                format!("  failed: {}\n", crate::sanitise::line(&error.to_string())).as_bytes(),
            ),
            Ok(Ok(())) => {}
        }
        block
    }

    /// Without a terminal, print each push's lines once those before it are printed.
    fn print_in_order(&mut self) -> std::io::Result<()> {
        while let Some(Some(ended)) = self.ended.get(self.printed) {
            let block = self.block(self.printed, ended);
            self.out.write_all(&block)?;
            self.printed += 1;
        }
        self.out.flush()
    }

    /// One line per bundle, or, when they do not fit, per running bundle and a count.
    fn lines(&self) -> Vec<String> {
        let width = self.names.iter().map(String::len).max().unwrap_or(0);
        let line = |index: usize| {
            let state = match &self.states[index] {
                State::Waiting => "waiting".to_owned(),
                State::Running { since, line } => {
                    format!("{:>4}s  {line}", since.elapsed().as_secs())
                }
                State::Over(result) => result.clone(),
            };
            format!("{:width$}  {state}", self.names[index])
        };
        if self.names.len() < Live::room() {
            return (0..self.names.len()).map(line).collect();
        }
        let running = |index: &usize| matches!(self.states[*index], State::Running { .. });
        let mut lines: Vec<String> = (0..self.names.len()).filter(running).map(line).collect();
        let over = self
            .states
            .iter()
            .filter(|state| matches!(state, State::Over(_)))
            .count();
        lines.push(format!(
            "{over} of {} finished, {} running",
            self.names.len(),
            lines.len()
        ));
        lines
    }

    /// Print what is left to print; what each bundle's turn came to (none: not started).
    fn finish(mut self) -> std::io::Result<Vec<Option<Ended>>> {
        match &mut self.live {
            Some(live) => live.draw(&[]),
            None => {
                for index in self.printed..self.ended.len() {
                    if let Some(ended) = &self.ended[index] {
                        let block = self.block(index, ended);
                        self.out.write_all(&block)?;
                    }
                }
                self.out.flush()?;
            }
        }
        Ok(self.ended)
    }
}

/// The result in colour: green when done, red when failed, yellow when skipped.
fn paint(result: &str, color: bool) -> String {
    let paint = Paint(color);
    match result.split(':').next() {
        Some("failed") => paint.red(result),
        Some("skipped") => paint.yellow(result),
        _ => paint.green(result),
    }
}

/// The summary: one row per bundle, then the count of each result.
fn table(labels: &[String], ended: &[Ended], apply: bool, color: bool) -> String {
    let rows: Vec<[String; 5]> = ended
        .iter()
        .map(|ended| {
            let summary = &ended.summary;
            let (ids, figures) = match &summary.ids {
                Some((old, new)) => (
                    format!("{} -> {}", short_id(old.as_deref()), short_id(Some(new))),
                    [summary.written, summary.removed, summary.actions].map(|n| n.to_string()),
                ),
                None => ("-".to_owned(), ["-", "-", "-"].map(str::to_owned)),
            };
            let [written, removed, actions] = figures;
            [ids, written, removed, actions, ended.result(apply)]
        })
        .collect();
    let head = [
        "BUNDLE",
        "OLD -> NEW",
        "WRITTEN",
        "REMOVED",
        "ACTIONS",
        "RESULT",
    ];
    let mut lines = vec![head.map(str::to_owned)];
    let mut counts: Vec<(String, usize)> = Vec::new();
    for (name, row) in labels.iter().zip(&rows) {
        let [ids, written, removed, actions, result] = row;
        lines.push([
            name.clone(),
            ids.clone(),
            format!("{written:>7}"),
            format!("{removed:>7}"),
            format!("{actions:>7}"),
            paint(result, color),
        ]);
        let kind = result.split(':').next().unwrap_or_default().to_owned();
        match counts.iter_mut().find(|(seen, _)| *seen == kind) {
            Some((_, count)) => *count += 1,
            None => counts.push((kind, 1)),
        }
    }
    let mut text = ui::table(&lines);
    let parts: Vec<String> = counts
        .iter()
        .map(|(kind, count)| format!("{count} {kind}"))
        .collect();
    text.push_str(&format!(
        "{}: {}\n",
        plural(rows.len(), "bundle"),
        parts.join(", ")
    ));
    text
}

/// Nothing when every push went through, else the error of each that failed.
fn failure(
    labels: &[String],
    ended: Vec<Ended>,
    keep_going: bool,
    apply: bool,
) -> Result<(), Error> {
    let skipped = ended.iter().filter(|ended| ended.pushed.is_err()).count();
    let errors: Vec<BundleFailure> = labels
        .iter()
        .zip(ended)
        .filter_map(|(label, ended)| match ended.pushed {
            Ok(Err(error)) => Some(BundleFailure {
                label: label.clone(),
                error: error.into(),
            }),
            _ => None,
        })
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = errors
        .iter()
        .map(|failure| failure.label.as_str())
        .collect();
    let mut help = if apply {
        "fix the cause and push again; bundles already in place are left alone"
    } else {
        "a dry run changed nothing; fix the cause, then look again"
    }
    .to_owned();
    if skipped > 0 {
        help.push_str(&format!(
            "; {skipped} skipped{}",
            if keep_going {
                ""
            } else {
                " (--keep-going pushes the other hosts past a failed one)"
            }
        ));
    }
    Err(Failed {
        names: names.join(", "),
        help,
        errors,
    }
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn ended(pushed: Result<Result<(), PushError>, String>, summary: Summary) -> Ended {
        Ended {
            output: Vec::new(),
            summary,
            previews: Vec::new(),
            harms: Vec::new(),
            pushed,
        }
    }

    #[test]
    fn each_line_a_push_completes_is_passed_on_and_all_is_kept() {
        let seen = RefCell::new(Vec::new());
        let progress = |line: String| seen.borrow_mut().push(line);
        let mut lines = Lines {
            kept: Vec::new(),
            line_start: 0,
            progress: &progress,
        };
        lines.write_all(b"pve-5 (root@pve-5): bundle").unwrap();
        lines.write_all(b" none -> 0123\n  running: ifre").unwrap();
        lines.write_all(b"load -a\n    | ok\n").unwrap();
        assert_eq!(
            *seen.borrow(),
            [
                "pve-5 (root@pve-5): bundle none -> 0123",
                "running: ifreload -a",
                "| ok"
            ]
        );
        assert!(lines.kept.ends_with(b"    | ok\n"));
    }

    #[test]
    fn the_table_has_a_row_per_bundle_and_counts_the_results() {
        let done = Summary {
            ids: Some((None, "a".repeat(64))),
            written: 14,
            removed: 0,
            actions: 5,
            harms: 0,
            up_to_date: false,
        };
        let same = Summary {
            ids: Some((Some("b".repeat(64)), "b".repeat(64))),
            up_to_date: true,
            ..Summary::default()
        };
        let failed = PushError::Drift {
            host: "pve-6".into(),
            paths: vec!["/etc/hosts".into()],
        };
        let rows = [
            ended(Ok(Ok(())), done),
            ended(Ok(Ok(())), same),
            ended(Ok(Err(failed)), Summary::default()),
            Ended::skipped("not started after pve-6 failed".into()),
        ];
        let labels = ["pve-5", "esxi-5", "pve-6", "cluster (esxi-5)"].map(str::to_owned);
        let text = table(&labels, &rows, true, false);
        let expected = format!(
            "BUNDLE            OLD -> NEW                    WRITTEN  REMOVED  ACTIONS  RESULT
pve-5             none -> {a}               14        0        5  done
esxi-5            {b} -> {b}        0        0        0  up to date
pve-6             -                                   -        -        -  failed: drift on pve-6: 1 file changed on the host since the last push: /etc/hosts
cluster (esxi-5)  -                                   -        -        -  skipped: not started after pve-6 failed
4 bundles: 1 done, 1 up to date, 1 failed, 1 skipped
",
            a = "a".repeat(12),
            b = "b".repeat(12)
        );
        assert_eq!(text, expected);
    }
}
