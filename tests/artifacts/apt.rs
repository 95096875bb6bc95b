//! APT sources: each file, alone in a scratch sources.list.d, read by
//! `apt-get --print-uris update`, which parses every source line (one-line
//! `.list` and deb822 `.sources`) and prints what it would fetch, without
//! fetching, locking or writing outside the scratch directories. apt skips a
//! file whose name it does not like without a word, so names are checked
//! here: letters, digits, `_`, `-`, `.`, ending in `.list` or `.sources`.
//!
//! A host's sources together name one Debian release (a mix breaks the
//! upgrade path and pulls packages across releases), and every key a
//! `signed-by` names is shipped in the same bundle or installed by Debian or
//! Proxmox VE (`apt update` fails on a source whose key is missing).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use super::{
    artifacts, assert_rejects, check_all, of_kind, on_file, run_isolated, scratch, Artifact, Kind,
};

/// Keyrings the debian-archive-keyring package and the PVE installer put in
/// place, which a `signed-by` may name without the bundle shipping them.
const SYSTEM_KEYRINGS: &[&str] = &[
    "/usr/share/keyrings/debian-archive-keyring.gpg",
    "/etc/apt/trusted.gpg.d/proxmox-release-bullseye.gpg",
    "/etc/apt/trusted.gpg.d/proxmox-release-bookworm.gpg",
];

/// The suites and `signed-by` keys of one-line sources (`deb [opts] URI SUITE ...`).
fn suites_and_keys(text: &str) -> (Vec<String>, Vec<String>) {
    let mut suites = Vec::new();
    let mut keys = Vec::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("deb ") || l.starts_with("deb-src "))
    {
        let mut rest = line
            .split_once(' ')
            .map_or("", |(_, rest)| rest)
            .trim_start();
        if let Some(options) = rest.strip_prefix('[') {
            let (options, after) = options.split_once(']').unwrap_or((options, ""));
            keys.extend(
                options
                    .split_whitespace()
                    .filter_map(|o| o.strip_prefix("signed-by="))
                    .map(str::to_owned),
            );
            rest = after.trim_start();
        }
        if let Some(suite) = rest.split_whitespace().nth(1) {
            suites.push(suite.to_owned());
        }
    }
    (suites, keys)
}

/// One host's sources, `(path, text)`, against the files its bundle ships.
fn check_host(sources: &[(String, String)], shipped: &BTreeSet<String>) -> Result<(), String> {
    let mut releases: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (path, text) in sources {
        let (suites, keys) = suites_and_keys(text);
        for suite in suites {
            let release = suite
                .split(['-', '/'])
                .next()
                .unwrap_or_default()
                .to_owned();
            releases
                .entry(release)
                .or_default()
                .push(format!("{path}: {suite}"));
        }
        for key in keys {
            if !shipped.contains(&key) && !SYSTEM_KEYRINGS.contains(&key.as_str()) {
                problems.push(format!("{path}: signed-by {key}, which is not shipped"));
            }
        }
    }
    if releases.len() > 1 {
        problems.push(format!("sources mix Debian releases: {releases:?}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[test]
fn every_hosts_sources_are_of_one_release_with_their_keys() {
    let all = artifacts();
    let mut hosts: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
    for artifact in &all {
        if Kind::AptSources.matches(artifact) {
            hosts
                .entry(&artifact.bundle)
                .or_default()
                .push((artifact.target.clone(), artifact.text()));
        }
    }
    assert!(!hosts.is_empty(), "no APT sources in out/");
    let failures: Vec<String> = hosts
        .iter()
        .filter_map(|(bundle, sources)| {
            let shipped = all
                .iter()
                .filter(|a| a.bundle == *bundle)
                .map(|a| a.target.clone())
                .collect();
            check_host(sources, &shipped)
                .err()
                .map(|e| format!("{bundle}: {e}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn mixed_releases_and_missing_keys_are_rejected() {
    let shipped = BTreeSet::from(["/etc/apt/keyrings/hpe.gpg".to_owned()]);
    let good = "deb https://mirrors.ustc.edu.cn/debian bookworm main\n\
                deb https://mirrors.ustc.edu.cn/debian-security bookworm-security main\n\
                deb [arch=amd64 signed-by=/etc/apt/keyrings/hpe.gpg] http://hpe/mcp bookworm/current non-free\n";
    assert_rejects(
        good,
        &[
            (
                "debian-security bookworm-security",
                "debian-security bullseye-security",
                "mix Debian releases",
            ),
            (
                "/etc/apt/keyrings/hpe.gpg]",
                "/etc/apt/keyrings/hpe-mcp.gpg]",
                "hpe-mcp.gpg, which is not shipped",
            ),
        ],
        |text| check_host(&[("sources.list".to_owned(), text.to_owned())], &shipped),
    );
}

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
