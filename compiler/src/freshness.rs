//! freshness: is out/ what cluster.ncl builds now? For commands that read
//! out/ as the fleet's truth (`diff` against the working tree, `show`).
//!
//! When the cache's record says that nothing the last build read has changed
//! and out/INDEX is what it wrote, out/ is trusted as git trusts its index:
//! each file the MANIFESTs list, and each directory on its way, is looked at
//! (lstat) and read only when it changed since the record was written or is
//! not a plain file or directory. With no record at all, as in a fresh
//! clone, out/ and the sources that git sees exactly as HEAD commits them
//! are trusted as a committed revision is (`build --check` checked it where
//! it was committed); every listed file is still read. Otherwise the fleet
//! is built in memory and out/ compared with it as `build --check` does;
//! found current, out/ is recorded in the cache as a build would record it
//! (as `git status` refreshes git's index), so the next check is quick.
//! Input: the config; output: a [`Freshness`]. Writes only the cache file;
//! follows no link in out/.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::diff::DiffError;
use crate::error::Error;
use crate::manifest::{Entry, Manifest};
use crate::write::{self, read_below, Staleness};
use crate::Compilation;

/// How out/ stands against the sources.
#[derive(Debug)]
pub enum Freshness {
    /// out/ is what the sources build.
    Current,
    /// The sources build another out/: these files differ.
    Stale(Vec<(PathBuf, Staleness)>),
    /// The sources are what out/ was built from, but these files differ from
    /// it: out/ was edited by hand.
    HandEdited(Vec<(PathBuf, Staleness)>),
}

/// Check out/ against the sources; the build in memory, when one was made,
/// comes back for a caller that needs the bundles anyway.
pub fn check(config: &Config) -> Result<(Freshness, Option<Compilation>), Error> {
    let index = read_below(&config.out, Path::new("INDEX"))
        .ok()
        .and_then(|(bytes, _)| String::from_utf8(bytes).ok());
    let recorded = crate::cache::recorded(config);
    let written = crate::cache::written_at(config);
    // Nothing the last build that wrote out/ read has changed since.
    let key = crate::cache::key(config);
    let built_from_these = matches!(
        (&key, &recorded),
        (Some(key), Some((recorded_key, _))) if key == recorded_key
    );
    if let (true, Some(index), Some((_, index_hash)), Some(since)) =
        (built_from_these, &index, &recorded, written)
    {
        if blake3::hash(index.as_bytes()).to_hex().as_str() == index_hash {
            return Ok((as_listed(edited_since(&config.out, index, since)), None));
        }
    }
    // No record at all, as in a fresh clone: out/ and the sources as HEAD
    // commits them are trusted as a revision is; each file is still read.
    if let (None, Some(index)) = (&recorded, &index) {
        if holds_as_head(config) {
            let edited = edited_since(&config.out, index, (i64::MIN, i64::MIN));
            return Ok((as_listed(edited), None));
        }
    }
    // With each bundle's key, so that what it records is what a build records.
    let compilation = crate::compile_derived(config, false)?;
    let stale = write::check(&config.out, &compilation.bundles)?;
    let listed_only = stale
        .iter()
        .all(|(path, _)| path != Path::new("INDEX") && !path.ends_with("MANIFEST"));
    let freshness = if stale.is_empty() {
        if let (Some(key), Some(index)) = (&key, &index) {
            crate::cache::record_current(config, key, index, &compilation);
        }
        Freshness::Current
    } else if built_from_these || listed_only {
        Freshness::HandEdited(stale)
    } else {
        Freshness::Stale(stale)
    };
    Ok((freshness, Some(compilation)))
}

/// Current when no file differs from its MANIFEST line, else hand-edited.
fn as_listed(edited: Vec<(PathBuf, Staleness)>) -> Freshness {
    if edited.is_empty() {
        Freshness::Current
    } else {
        Freshness::HandEdited(edited)
    }
}

/// Whether out/ and every input of a build are as HEAD commits them, in a
/// git repository.
fn holds_as_head(config: &Config) -> bool {
    let Some((root, inputs)) = crate::cache::inputs(config) else {
        return false;
    };
    crate::diff::source::Repo::discover(&root, &config.out)
        .is_ok_and(|repo| repo.holds_as_head(&root, &inputs))
}

/// Fail (exit 2) unless out/ is what the sources build: for a command that
/// reads out/ as the fleet's truth and offers `--rebuild` instead.
pub fn require_current(config: &Config) -> Result<(), Error> {
    let error = match check(config)?.0 {
        Freshness::Current => return Ok(()),
        Freshness::Stale(files) => DiffError::StaleOut {
            out: config.out.clone(),
            files: describe(&config.out, &files),
        },
        Freshness::HandEdited(files) => DiffError::HandEdited {
            out: config.out.clone(),
            files: describe(&config.out, &files),
        },
    };
    Err(error.into())
}

