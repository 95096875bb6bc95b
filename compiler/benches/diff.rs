//! Benchmark: `lugc diff` of one fleet-wide change against `git diff` of the
//! same two revisions' out/. Run with `bench/diff.sh [HOSTS…]` (default 1000
//! and 5000), or `cargo bench -p lugc --bench diff -- HOSTS… [--runs N]`.
//!
//! For each fleet size: `bench/gen-fleet.py` writes the fleet, `lugc build`
//! builds it and git commits it; then the NTP server changes for every host,
//! and out/ is built and committed again, so HEAD~1 → HEAD changes
//! /etc/chrony/chrony.conf on every host and the working tree is HEAD. Times,
//! in interleaved runs (one of each in turn, medians and minimums): the text
//! diff, `--stat`, markdown and two revisions, each beside the `git diff`
//! that does the same kind of work on out/. Prints the markdown's size.
//! Asserts only that lugc found the one grouped change.
//!
//! Run by `cargo test` (without `--bench`), it checks itself once on 10 hosts.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const DEFAULT_HOSTS: [usize; 2] = [1000, 5000];
const DEFAULT_RUNS: usize = 15;
/// The fleet `cargo test` runs the bench on.
const SMOKE_HOSTS: usize = 10;
const OLD_NTP: &str = "ntp_servers = [\"time.ustc.edu.cn\"]";
const NEW_NTP: &str = "ntp_servers = [\"ntp.example.org\"]";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("compiler/ has a parent")
        .to_path_buf()
}

/// Run a command in `dir` with git's configuration out of the way; panics when it cannot start.
fn run(dir: &Path, program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.org")
        .env("GIT_COMMITTER_NAME", "bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.org")
        .output()
        .unwrap_or_else(|error| panic!("{program}: {error}"))
}

