//! write::swap: a build over an earlier out/ changes only the bundles that
//! changed, old-or-new kept by a journal.
//!
//! Each changed bundle is staged in a `.lugc-tmp-*` directory beside out/
//! (`new/<bundle>`, its unchanged files hard-linked from out/), with the new
//! INDEX. Then a `JOURNAL` naming the bundles to swap and to remove is
//! committed (renamed into place), and [`finish`] moves each old bundle
//! directory to `old/` and the new one into out/, moves out the bundles that
//! vanished, renames INDEX last and removes the journal. Every step is
//! redone only if it has not happened, so a build killed before the journal
//! is committed leaves out/ as it was, and one killed after it leaves a
//! journal that the next build, or any command before it reads out/
//! ([`settle`]), finishes: out/ is read as the old build or the new one.
//! A bundle that is not rewritten keeps its directory and files.

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::{at, lock, parent_dir, put, put_all, read_below, read_walked, remove_leftovers};
use super::{bundle_files, OutFile, WriteError, TEMP_PREFIX};
use crate::bundle::Bundle;

const JOURNAL: &str = "JOURNAL";
const JOURNAL_HEADER: &str = "lugc-journal 1";
const NEW: &str = "new";
const OLD: &str = "old";
const INDEX: &str = "INDEX";

/// Write the bundles of `bundles` that out/ does not hold, remove those it
/// holds and `bundles` lacks, and write INDEX, in place (called under the
/// lock). `false`, having written nothing, when out/ is not a directory of
/// plain names: the caller writes a whole tree.
pub(super) fn write_changed(
    out: &Path,
    parent: &Path,
    bundles: &[Bundle],
    index_text: &str,
) -> Result<bool, WriteError> {
    let (Some(present), Some(out_name)) = (plain_entries(out), file_name(out)) else {
        return Ok(false);
    };
    let names: HashSet<&str> = bundles.iter().map(|bundle| bundle.name.as_str()).collect();
    let changed: Vec<&Bundle> = (bundles.iter())
        .filter(|bundle| !bundle.taken && !holds_bundle(out, bundle))
        .collect();
    let journal = Journal {
        out: out_name,
        swapped: changed.iter().map(|bundle| bundle.name.clone()).collect(),
        removed: (present.into_iter())
            .filter(|name| name != INDEX && !names.contains(name.as_str()))
            .collect(),
    };
    let index_changed =
        read_below(out, Path::new(INDEX)).map_or(true, |(bytes, _)| bytes != index_text.as_bytes());
    if journal.swapped.is_empty() && journal.removed.is_empty() && !index_changed {
        return Ok(true);
    }
    let staging = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempdir_in(parent)
        .map_err(at(parent))?;
    let dir = staging.path();
    put_all(
        out,
        changed.into_iter().flat_map(bundle_files),
        &dir.join(NEW),
    )?;
    if index_changed {
        let index = OutFile {
            bytes: index_text.as_bytes(),
            executable: false,
        };
        put(out, Path::new(INDEX), &index, dir)?;
    }
    fs::create_dir(dir.join(OLD)).map_err(at(&dir.join(OLD)))?;
    journal.commit(dir)?;
    // From here on the journal finishes the build, even after an error.
    let dir = staging.keep();
    finish(parent, &dir)?;
    Ok(true)
}

/// Finish, under out/'s lock, a build that a killed process or a failed
/// step left with its journal committed, before reading out/; remove what
/// other killed builds left beside it.
pub fn settle(out: &Path) -> Result<(), WriteError> {
    let parent = parent_dir(out);
    let Ok(entries) = fs::read_dir(&parent) else {
        return Ok(());
    };
    let interrupted = entries.flatten().any(|entry| {
        entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) && committed(&entry.path())
    });
    if interrupted {
        let _lock = lock(&parent)?;
        remove_leftovers(&parent)?;
    }
    Ok(())
}

/// Whether `staging` is a directory (not a link) with a committed journal.
pub(super) fn committed(staging: &Path) -> bool {
    fs::symlink_metadata(staging).is_ok_and(|meta| meta.is_dir())
        && fs::symlink_metadata(staging.join(JOURNAL)).is_ok_and(|meta| meta.is_file())
}

/// Carry out the journal in `staging`, each step that has not happened yet,
/// then remove `staging`.
pub(super) fn finish(parent: &Path, staging: &Path) -> Result<(), WriteError> {
    let journal_path = staging.join(JOURNAL);
    let (bytes, _) = read_below(staging, Path::new(JOURNAL)).map_err(at(&journal_path))?;
    let journal = std::str::from_utf8(&bytes)
        .ok()
        .and_then(Journal::parse)
        .ok_or_else(|| not_plain(&journal_path))?;
    let out = parent.join(&journal.out);
    let exists = |path: &Path| fs::symlink_metadata(path).is_ok();
    let rename = |from: &Path, to: &Path| {
        fs::rename(from, to).map_err(at(to))?;
        moment();
        Ok::<(), WriteError>(())
    };
    for name in &journal.swapped {
        let new = staging.join(NEW).join(name);
        if exists(&new) {
            if exists(&out.join(name)) {
                rename(&out.join(name), &staging.join(OLD).join(name))?;
            }
            rename(&new, &out.join(name))?;
        }
    }
    for name in &journal.removed {
        if exists(&out.join(name)) {
            rename(&out.join(name), &staging.join(OLD).join(name))?;
        }
    }
    if exists(&staging.join(INDEX)) {
        rename(&staging.join(INDEX), &out.join(INDEX))?;
    }
    fs::remove_file(&journal_path).map_err(at(&journal_path))?;
    moment();
    fs::remove_dir_all(staging).map_err(at(staging))
}

