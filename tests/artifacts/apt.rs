//! APT sources: each file, alone in a scratch sources.list.d, read by
//! `apt-get --print-uris update`, which parses every source line (one-line
//! `.list` and deb822 `.sources`) and prints what it would fetch, without
//! fetching, locking or writing outside the scratch directories. apt skips a
//! file whose name it does not like without a word, so names are checked
//! here: letters, digits, `_`, `-`, `.`, ending in `.list` or `.sources`.

use std::fs;
use std::path::Path;

use super::{assert_rejects, check_all, of_kind, on_file, run_isolated, scratch, Artifact, Kind};

fn name_ok(name: &str) -> bool {
    (name.ends_with(".list") || name.ends_with(".sources"))
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
}

pub(super) fn check(file: &Path, name: &str) -> Result<(), String> {
    if !name_ok(name) {
        return Err(format!(
            "apt ignores `{name}`: a name is letters, digits, `_-.`, ending in .list or .sources"
        ));
    }
    let dir = scratch();
    for sub in ["parts", "lists/partial", "cache/archives/partial"] {
        fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
    }
    fs::copy(file, dir.path().join("parts").join(name)).expect("copy");
    let option = |key: &str, sub: &str| format!("{key}={}", dir.path().join(sub).display());
    let args = [
        "-o".to_owned(),
        "Dir::Etc::SourceList=/dev/null".to_owned(),
        "-o".to_owned(),
        option("Dir::Etc::SourceParts", "parts"),
        "-o".to_owned(),
        option("Dir::State::Lists", "lists"),
        "-o".to_owned(),
        option("Dir::Cache", "cache"),
        "-o".to_owned(),
        "Debug::NoLocking=1".to_owned(),
        "--print-uris".to_owned(),
        "update".to_owned(),
    ];
    let outcome = run_isolated(&[], "apt-get", &args);
    if !outcome.stderr.trim().is_empty() {
        return Err(outcome.to_string());
    }
    outcome.ok()
}

#[test]
fn every_apt_source_parses_with_apt() {
    check_all(&of_kind(Kind::AptSources), |artifact: &Artifact| {
        check(&artifact.file, artifact.name())
    });
}

pub(super) const GOOD: &str =
    "# comment\ndeb [signed-by=/k.gpg] https://mirrors.ustc.edu.cn/debian bookworm main\n";

#[test]
fn apt_rejects_malformed_sources_and_names_it_would_skip() {
    let dir = scratch();
    assert_rejects(
        GOOD,
        &[
            (" bookworm main", "", "Malformed entry 2"),
            ("deb ", "debb ", "Type 'debb' is not known"),
            ("/k.gpg]", "/k.gpg", "Malformed entry 2"),
        ],
        on_file(dir.path(), "sample", |file| check(file, "debian.list")),
    );
    assert_rejects(
        "Types: deb\nURIs: https://mirrors.ustc.edu.cn/debian\nSuites: bookworm\nComponents: main\n",
        &[("URIs:", "URI:", "Malformed entry 1"), ("Suites: bookworm\n", "", "Malformed entry 1")],
        on_file(dir.path(), "sample", |file| check(file, "debian.sources")),
    );
    let list = super::write(
        dir.path(),
        "sample",
        "deb https://mirrors.ustc.edu.cn/debian bookworm main\n",
    );
    for name in ["debian.lst", "debian list.list", "debian"] {
        assert!(check(&list, name).is_err(), "accepted the name {name:?}");
    }
}