fn ok(dir: &Path, program: &str, args: &[&str]) -> Output {
    let output = run(dir, program, args);
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A repository holding a generated fleet of `hosts`, with HEAD~1 → HEAD
/// changing the NTP server of every host.
fn fleet(lugc: &str, hosts: usize) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(&format!("lugc-bench-diff-{hosts}-"))
        .tempdir()
        .expect("tempdir");
    let root = dir.path();
    let generator = repo_root().join("bench/gen-fleet.py");
    let hosts_arg = hosts.to_string();
    let root_arg = root.to_string_lossy();
    ok(
        root,
        "python3",
        &[
            &generator.to_string_lossy(),
            "--hosts",
            &hosts_arg,
            "--out",
            &root_arg,
        ],
    );
    std::fs::write(root.join(".gitignore"), "/.lugc-cache\n/.lugc-cache-*\n").expect(".gitignore");
    ok(root, "git", &["init", "-q", "-b", "main"]);
    let setup = Instant::now();
    ok(root, lugc, &["build"]);
    ok(root, "git", &["add", "-A"]);
    ok(root, "git", &["commit", "-q", "-m", "fleet"]);
    let source = std::fs::read_to_string(root.join("cluster.ncl")).expect("cluster.ncl");
    assert_eq!(
        source.matches(OLD_NTP).count(),
        1,
        "gen-fleet.py's NTP line"
    );
    std::fs::write(root.join("cluster.ncl"), source.replace(OLD_NTP, NEW_NTP)).expect("edit");
    ok(root, lugc, &["build"]);
    ok(
        root,
        "git",
        &["commit", "-q", "-a", "-m", "ntp: ntp.example.org"],
    );
    // Past the index's timestamp, so that no entry is racily clean: git and
    // libgit2 alike then trust the index's stat data instead of rereading.
    std::thread::sleep(Duration::from_millis(1100));
    ok(root, "git", &["status", "--short"]);
    let files = walkdir::WalkDir::new(root.join("out"))
        .into_iter()
        .filter(|entry| {
            entry
                .as_ref()
                .is_ok_and(|entry| entry.file_type().is_file())
        })
        .count();
    println!(
        "{hosts} hosts: {files} files in out/, two builds and commits in {:.1?}",
        setup.elapsed()
    );
    dir
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

/// Time each command of each pair `runs` times, taking turns.
fn interleaved(root: &Path, pairs: &[(&str, Vec<&str>, Vec<&str>)], lugc: &str, runs: usize) {
    let commands: Vec<(String, Vec<&str>)> = pairs
        .iter()
        .flat_map(|(_, ours, git)| {
            [
                (lugc.to_owned(), ours.clone()),
                ("git".to_owned(), git.clone()),
            ]
        })
        .collect();
    let mut times = vec![Vec::new(); commands.len()];
    for _ in 0..runs {
        for (index, (program, args)) in commands.iter().enumerate() {
            let start = Instant::now();
            let output = run(root, program, args);
            times[index].push(start.elapsed());
            assert!(
                output.status.code().is_some_and(|code| code <= 1),
                "{args:?}"
            );
        }
    }
    for (pair, (name, ..)) in pairs.iter().enumerate() {
        let (ours, git) = (&times[2 * pair], &times[2 * pair + 1]);
        println!(
            "  {name:<28} lugc median {:>8.1?} min {:>8.1?} | git median {:>8.1?} min {:>8.1?} | lugc/git {:.2}",
            median(ours),
            ours.iter().min().expect("runs"),
            median(git),
            git.iter().min().expect("runs"),
            median(ours).as_secs_f64() / median(git).as_secs_f64(),
        );
    }
}

fn main() {
    let mut hosts: Vec<usize> = Vec::new();
    let mut runs = DEFAULT_RUNS;
    let mut bench = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            "--bench" => bench = true,
            number => hosts.extend(number.parse::<usize>().ok()),
        }
    }
    if !bench {
        // `cargo test`: the bench checks itself once on a small fleet.
        (hosts, runs) = (vec![SMOKE_HOSTS], 1);
    } else if hosts.is_empty() {
        hosts = DEFAULT_HOSTS.to_vec();
    }
    let lugc = env!("CARGO_BIN_EXE_lugc");
    for count in hosts {
        let dir = fleet(lugc, count);
        let root = dir.path();
        let text = ok_or_differs(root, lugc, &["diff", "HEAD~1"]);
        assert!(
            text.contains(&format!(
                "modified /etc/chrony/chrony.conf, same change on {count} hosts: "
            )),
            "{}",
            &text[..text.len().min(2000)]
        );
        let markdown = ok_or_differs(root, lugc, &["diff", "HEAD~1", "--format", "markdown"]);
        let git_lines = ok(root, "git", &["diff", "HEAD~1", "--", "out/"]).stdout;
        println!(
            "  text: {} lines, {} bytes (git diff: {} lines, {} bytes); markdown: {} bytes",
            text.lines().count(),
            text.len(),
            git_lines.iter().filter(|byte| **byte == b'\n').count(),
            git_lines.len(),
            markdown.len()
        );
        interleaved(
            root,
            &[
                (
                    "diff HEAD~1",
                    vec!["diff", "HEAD~1"],
                    vec!["diff", "HEAD~1", "--", "out/"],
                ),
                (
                    "diff HEAD~1 --stat",
                    vec!["diff", "HEAD~1", "--stat"],
                    vec!["diff", "HEAD~1", "--stat", "--", "out/"],
                ),
                (
                    "diff HEAD~1 --format markdown",
                    vec!["diff", "HEAD~1", "--format", "markdown"],
                    vec!["diff", "HEAD~1", "--", "out/"],
                ),
                (
                    "diff HEAD~1 HEAD",
                    vec!["diff", "HEAD~1", "HEAD"],
                    vec!["diff", "HEAD~1", "HEAD", "--", "out/"],
                ),
            ],
            lugc,
            runs,
        );
    }
}

/// stdout of a `lugc diff` that found a difference (exit 1).
fn ok_or_differs(root: &Path, lugc: &str, args: &[&str]) -> String {
    let output = run(root, lugc, args);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}