/// The names in out/ (a directory, not a link), if each is plain (see
/// [`plain`]) and INDEX, if there, is not a directory.
fn plain_entries(out: &Path) -> Option<Vec<String>> {
    if !fs::symlink_metadata(out).ok()?.is_dir() {
        return None;
    }
    let mut names = Vec::new();
    for entry in fs::read_dir(out).ok()? {
        let entry = entry.ok()?;
        let name = entry.file_name().into_string().ok().filter(|n| plain(n))?;
        if name == INDEX && entry.file_type().ok()?.is_dir() {
            return None;
        }
        names.push(name);
    }
    Some(names)
}

/// A name the journal can hold: one path component, on one line.
fn plain(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\n'])
}

/// out/'s name in its parent directory (`parent_dir`), if plain.
fn file_name(out: &Path) -> Option<String> {
    let name = std::path::absolute(out)
        .ok()?
        .file_name()?
        .to_str()?
        .to_owned();
    plain(&name).then_some(name)
}

fn not_plain(path: &Path) -> WriteError {
    let source = std::io::Error::new(std::io::ErrorKind::InvalidData, "not as lugc writes it");
    at(path)(source)
}

/// Whether out/ holds `bundle` (rendered, not taken) exactly: its MANIFEST,
/// each file with its bytes and mode, and nothing else.
fn holds_bundle(out: &Path, bundle: &Bundle) -> bool {
    let expected: std::collections::HashMap<PathBuf, OutFile> = bundle_files(bundle).collect();
    let root = Path::new(&bundle.name);
    let same_manifest = read_below(out, &root.join("MANIFEST"))
        .is_ok_and(|(bytes, _)| bytes == bundle.manifest_text.as_bytes());
    if !same_manifest {
        return false;
    }
    let dirs: BTreeSet<&Path> = (expected.keys())
        .flat_map(|path| path.ancestors().skip(1))
        .collect();
    let mut found = 0;
    for entry in walkdir::WalkDir::new(out.join(root)) {
        let Ok(entry) = entry else {
            return false;
        };
        let relative = entry.path().strip_prefix(out).unwrap_or(entry.path());
        let held = if entry.file_type().is_dir() {
            dirs.contains(relative)
        } else {
            found += 1;
            entry.file_type().is_file()
                && expected.get(relative).is_some_and(|file| {
                    read_walked(entry.path()).is_ok_and(|(bytes, meta)| {
                        bytes == file.bytes && meta.permissions().mode() & 0o7777 == file.mode()
                    })
                })
        };
        if !held {
            return false;
        }
    }
    found == expected.len()
}

/// What a build changes in out/, by name: the bundles swapped in (staged
/// in `new/`) and those removed; INDEX is renamed last when staged.
#[derive(Debug, PartialEq, Eq)]
struct Journal {
    /// out/'s name in its parent directory.
    out: String,
    swapped: Vec<String>,
    removed: Vec<String>,
}

impl Journal {
    fn text(&self) -> String {
        let mut text = format!("{JOURNAL_HEADER}\nout {}\n", self.out);
        for name in &self.swapped {
            text.push_str(&format!("swap {name}\n"));
        }
        for name in &self.removed {
            text.push_str(&format!("remove {name}\n"));
        }
        text
    }

    /// The journal in `text`, if every line is as [`Journal::text`] writes it.
    fn parse(text: &str) -> Option<Journal> {
        let mut lines = text.lines();
        (lines.next()? == JOURNAL_HEADER).then_some(())?;
        let out = lines.next()?.strip_prefix("out ")?.to_owned();
        let mut journal = Journal {
            out,
            swapped: Vec::new(),
            removed: Vec::new(),
        };
        for line in lines {
            let (kind, name) = line.split_once(' ')?;
            let names = match kind {
                "swap" => &mut journal.swapped,
                "remove" => &mut journal.removed,
                _ => return None,
            };
            names.push(name.to_owned());
        }
        let mut all = std::iter::once(&journal.out)
            .chain(&journal.swapped)
            .chain(&journal.removed);
        all.all(|name| plain(name)).then_some(journal)
    }

    /// Write the journal into `staging` and commit it with one rename.
    fn commit(&self, staging: &Path) -> Result<(), WriteError> {
        let part = staging.join("JOURNAL.part");
        fs::write(&part, self.text()).map_err(at(&part))?;
        moment();
        fs::rename(&part, staging.join(JOURNAL)).map_err(at(&part))?;
        moment();
        Ok(())
    }
}

/// A moment of a write at which the tests stop the process as a kill
/// would: in debug builds, the `LUGC_TEST_STOP_AT`th moment aborts.
fn moment() {
    #[cfg(debug_assertions)]
    {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static MOMENTS: AtomicUsize = AtomicUsize::new(0);
        let this = MOMENTS.fetch_add(1, Ordering::Relaxed) + 1;
        if std::env::var("LUGC_TEST_STOP_AT").is_ok_and(|stop| stop == this.to_string()) {
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_reads_back_as_written_and_refuses_what_is_not_plain() {
        let journal = Journal {
            out: "out".to_owned(),
            swapped: vec!["h-1".to_owned(), "cluster".to_owned()],
            removed: vec!["h-2".to_owned()],
        };
        assert_eq!(Journal::parse(&journal.text()), Some(journal));
        let text = "lugc-journal 1\nout out\nswap ../elsewhere\n";
        assert_eq!(Journal::parse(text), None);
        assert_eq!(Journal::parse("lugc-journal 1\nout out\nmove h\n"), None);
    }
}
