//! The bad-input corpus: every fleet under tests/bad/ must fail the build
//! with exit status 2, no panic, the expected words and `file:line:col`, and
//! leave a pre-built out/ byte for byte as it was.
//!
//! A case is `tests/bad/<name>.ncl`, run as `cluster.ncl` beside a copy of
//! the repository's lib/ and out/. Its expectation is in comment lines of the
//! case, or in `<name>.expect` beside it when the case cannot hold comments:
//!
//! ```text
//! # expect: words that the error message must contain
//! # at: cluster.ncl:LINE:COL
//! ```
//!
//! A case may come with the hosts' facts: `<name>.facts/<host>.json`
//! beside it is copied as the fleet's `facts/`.
//!
//! `expect` may repeat; `at` is the location miette prints for an error, and
//! repeats for a case with several errors, in the order they are printed.
//! `<name>.snap` beside a case is what the build prints, in full, as an
//! insta snapshot: a change of wording or location fails until it is
//! reviewed and taken in (`cargo insta review`, or
//! `INSTA_UPDATE=always cargo test --test integration corpus`).
//! No error may take more than a screenful (24 lines). A few cases are
//! generated here instead (an enormous file, deep nesting).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::common::{copy_tree, lugc_in, repo_root, stderr, stdout, tree};

/// One bad fleet and what its build must print.
struct Case {
    name: String,
    source: Vec<u8>,
    expect: Vec<String>,
    at: Vec<String>,
    /// Whether its whole stderr is checked against `tests/bad/<name>.snap`.
    snapshot: bool,
    /// `<name>.facts/`, copied as the fleet's facts/, if the case has one.
    facts: Option<PathBuf>,
}

fn corpus_dir() -> PathBuf {
    repo_root().join("tests/bad")
}

/// `expect:`/`at:` lines, with or without a leading `# `.
fn parse_expectation(text: &str) -> (Vec<String>, Vec<String>) {
    let mut expect = Vec::new();
    let mut at = Vec::new();
    for line in text.lines() {
        let line = line.trim_start().trim_start_matches('#').trim();
        if let Some(words) = line.strip_prefix("expect:") {
            expect.push(words.trim().to_owned());
        } else if let Some(location) = line.strip_prefix("at:") {
            at.push(location.trim().to_owned());
        }
    }
    (expect, at)
}

/// Every committed case, sorted by name.
fn committed_cases() -> Vec<Case> {
    let mut paths: Vec<PathBuf> = fs::read_dir(corpus_dir())
        .expect("tests/bad/")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "ncl"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let source = fs::read(&path).unwrap();
            let sibling = path.with_extension("expect");
            let text = if sibling.exists() {
                fs::read_to_string(&sibling).unwrap()
            } else {
                String::from_utf8_lossy(&source).into_owned()
            };
            let (expect, at) = parse_expectation(&text);
            Case {
                name: path.file_name().unwrap().to_string_lossy().into_owned(),
                source,
                expect,
                at,
                snapshot: true,
                facts: Some(path.with_extension("facts")).filter(|dir| dir.is_dir()),
            }
        })
        .collect()
}

/// Cases too large or too regular to commit.
fn generated_cases() -> Vec<Case> {
    // About 2 MB of flat fields (the real fleet is a few hundred lines),
    // broken on its last line: parsed to the end and located there.
    let fields = 40_000;
    let mut enormous = String::from("let lugc = import \"lib/lugc.ncl\" in\n{\n");
    for index in 0..fields {
        enormous.push_str(&format!(
            "  field_{index} = \"an enormous file of flat fields, line {index}\",\n"
        ));
    }
    enormous.push_str("  broken = 1 + \"x\",\n}\n");
    let broken_line = fields + 3;

    // Literal nesting past lugc's limit: refused where the limit is crossed,
    // instead of overflowing the evaluation stack.
    let depth = 20_000;
    let nested = format!(
        "{{\n  hosts = {{}},\n  cluster = {{ files = {{}} }},\n  nested = {}1{},\n}}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    vec![
        Case {
            name: "generated: enormous file".into(),
            source: enormous.into_bytes(),
            expect: vec!["this expression has type String, but Number was expected".into()],
            at: vec![format!("cluster.ncl:{broken_line}:16")],
            snapshot: false,
            facts: None,
        },
        Case {
            name: "generated: literal nesting 20000 deep".into(),
            source: nested.into_bytes(),
            expect: vec!["cluster.ncl nests deeper than 1000 levels".into()],
            at: vec!["cluster.ncl:4:1011".into()],
            snapshot: false,
            facts: None,
        },
    ]
}

