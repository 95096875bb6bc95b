//! Snapshots of lugc's output, checked whole with insta: a change of wording
//! or layout shows in review as a changed `.snap` file. What differs from run
//! to run (temporary directories, ports, times, durations, pids, bundle ids)
//! is replaced by a stand-in in brackets before the comparison, here and
//! nowhere else.
//!
//! `assert_output!(text)` names the snapshot after the test;
//! `assert_output!("name", text)` adds `@name` for a test that checks more
//! than one output. Write new snapshots with `INSTA_UPDATE=always`, read
//! each `.snap` file, and commit it; under CI (`CI=true`) a missing or
//! different snapshot fails.

use std::path::Path;

/// What varies between runs, as (pattern, stand-in), applied in order.
const VOLATILE: &[(&str, &str)] = &[
    // Bundle ids and hashes: full (64) or cut short (12) hex digits.
    (r"\b[0-9a-f]{64}\b", "[hash]"),
    (r"\b[0-9a-f]{12}\b", "[id]"),
    // Times and dates, as lugc and the host print them.
    (
        r"\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?",
        "[time]",
    ),
    // Measured durations (`1.2s`, `350 ms`); whole seconds lugc prints are
    // limits it was given (`after 2 s`), the same on every run.
    (r"\b\d+\.\d+ ?s\b", "[duration]"),
    (r"\b\d+(\.\d+)? ?(ms|µs)\b", "[duration]"),
    // What is left of a host's deadline: `(in 593 s by pve-5's clock)`.
    (r"\(in -?\d+ s by ", "(in [seconds] s by "),
    // Ports of loopback.
    (r"(127\.0\.0\.1|\[::1\]|localhost):\d+", "$1:[port]"),
    (r"(\bport|\s-p) \d+\b", "$1 [port]"),
    // The random part of a push id, its backup directory's name
    // (`pve-5-ID.XXXXXXXX`, mktemp's).
    (r"(\[id\]|-none)\.[A-Za-z0-9]{8}\b", "$1.[random]"),
    // Who holds a host's push lock: `lugc push by USER@MACHINE (pid N)`.
    (r"\b(by )[^@\s]+@\S+ \(pid", "$1[user]@[machine] (pid"),
    // Process ids.
    (r"\b(pid|process) \d+\b", "$1 [pid]"),
];

/// insta's settings with every volatile part of lugc's output redacted.
pub fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(true);
    // Where the tests keep their tools (an old rsync) and the sources.
    for (dir, stand_in) in [
        (env!("CARGO_TARGET_TMPDIR").to_owned(), "[target-tmp]"),
        (super::repo_root().display().to_string(), "[repo]"),
    ] {
        settings.add_filter(&regex::escape(&dir), stand_in);
    }
    for tmp in temp_dirs() {
        // Fixtures, sshd directories and other temp dirs, canonical or not.
        settings.add_filter(
            &format!(
                r"{}/(lugc-test-|lugc-sshd-|\.tmp)?[A-Za-z0-9_]+",
                regex::escape(&tmp)
            ),
            "[tmp]",
        );
    }
    for (pattern, stand_in) in VOLATILE {
        settings.add_filter(pattern, *stand_in);
    }
    settings
}

/// The temporary directory as the environment names it and as it resolves.
fn temp_dirs() -> Vec<String> {
    let named = std::env::temp_dir();
    let resolved = std::fs::canonicalize(&named).unwrap_or_else(|_| named.clone());
    let mut dirs: Vec<String> = [named, resolved]
        .iter()
        .map(|dir| trimmed(dir).to_owned())
        .collect();
    dirs.dedup();
    // The longer first, so that a path is never cut at its shorter alias.
    dirs.sort_by_key(|dir| std::cmp::Reverse(dir.len()));
    dirs
}

fn trimmed(dir: &Path) -> &str {
    dir.to_str()
        .expect("a UTF-8 temporary directory")
        .trim_end_matches('/')
}

/// Check `text` against the test's snapshot (or the snapshot `@name`) with
/// the volatile parts of lugc's output redacted.
macro_rules! assert_output {
    ($text:expr) => {
        $crate::common::snapshot::settings().bind(|| insta::assert_snapshot!($text))
    };
    ($name:expr, $text:expr) => {{
        let mut settings = $crate::common::snapshot::settings();
        settings.set_snapshot_suffix($name);
        settings.bind(|| insta::assert_snapshot!($text))
    }};
}

pub(crate) use assert_output;