/// `out/pve-5/etc/hosts (modified)`, for messages; a link is called one.
pub fn describe(out: &Path, files: &[(PathBuf, Staleness)]) -> Vec<String> {
    files
        .iter()
        .map(|(path, how)| {
            let path = out.join(path);
            let how = if fs::symlink_metadata(&path).is_ok_and(|meta| meta.is_symlink()) {
                "a symbolic link, which lugc never writes into out/"
            } else {
                how.as_str()
            };
            format!("{} ({how})", path.display())
        })
        .collect()
}

/// The files `index` and its MANIFESTs list that differ from their MANIFEST
/// line, looked at with [`Looked`].
fn edited_since(out: &Path, index: &str, since: (i64, i64)) -> Vec<(PathBuf, Staleness)> {
    let Ok(index) = crate::bundle::parse_index(index) else {
        return vec![(PathBuf::from("INDEX"), Staleness::Modified)];
    };
    let mut looked = Looked::new(out, since);
    let mut edited = Vec::new();
    for (name, id) in &index {
        let manifest_path = Path::new(name).join("MANIFEST");
        let manifest = read_below(out, &manifest_path)
            .ok()
            .filter(|(bytes, _)| crate::manifest::bundle_id(bytes) == *id)
            .and_then(|(bytes, _)| Manifest::parse(&String::from_utf8(bytes).ok()?).ok());
        let Some(manifest) = manifest else {
            edited.push((manifest_path, Staleness::Modified));
            continue;
        };
        for entry in &manifest.entries {
            let relative = Path::new(name).join(entry.path.trim_start_matches('/'));
            if let Some(how) = looked.edited(&relative, entry) {
                edited.push((relative, how));
            }
        }
    }
    edited
}

/// The files of out/ that MANIFESTs list, looked at as git looks at its
/// index: only a file that changed (ctime) at or after `since`, or under a
/// directory that did, or that is not a plain file under plain
/// directories, is read; the rest is trusted.
pub(crate) struct Looked<'a> {
    out: &'a Path,
    since: (i64, i64),
    /// Each directory is looked at once: whether it is trusted.
    directories: HashMap<PathBuf, bool>,
    /// Files come sorted, so mostly the last directory again.
    last: Option<(PathBuf, bool)>,
}

impl<'a> Looked<'a> {
    /// `since`: when the record was written; `(i64::MIN, i64::MIN)` trusts nothing.
    pub(crate) fn new(out: &'a Path, since: (i64, i64)) -> Self {
        Looked {
            out,
            since,
            directories: HashMap::new(),
            last: None,
        }
    }

