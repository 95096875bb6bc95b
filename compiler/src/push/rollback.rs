//! push::rollback: what a rollback puts back, from lugc's records on the host.
//!
//! The pushes undone are those cut short since the last complete push, if
//! any (back to that push's bundle), else the pushes that made the last
//! complete one (back to the bundle before it). Each path they changed goes
//! back to what the earliest of them found there (its BEFORE): a file is
//! restored from a copy with that content, on the host or in one of their
//! backups; a path where there was no file is removed. A path with no such
//! copy, or a push whose backup is gone, refuses the whole rollback: nothing
//! is ever removed that cannot be put back. Pure: `probe` reads, `push` acts.

use std::collections::{BTreeMap, BTreeSet};

use crate::host::probe::{Found, Push, Records};
use crate::host::{record, HostFile};
use crate::manifest::{Entry, Manifest};
use crate::plan::{Desired, Want};
use crate::push::error::PushError;

/// The pushes to undo and the bundle to go back to.
#[derive(Debug, Clone)]
pub struct Undo<'a> {
    pub pushes: &'a [Push],
    /// Undoing pushes cut short (back to the last complete bundle).
    pub cut_short: bool,
    /// The MANIFEST to record once done; `None` removes lugc's record.
    pub manifest: Option<Manifest>,
}

pub fn undo<'a>(records: &'a Records, host: &str, bundle: &str) -> Result<Undo<'a>, PushError> {
    let nothing = |reason: String| PushError::NothingToRollBack {
        host: host.to_owned(),
        reason,
    };
    let cut_short = !records.pending.is_empty();
    let pushes = if cut_short {
        &records.pending
    } else if records.last.is_none() {
        return Err(nothing(format!(
            "no push of bundle `{bundle}` is recorded there"
        )));
    } else if records.previous.is_empty() {
        return Err(nothing(
            "the last push recorded nothing that it replaced".to_owned(),
        ));
    } else {
        &records.previous
    };
    let missing = |push: &Push, what: &str| PushError::BackupMissing {
        host: host.to_owned(),
        id: push.id.clone(),
        what: what.to_owned(),
    };
    for push in pushes {
        let backup = push
            .backup
            .as_ref()
            .ok_or_else(|| missing(push, "its backup directory"))?;
        if backup.before.is_none() {
            return Err(missing(push, "its BEFORE record"));
        }
    }
    let manifest = if cut_short {
        records.last.as_ref().map(|last| last.manifest.clone())
    } else {
        let first = &pushes[0];
        let backup = first.backup.as_ref().expect("checked above");
        match backup
            .before
            .as_ref()
            .and_then(|before| before.replaces.as_ref())
        {
            None => None,
            Some(id) => Some(
                backup
                    .replaced
                    .as_ref()
                    .filter(|replaced| &replaced.id == id)
                    .ok_or_else(|| missing(first, "the MANIFEST it replaced"))?
                    .manifest
                    .clone(),
            ),
        }
    };
    Ok(Undo {
        pushes,
        cut_short,
        manifest,
    })
}

impl Undo<'_> {
    /// Each path the undone pushes changed, as the earliest of them found it.
    fn earlier(&self) -> BTreeMap<&str, Option<&HostFile>> {
        let mut earlier = BTreeMap::new();
        for push in self.pushes {
            let before = push
                .backup
                .as_ref()
                .and_then(|backup| backup.before.as_ref());
            for (path, file) in before.iter().flat_map(|before| &before.paths) {
                earlier.entry(path.as_str()).or_insert(file.as_ref());
            }
        }
        earlier
    }

    /// The host paths to read: the paths concerned and their backup copies.
    pub fn paths(&self, records: &Records) -> Vec<String> {
        let mut paths: Vec<String> = self
            .earlier()
            .keys()
            .map(|path| (*path).to_owned())
            .collect();
        let manifests = self
            .manifest
            .iter()
            .chain(records.last.as_ref().map(|last| &last.manifest));
        paths.extend(
            manifests
                .flat_map(|m| &m.entries)
                .map(|entry| entry.path.clone()),
        );
        let originals: Vec<String> = paths.clone();
        for push in self.pushes {
            paths.extend(originals.iter().map(|path| backup_copy(&push.id, path)));
        }
        paths.sort();
        paths.dedup();
        paths
    }

    /// The files to have once rolled back.
    pub fn desired(
        &self,
        records: &Records,
        found: &Found,
        host: &str,
        bundle: &str,
    ) -> Result<Desired, PushError> {
        // A copy of `path` with `blake3`: the host's own file, or one a push kept.
        let copy = |path: &str, blake3: &str| {
            std::iter::once(path.to_owned())
                .chain(self.pushes.iter().map(|push| backup_copy(&push.id, path)))
                .find(|candidate| {
                    found
                        .files
                        .get(candidate)
                        .is_some_and(|file| file.blake3 == blake3)
                })
                .and_then(|candidate| found.contents.get(&candidate))
        };
        let undone_entries: BTreeMap<&str, &Entry> = records
            .last
            .iter()
            .map(|last| &last.manifest)
            .chain(records.pending_manifests())
            .flat_map(|manifest| &manifest.entries)
            .map(|entry| (entry.path.as_str(), entry))
            .collect();
        let restored: BTreeMap<&str, &Entry> = self
            .manifest
            .iter()
            .flat_map(|manifest| &manifest.entries)
            .map(|entry| (entry.path.as_str(), entry))
            .collect();
        let mut files = BTreeMap::new();
        let mut missing = Vec::new();
        let earlier = self.earlier();
        let mut want = |path: &str, blake3: &str, mode: u32, owner: &str| {
            let action = restored
                .get(path)
                .or_else(|| undone_entries.get(path))
                .and_then(|entry| entry.action.clone());
            match copy(path, blake3) {
                Some(bytes) => {
                    let want = Want {
                        bytes: bytes.clone(),
                        blake3: blake3.to_owned(),
                        mode,
                        owner: owner.to_owned(),
                        action,
                    };
                    files.insert(path.to_owned(), want);
                }
                None => missing.push(path.to_owned()),
            }
        };
        for (path, file) in &earlier {
            if let Some(file) = file {
                want(path, &file.blake3, file.mode, &file.owner);
            }
        }
        for (path, entry) in &restored {
            if !earlier.contains_key(path) {
                want(path, &entry.blake3, entry.mode, &entry.owner);
            }
        }
        if !missing.is_empty() {
            return Err(PushError::RollbackMissing {
                host: host.to_owned(),
                paths: missing,
            });
        }
        // Undoing a network change is as risky as making it.
        let confirm: BTreeSet<String> = self
            .manifest
            .iter()
            .chain(records.last.as_ref().map(|last| &last.manifest))
            .chain(records.pending_manifests())
            .flat_map(|manifest| manifest.confirm.iter().cloned())
            .collect();
        Ok(Desired {
            bundle: bundle.to_owned(),
            manifest: self.manifest.clone(),
            files,
            confirm: confirm.into_iter().collect(),
        })
    }
}

/// Where push `id` kept its copy of `path`, relative to the root.
fn backup_copy(id: &str, path: &str) -> String {
    format!("{}{path}", record::backup_files("", id))
}
