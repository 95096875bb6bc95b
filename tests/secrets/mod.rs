//! The secret corpus: every class of secret lugc must never print or
//! commit, several forms each, as files under `corpus/` named
//! `<class>.<form>`; and ordinary configuration under `clean/` (with every
//! file of the committed out/) that must not look secret. Each corpus file
//! writes its secret with the marker `s3cr3t` (in any case); every marker
//! must lie inside a value the secret module found, so that redaction and
//! hiding take all of it.

use std::fs;
use std::path::PathBuf;

use lugc::secret::{self, Class};

use crate::common::repo_root;

const MARKER: &str = "s3cr3t";

/// The corpus: each file's name and text.
pub fn corpus() -> Vec<(String, String)> {
    files("corpus")
}

/// Whether `text` holds a corpus secret.
pub fn shows_a_secret(text: &str) -> bool {
    text.to_ascii_lowercase().contains(MARKER)
}

fn files(dir: &str) -> Vec<(String, String)> {
    let dir = repo_root().join("tests/secrets").join(dir);
    let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read_to_string(&path).unwrap())
        })
        .collect()
}

/// The class a corpus file's name announces.
fn announced(name: &str) -> Class {
    match name.split('.').next().unwrap() {
        "key" => Class::PrivateKey,
        "token" => Class::Token,
        "url" => Class::UrlCredential,
        "netrc" | "password" => Class::Password,
        "hash" => Class::PasswordHash,
        other => panic!("{name}: unknown class `{other}`"),
    }
}

#[test]
fn every_form_of_every_class_is_found_whole() {
    let corpus = corpus();
    let mut problems = Vec::new();
    let mut forms = std::collections::BTreeMap::<Class, usize>::new();
    for (name, text) in &corpus {
        let class = announced(name);
        *forms.entry(class).or_default() += 1;
        let found = secret::find(text);
        if found.first().map(|found| found.class) != Some(class) {
            problems.push(format!("{name}: expected {class:?}, found {found:?}"));
            continue;
        }
        let lower = text.to_ascii_lowercase();
        let markers: Vec<usize> = lower.match_indices(MARKER).map(|(at, _)| at).collect();
        if markers.is_empty() {
            problems.push(format!("{name}: the corpus file has no `{MARKER}`"));
        }
        for at in markers {
            let covered = found
                .iter()
                .any(|found| found.value.start <= at && at + MARKER.len() <= found.value.end);
            if !covered {
                problems.push(format!(
                    "{name}: the secret at byte {at} is outside {found:?}"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for class in [
        Class::PrivateKey,
        Class::Token,
        Class::UrlCredential,
        Class::Password,
        Class::PasswordHash,
    ] {
        assert!(
            forms.get(&class).copied().unwrap_or(0) >= 2,
            "{class:?}: {forms:?}"
        );
    }
}

#[test]
fn ordinary_configuration_and_the_committed_out_are_not_secret() {
    let mut texts = files("clean");
    for entry in walkdir::WalkDir::new(repo_root().join("out")) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let bytes = fs::read(entry.path()).unwrap();
            let name = entry.path().display().to_string();
            texts.push((name, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    assert!(texts.len() > 100, "out/ and clean/ were read");
    let problems: Vec<String> = texts
        .iter()
        .filter_map(|(name, text)| {
            let found = secret::find(text);
            (!found.is_empty()).then(|| {
                let shown: Vec<&str> = found.iter().map(|f| &text[f.matched.clone()]).collect();
                format!("{name}: {shown:?}")
            })
        })
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