    /// The out/ it looks at.
    pub(crate) fn out(&self) -> &'a Path {
        self.out
    }

    fn directory_trusted(&mut self, relative: &Path) -> bool {
        let parent = relative.parent().unwrap_or(Path::new(""));
        if let Some((dir, verdict)) = &self.last {
            if dir == parent {
                return *verdict;
            }
        }
        let verdict =
            (parent.ancestors()).all(|dir| dir.as_os_str().is_empty() || self.trusted(dir));
        self.last = Some((parent.to_path_buf(), verdict));
        verdict
    }

    /// Whether the directory `dir` below out/ is a plain directory that
    /// has not changed since: looked at once.
    fn trusted(&mut self, dir: &Path) -> bool {
        if let Some(verdict) = self.directories.get(dir) {
            return *verdict;
        }
        let verdict = fs::symlink_metadata(self.out.join(dir))
            .is_ok_and(|meta| meta.is_dir() && changed_before(&meta, self.since));
        self.directories.insert(dir.to_path_buf(), verdict);
        verdict
    }

    /// Whether bundle `root`'s directories hold only its MANIFEST and what
    /// `entries` list: a name added to or removed from a directory changes
    /// its ctime, so only the directories that changed since are read.
    pub(crate) fn holds_only(&mut self, root: &Path, entries: &[Entry]) -> bool {
        let paths: Vec<PathBuf> = (entries.iter())
            .map(|entry| root.join(entry.path.trim_start_matches('/')))
            .chain([root.join("MANIFEST")])
            .collect();
        let mut untrusted = HashMap::new();
        for path in &paths {
            for dir in path
                .ancestors()
                .skip(1)
                .take_while(|dir| dir.starts_with(root))
            {
                if !untrusted.contains_key(dir) && !self.trusted(dir) {
                    untrusted.insert(dir.to_path_buf(), HashSet::new());
                }
            }
        }
        if untrusted.is_empty() {
            return true;
        }
        for path in &paths {
            for (child, dir) in path.ancestors().zip(path.ancestors().skip(1)) {
                if let (Some(names), Some(name)) = (untrusted.get_mut(dir), child.file_name()) {
                    names.insert(name.to_os_string());
                }
            }
        }
        (untrusted.iter()).all(|(dir, names)| {
            fs::read_dir(self.out.join(dir)).is_ok_and(|listing| {
                listing
                    .map(|entry| entry.map(|entry| entry.file_name()))
                    .all(|name| name.is_ok_and(|name| names.contains(&name)))
            })
        })
    }

    /// How the file at `relative` below out/ differs from its MANIFEST line
    /// `entry` (blake3 and executable bit); `None` when it does not.
    pub(crate) fn edited(&mut self, relative: &Path, entry: &Entry) -> Option<Staleness> {
        let executable = entry.mode & 0o111 != 0;
        let unchanged = self.directory_trusted(relative)
            && fs::symlink_metadata(self.out.join(relative)).is_ok_and(|meta| {
                meta.is_file()
                    && changed_before(&meta, self.since)
                    && (meta.permissions().mode() & 0o111 != 0) == executable
            });
        if unchanged {
            return None;
        }
        match read_below(self.out, relative) {
            Ok((bytes, meta))
                if blake3::hash(&bytes).to_hex().as_str() == entry.blake3
                    && (meta.permissions().mode() & 0o111 != 0) == executable =>
            {
                None
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Some(Staleness::Missing),
            _ => Some(Staleness::Modified),
        }
    }
}

fn changed_before(meta: &fs::Metadata, since: (i64, i64)) -> bool {
    (meta.ctime(), meta.ctime_nsec()) < since
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{BundleTree, TargetFile};

    fn built(dir: &Path) -> (PathBuf, String) {
        let file = |text: &str, mode| TargetFile {
            bytes: text.as_bytes().to_vec(),
            mode,
            owner: "root:root".to_owned(),
            action: None,
            confirm: false,
            check: false,
        };
        let tree = BundleTree {
            name: "h".to_owned(),
            reaches: vec!["h".to_owned()],
            files: [
                ("/etc/hostname".to_owned(), file("h\n", 0o644)),
                ("/etc/cron.daily/job".to_owned(), file("#!/bin/sh\n", 0o755)),
            ]
            .into(),
            absent: Vec::new(),
        };
        let bundles = vec![crate::bundle::bundle(tree)];
        let out = dir.join("out");
        write::write(&out, &bundles).unwrap();
        (out, crate::bundle::index(&bundles))
    }

    fn now() -> (i64, i64) {
        let stamp = tempfile::NamedTempFile::new().unwrap();
        let meta = stamp.as_file().metadata().unwrap();
        (meta.ctime(), meta.ctime_nsec())
    }

    #[test]
    fn only_what_changed_since_is_read_and_every_change_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let (out, index) = built(dir.path());
        // An old copy of etc/, made before the record, to move in later.
        let old_etc = dir.path().join("old-etc");
        fs::create_dir_all(old_etc.join("cron.daily")).unwrap();
        fs::write(old_etc.join("hostname"), "someone else\n").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(10));
        let since = now();
        assert!(edited_since(&out, &index, since).is_empty());

        fs::write(out.join("h/etc/hostname"), "edited\n").unwrap();
        assert_eq!(
            edited_since(&out, &index, since),
            [(PathBuf::from("h/etc/hostname"), Staleness::Modified)]
        );
        fs::write(out.join("h/etc/hostname"), "h\n").unwrap();
        assert!(edited_since(&out, &index, since).is_empty(), "put back");

        let job = out.join("h/etc/cron.daily/job");
        fs::set_permissions(&job, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(edited_since(&out, &index, since).len(), 1, "not executable");
        fs::set_permissions(&job, fs::Permissions::from_mode(0o755)).unwrap();

        // Files moved in keep their ctime; the directory they came in does not.
        fs::rename(out.join("h/etc"), dir.path().join("gone")).unwrap();
        fs::rename(&old_etc, out.join("h/etc")).unwrap();
        let mut edited = edited_since(&out, &index, since);
        edited.sort();
        assert_eq!(
            edited,
            [
                (PathBuf::from("h/etc/cron.daily/job"), Staleness::Missing),
                (PathBuf::from("h/etc/hostname"), Staleness::Modified),
            ]
        );
    }
}
