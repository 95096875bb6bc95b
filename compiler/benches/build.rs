//! `lugc build` against plain Nickel evaluation of the same source.
//!
//! ```sh
//! cargo bench --bench build                       # the repository's cluster.ncl
//! cargo bench --bench build -- /tmp/f1000/cluster.ncl 5
//! ```
//!
//! Times, in one process and interleaved run by run, the median of RUNS
//! (default 7) of:
//! - `nickel`: nickel-lang-core alone, `eval_full_for_export` of the file on
//!   a 256 MiB stack thread (what `nickel export` does, without printing);
//! - `evaluate`: `lugc::eval::evaluate` (the above plus JSON into `Fleet`);
//! - `compile`: `lugc::compile` (evaluate, validate, render, bundle);
//! - `build`: `lugc::compile` + `lugc::write::write` into a fresh out/,
//!   i.e. `lugc build` without the cache;
//!
//! and prints lugc's overhead over plain Nickel: (build − nickel) / nickel.
//! `-- --nickel FILE RUNS` times only the first (bench/profile.sh times each
//! stage of lib/lugc.ncl's build that way).
//! Run by `cargo test` (without `--bench`), it checks itself with one run.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nickel_lang_core::eval::cache::CacheImpl;
use nickel_lang_core::program::{Program, ProgramBuilder};

fn plain_nickel(file: &Path) -> Duration {
    let file = file.to_path_buf();
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || {
            let start = Instant::now();
            let mut program: Program<CacheImpl> = ProgramBuilder::new()
                .add_path(&file)
                .build()
                .expect("read the fleet");
            let value = program.eval_full_for_export().expect("evaluate the fleet");
            let elapsed = start.elapsed();
            drop(value);
            elapsed
        })
        .expect("spawn")
        .join()
        .expect("join")
}

fn timed<T>(run: impl FnOnce() -> T) -> (Duration, T) {
    let start = Instant::now();
    let value = run();
    (start.elapsed(), value)
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let bench = std::env::args().any(|arg| arg == "--bench");
    let mut args = std::env::args().skip(1).filter(|arg| arg != "--bench");
    let mut args = args.by_ref().peekable();
    if args.next_if(|arg| arg == "--nickel").is_some() {
        let file = PathBuf::from(args.next().expect("--nickel FILE RUNS"));
        let runs: usize = args.next().map_or(1, |runs| runs.parse().expect("RUNS"));
        let mut times: Vec<Duration> = (0..runs).map(|_| plain_nickel(&file)).collect();
        println!(
            "nickel    {:>10.1} ms",
            median(&mut times).as_secs_f64() * 1e3
        );
        return;
    }
    let file = args.next().map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../cluster.ncl"),
        PathBuf::from,
    );
    let runs: usize = match args.next() {
        Some(runs) => runs.parse().expect("RUNS is a number"),
        None if bench => 7,
        // `cargo test`: once, to see that every step still runs.
        None => 1,
    };
    let config = lugc::config::Config {
        file: file.clone(),
        out: PathBuf::new(),
        detail: lugc::eval::Detail::Brief,
        facts: lugc::eval::FactsUse::Checked,
    };
    let mut nickel = Vec::new();
    let mut evaluate = Vec::new();
    let mut compile = Vec::new();
    let mut build = Vec::new();
    for _ in 0..runs {
        nickel.push(plain_nickel(&file));
        evaluate.push(
            timed(|| lugc::eval::evaluate(&file, lugc::eval::Detail::Brief).expect("evaluate")).0,
        );
        compile.push(timed(|| lugc::compile(&config).expect("compile")).0);
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        build.push(
            timed(|| {
                let compilation = lugc::compile(&config).expect("compile");
                lugc::write::write(&out, &compilation.bundles).expect("write");
            })
            .0,
        );
    }
    let nickel = median(&mut nickel);
    let build = median(&mut build);
    println!("{} ({runs} runs, median)", file.display());
    println!("nickel    {:>10.1} ms", nickel.as_secs_f64() * 1e3);
    println!(
        "evaluate  {:>10.1} ms",
        median(&mut evaluate).as_secs_f64() * 1e3
    );
    println!(
        "compile   {:>10.1} ms",
        median(&mut compile).as_secs_f64() * 1e3
    );
    println!("build     {:>10.1} ms", build.as_secs_f64() * 1e3);
    println!(
        "overhead  {:>10.1} %  (build - nickel) / nickel",
        (build.as_secs_f64() / nickel.as_secs_f64() - 1.0) * 100.0
    );
}