/// Run one case in a fresh directory: every way it misbehaves, as text, and
/// what it printed on stderr.
fn run_case(case: &Case, lib: &Path, out: &Path) -> (Vec<String>, String) {
    let dir = tempfile::Builder::new()
        .prefix("lugc-bad-")
        .tempdir()
        .unwrap();
    copy_tree(lib, &dir.path().join("lib"));
    copy_tree(out, &dir.path().join("out"));
    fs::write(dir.path().join("cluster.ncl"), &case.source).unwrap();
    copy_tree(&repo_root().join("facts"), &dir.path().join("facts"));
    if let Some(facts) = &case.facts {
        copy_tree(facts, &dir.path().join("facts"));
        lugc::facts::write_index(dir.path()).unwrap();
    }
    let before = tree(&dir.path().join("out"));
    let output = lugc_in(dir.path()).arg("build").output().unwrap();
    let text = stderr(&output);
    let mut problems = Vec::new();
    if output.status.code() != Some(2) {
        problems.push(format!("exit status {} instead of 2", output.status));
    }
    for marker in ["panicked", "lugc bug", "RUST_BACKTRACE", "stack overflow"] {
        if text.contains(marker) {
            problems.push(format!("stderr shows `{marker}`"));
        }
    }
    for words in &case.expect {
        if !text.contains(words.as_str()) {
            problems.push(format!("stderr lacks `{words}`"));
        }
    }
    let mut from = 0;
    for at in &case.at {
        match text[from..].find(&format!("[{at}]")) {
            Some(index) => from += index,
            None if text.contains(&format!("[{at}]")) => {
                problems.push(format!("the location [{at}] is out of order"));
            }
            None => problems.push(format!("stderr lacks the location [{at}]")),
        }
    }
    if let Some(lines) = longest_message(&text).filter(|&lines| lines > SCREENFUL) {
        problems.push(format!(
            "a message takes {lines} lines, more than a screenful"
        ));
    }
    if tree(&dir.path().join("out")) != before {
        problems.push("out/ changed".to_owned());
    }
    if fs::read_dir(dir.path()).unwrap().any(|entry| {
        entry
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".lugc-tmp-")
    }) {
        problems.push("a .lugc-tmp-* directory was left behind".to_owned());
    }
    if !problems.is_empty() {
        problems.push(format!(
            "stdout:\n{}\nstderr:\n{}",
            stdout(&output),
            text.chars().take(4000).collect::<String>()
        ));
    }
    (problems, text)
}

/// Lines one error may take on a terminal.
const SCREENFUL: usize = 24;

/// Lines of the longest error in lugc's stderr (each starts at `  x `).
fn longest_message(text: &str) -> Option<usize> {
    let mut lengths = vec![0usize];
    for line in text.lines() {
        if line.starts_with("  x ") {
            lengths.push(0);
        }
        *lengths.last_mut().expect("a length") += 1;
    }
    lengths.into_iter().max()
}

/// The cases whose stderr differs from their snapshot, `tests/bad/<name>.snap`.
/// Each difference is printed as insta prints it, and all are checked before
/// the test fails, so that one run shows, and with `INSTA_UPDATE` takes in,
/// every change of wording at once.
fn snapshots_differing(printed: &[(&Case, String)]) -> Vec<String> {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../bad");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let mut differing = Vec::new();
    for (case, text) in printed {
        let name = case.name.trim_end_matches(".ncl");
        settings.set_input_file(corpus_dir().join(&case.name));
        let same = settings.bind(|| {
            // insta fails by panicking; caught here to go on with the next case.
            std::panic::catch_unwind(|| insta::assert_snapshot!(name, text)).is_ok()
        });
        if !same {
            differing.push(format!(
                "== {}\nstderr differs from tests/bad/{name}.snap (the difference is above)",
                case.name
            ));
        }
    }
    differing
}

#[test]
fn every_bad_fleet_fails_cleanly_with_a_located_message() {
    let cases: Vec<Case> = committed_cases()
        .into_iter()
        .chain(generated_cases())
        .collect();
    let lib = repo_root().join("lib");
    let out = repo_root().join("out");
    let next = Mutex::new(cases.iter());
    let failures = Mutex::new(Vec::new());
    let printed = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let Some(case) = next.lock().unwrap().next() else {
                    break;
                };
                let (problems, text) = run_case(case, &lib, &out);
                if case.snapshot {
                    printed.lock().unwrap().push((case, text));
                }
                if !problems.is_empty() {
                    failures.lock().unwrap().push(format!(
                        "== {}\n{}",
                        case.name,
                        problems.join("\n")
                    ));
                }
            });
        }
    });
    let mut printed = printed.into_inner().unwrap();
    printed.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    let mut failures = failures.into_inner().unwrap();
    failures.extend(snapshots_differing(&printed));
    assert!(
        failures.is_empty(),
        "{} of {} bad fleets misbehaved:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
    assert!(cases.len() >= 40, "the corpus has {} cases", cases.len());
}

#[test]
fn every_bad_fleet_states_what_it_expects() {
    let cases = committed_cases();
    let missing: Vec<&str> = cases
        .iter()
        .filter(|case| case.expect.is_empty() || case.at.is_empty())
        .map(|case| case.name.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "cases without `# expect:` and `# at:` lines (or a .expect file): {missing:?}"
    );
    for entry in fs::read_dir(corpus_dir()).unwrap() {
        let path = entry.unwrap().path();
        // A snapshot insta wrote for review, not yet taken in.
        if path.to_string_lossy().ends_with(".snap.new") {
            continue;
        }
        let known = matches!(
            path.extension().and_then(|ext| ext.to_str()),
            Some("ncl" | "expect" | "snap" | "md" | "facts")
        );
        assert!(known, "unexpected file in tests/bad/: {}", path.display());
        if path
            .extension()
            .is_some_and(|ext| ext == "expect" || ext == "snap" || ext == "facts")
        {
            assert!(
                path.with_extension("ncl").exists(),
                "{} has no case beside it",
                path.display()
            );
        }
    }
}

#[test]
fn a_message_is_measured_in_lines() {
    let text = "  x one\n  a\n\n  x two\n  b\n  c\n\nfound 2 errors\n";
    assert_eq!(longest_message(text), Some(5));
}

#[test]
fn a_case_without_expectation_is_detected() {
    assert_eq!(parse_expectation("let x = 1 in x\n"), (vec![], vec![]));
    let (expect, at) = parse_expectation(
        "# expect: a b\n# expect: c\n# at: cluster.ncl:2:3\n# at: cluster.ncl:4:1\n",
    );
    assert_eq!(expect, ["a b", "c"]);
    assert_eq!(at, ["cluster.ncl:2:3", "cluster.ncl:4:1"]);
}
