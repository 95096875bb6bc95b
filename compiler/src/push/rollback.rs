//! push::rollback: what a rollback puts back, from lugc's records on the host.
//!
//! The pushes undone are those cut short since the last complete push, if
//! any (back to that push's bundle), else the pushes that made the last
//! complete one (back to the bundle before it). A rollback cut short is
//! finished: the pushes it undid are undone again. Each path they changed,
//! and no other, goes back to what the earliest of them found there (its
//! BEFORE): a file is restored from a copy with that content, on the host or
//! in one of their backups; a path where there was no file is removed. The
//! actions that run are those of the paths put back (`Restoring`), which
//! converge on the files then on the host; a host's revert runs the same
//! (`revert_actions`). A path with no such copy, or a push whose backup is
//! gone, refuses the whole rollback: nothing is ever removed that cannot be
//! put back. Pure: `probe` reads, `push` acts.

use std::collections::{BTreeMap, BTreeSet};

use crate::host::probe::{Found, Push, Records};
use crate::host::{record, HostError, HostFile};
use crate::manifest::{Entry, Manifest};
use crate::plan::{self, Desired, Plan, Want};
use crate::push::error::PushError;

/// The pushes to undo and the bundle to go back to.
#[derive(Debug, Clone)]
pub struct Undo<'a> {
    /// Oldest first.
    pub pushes: Vec<&'a Push>,
    /// Undoing pushes cut short (back to the last complete bundle).
    pub cut_short: bool,
    /// The MANIFEST to record once done; `None` removes lugc's record.
    pub manifest: Option<Manifest>,
}

pub fn undo<'a>(records: &'a Records, host: &str, bundle: &str) -> Result<Undo<'a>, PushError> {
    let nothing = |reason: &str| PushError::NothingToRollBack {
        host: host.to_owned(),
        reason: reason.to_owned(),
    };
    let (pushes, cut_short) = match records.rollback_cut_short() {
        Some(rollback) => undone_by(records, rollback).ok_or_else(|| {
            PushError::Host(HostError::RemoteState {
                host: host.to_owned(),
                reason: format!(
                    "rollback {} undid pushes that neither {} nor {} names",
                    rollback.id,
                    record::pending(bundle),
                    record::previous(bundle)
                ),
            })
        })?,
        None if !records.pending.is_empty() => (records.pending.iter().collect(), true),
        None if records.last.is_none() => {
            return Err(nothing(&format!(
                "no push of bundle `{bundle}` is recorded there"
            )))
        }
        None if records.previous.is_empty() => {
            return Err(nothing("the last push recorded nothing that it replaced"))
        }
        None => (records.previous.iter().collect(), false),
    };
    let missing = |push: &Push, what: &str| PushError::BackupMissing {
        host: host.to_owned(),
        id: push.id.clone(),
        what: what.to_owned(),
    };
    for push in &pushes {
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
        let first = pushes[0];
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

/// The pushes the rollback cut short undid, as PENDING (it undid pushes cut
/// short) or PREVIOUS (the last complete push) still names them.
fn undone_by<'a>(records: &'a Records, rollback: &Push) -> Option<(Vec<&'a Push>, bool)> {
    let find = |list: &'a [Push]| {
        rollback
            .undoes()
            .iter()
            .map(|id| list.iter().find(|push| &push.id == id))
            .collect::<Option<Vec<&Push>>>()
    };
    find(&records.pending)
        .map(|pushes| (pushes, true))
        .or_else(|| find(&records.previous).map(|pushes| (pushes, false)))
}

impl Undo<'_> {
    /// Each path the undone pushes changed, as the earliest of them found it.
    fn earlier(&self) -> BTreeMap<&str, Option<&HostFile>> {
        let mut earlier = BTreeMap::new();
        for push in &self.pushes {
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

    /// The host paths to read: those put back and their backup copies.
    pub fn paths(&self) -> Vec<String> {
        let earlier = self.earlier();
        let mut paths: Vec<String> = earlier.keys().map(|path| (*path).to_owned()).collect();
        for push in &self.pushes {
            paths.extend(earlier.keys().map(|path| backup_copy(&push.id, path)));
        }
        paths.sort();
        paths
    }

    /// The versions on either side: the bundle gone back to, and what the
    /// last complete push, the pending pushes and the undone ones wrote.
    fn restoring<'r>(&'r self, records: &'r Records) -> Restoring<'r> {
        let pushing = self
            .pushes
            .iter()
            .filter_map(|push| push.backup.as_ref()?.pushing.as_ref())
            .map(|recorded| &recorded.manifest);
        let undone = records
            .last
            .iter()
            .map(|last| &last.manifest)
            .chain(pushing)
            .chain(records.pending_manifests());
        Restoring::new(self.manifest.as_ref(), undone)
    }

    /// The files to have once rolled back: each path put back that held one.
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
        let restoring = self.restoring(records);
        let mut files = BTreeMap::new();
        let mut missing = Vec::new();
        for (path, file) in self.earlier() {
            let Some(file) = file else { continue };
            let Some(bytes) = copy(path, &file.blake3) else {
                missing.push(path.to_owned());
                continue;
            };
            let want = Want {
                bytes: bytes.clone(),
                blake3: file.blake3.clone(),
                mode: file.mode,
                owner: file.owner.clone(),
                action: restoring.action(path).cloned(),
            };
            files.insert(path.to_owned(), want);
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
            undoes: self.pushes.iter().map(|push| push.id.clone()).collect(),
        })
    }

    /// What the rollback changes: each path put back, and no other; the
    /// actions of all of them, even where the host has the file already (a
    /// rollback cut short ran some). A file that no undone push wrote and
    /// that is not the one put back is drift. `host` as `plan::plan` takes it.
    pub fn plan(
        &self,
        desired: &Desired,
        host: &BTreeMap<String, HostFile>,
        records: &Records,
        set_owner: bool,
    ) -> Plan {
        let restoring = self.restoring(records);
        let mut plan = Plan::default();
        for (path, before) in self.earlier() {
            let current = host.get(path);
            if let Some(file) = current {
                let put_back = before.is_some_and(|before| before.blake3 == file.blake3);
                if !put_back && !restoring.wrote(path, &file.blake3) {
                    plan.drift.push(path.to_owned());
                }
            }
            plan.due.push(path.to_owned());
            let change = plan::change(path, desired.files.get(path), current, set_owner);
            if let Some(change) = change {
                plan.changes.push((path.to_owned(), change));
            }
        }
        plan.actions = restoring.actions(plan.due.iter().map(String::as_str));
        plan
    }
}

/// The versions of each path on either side of a rollback or a revert: the
/// one put back (`restored`, a MANIFEST's entry, if lugc wrote it) and
/// those undone. The action that puts a path back is its restored version's,
/// else that of the latest version undone: either converges on what the
/// host then has.
pub struct Restoring<'a> {
    restored: BTreeMap<&'a str, &'a Entry>,
    /// Every version undone at each path, oldest first.
    undone: BTreeMap<&'a str, Vec<&'a Entry>>,
}

impl<'a> Restoring<'a> {
    pub fn new(
        restored: Option<&'a Manifest>,
        undone: impl IntoIterator<Item = &'a Manifest>,
    ) -> Restoring<'a> {
        let restored = restored
            .iter()
            .flat_map(|manifest| &manifest.entries)
            .map(|entry| (entry.path.as_str(), entry))
            .collect();
        let mut versions: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
        for entry in undone.into_iter().flat_map(|manifest| &manifest.entries) {
            versions.entry(entry.path.as_str()).or_default().push(entry);
        }
        Restoring {
            restored,
            undone: versions,
        }
    }

    /// The action that puts `path` back.
    pub fn action(&self, path: &str) -> Option<&'a String> {
        self.restored
            .get(path)
            .or_else(|| self.undone.get(path).and_then(|versions| versions.last()))
            .and_then(|entry| entry.action.as_ref())
    }

    /// Whether a version undone at `path` has that content.
    fn wrote(&self, path: &str, blake3: &str) -> bool {
        self.undone
            .get(path)
            .is_some_and(|versions| versions.iter().any(|entry| entry.blake3 == blake3))
    }

    /// Each distinct action of `paths`, in their order.
    pub fn actions<'p>(&self, paths: impl IntoIterator<Item = &'p str>) -> Vec<String> {
        let mut actions: Vec<String> = Vec::new();
        for action in paths.into_iter().filter_map(|path| self.action(path)) {
            if !actions.contains(action) {
                actions.push(action.clone());
            }
        }
        actions
    }
}

/// The actions a host's revert of a push runs once it has put back what the
/// push (and the pending pushes it completes) changed: those of the paths
/// put back, the last complete MANIFEST being what is restored.
pub fn revert_actions(records: &Records, desired: &Desired, plan: &Plan) -> Vec<String> {
    let pushing = desired.pending_manifest();
    let undone = records.pending_manifests().into_iter().chain([&pushing]);
    let restoring = Restoring::new(records.last.as_ref().map(|last| &last.manifest), undone);
    let pending = records
        .pending
        .iter()
        .filter_map(|push| push.backup.as_ref()?.before.as_ref())
        .flat_map(|before| before.paths.keys());
    let paths: BTreeSet<&str> = plan
        .changes
        .iter()
        .map(|(path, _)| path)
        .chain(pending)
        .map(String::as_str)
        .collect();
    restoring.actions(paths)
}

/// Where push `id` kept its copy of `path`, relative to the root.
fn backup_copy(id: &str, path: &str) -> String {
    format!("{}{path}", record::backup_files("", id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::probe::Backup;
    use crate::host::record::{Before, Recorded};

    const HOSTNAME: &str = "/etc/hostname";
    const CHRONY: &str = "/etc/chrony/chrony.conf";
    const MARKER: &str = "/etc/lugc/pve-firewall.masked";
    const RESTART: &str = "systemctl restart chrony.service";
    const FIREWALL: &str = "converge on the marker";

    fn file(content: &str) -> HostFile {
        HostFile {
            blake3: blake3::hash(content.as_bytes()).to_hex().to_string(),
            mode: 0o644,
            owner: "root:root".into(),
        }
    }

    /// A recorded MANIFEST of pve-5 with `(path, content, action)` files.
    fn recorded(files: &[(&str, &str, Option<&str>)]) -> Recorded {
        let entries = files
            .iter()
            .map(|(path, content, action)| Entry {
                blake3: file(content).blake3,
                mode: 0o644,
                owner: "root:root".into(),
                path: (*path).to_owned(),
                action: action.map(str::to_owned),
            })
            .collect();
        let manifest = Manifest {
            bundle: "pve-5".into(),
            reaches: vec!["pve-5".into()],
            entries,
            ..Manifest::default()
        };
        Recorded::parse(manifest.render()).unwrap()
    }

    /// Push `id`, which found `paths` before it and wrote `pushing`.
    fn push(id: &str, paths: &[(&str, Option<&str>)], pushing: Recorded, undoes: &[&str]) -> Push {
        let before = Before {
            bundle: "pve-5".into(),
            replaces: None,
            undoes: undoes.iter().map(|id| (*id).to_owned()).collect(),
            paths: paths
                .iter()
                .map(|(path, content)| ((*path).to_owned(), content.map(file)))
                .collect(),
        };
        Push {
            id: id.to_owned(),
            backup: Some(Backup {
                before: Some(before),
                pushing: Some(pushing),
                replaced: None,
            }),
        }
    }

    /// The host's files, `(path, content)`, and their copies in backups.
    fn host_with(files: &[(&str, &str)]) -> Found {
        let mut found = Found::default();
        for (path, content) in files {
            found.files.insert((*path).to_owned(), file(content));
            found
                .contents
                .insert((*path).to_owned(), content.as_bytes().to_vec());
        }
        found
    }

    /// pve-5 after its first push: /etc/hostname already matched (not in
    /// BEFORE), chrony.conf was Debian's, the marker did not exist.
    fn first_pushed() -> Records {
        let bundle = recorded(&[
            (CHRONY, "server ntp", Some(RESTART)),
            (HOSTNAME, "pve-5\n", None),
            (MARKER, "masked", Some(FIREWALL)),
        ]);
        let first = push(
            "pve-5-aaaaaaaaaaaa.first",
            &[(CHRONY, Some("pool debian")), (MARKER, None)],
            bundle.clone(),
            &[],
        );
        Records {
            last: Some(bundle),
            previous: vec![first],
            ..Records::default()
        }
    }

    fn on_host() -> Found {
        host_with(&[
            (CHRONY, "server ntp"),
            (HOSTNAME, "pve-5\n"),
            (MARKER, "masked"),
            (
                "/var/lib/lugc/backup/pve-5-aaaaaaaaaaaa.first/files/etc/chrony/chrony.conf",
                "pool debian",
            ),
        ])
    }

    #[test]
    fn a_rollback_puts_back_only_what_the_push_changed_and_runs_their_actions() {
        let records = first_pushed();
        let undo = undo(&records, "pve-5", "pve-5").unwrap();
        assert!(undo.manifest.is_none() && !undo.cut_short);
        let found = on_host();
        let desired = undo.desired(&records, &found, "pve-5", "pve-5").unwrap();
        assert_eq!(desired.files.keys().collect::<Vec<_>>(), [CHRONY]);
        assert_eq!(desired.files[CHRONY].bytes, b"pool debian");
        assert_eq!(desired.undoes, ["pve-5-aaaaaaaaaaaa.first"]);
        let plan = undo.plan(&desired, &found.files, &records, true);
        assert_eq!(
            plan.changes,
            [
                (CHRONY.to_owned(), plan::Change::Modify),
                (MARKER.to_owned(), plan::Change::Remove)
            ]
        );
        assert_eq!(plan.actions, [RESTART, FIREWALL]);
        assert!(plan.drift.is_empty());

        // Where the host has the files put back already, their actions still run.
        let found = host_with(&[(CHRONY, "pool debian"), (HOSTNAME, "pve-5\n")]);
        let plan = undo.plan(&desired, &found.files, &records, true);
        assert!(plan.changes.is_empty(), "{plan:?}");
        assert_eq!(plan.actions, [RESTART, FIREWALL]);
    }

    #[test]
    fn a_file_no_undone_push_wrote_is_drift() {
        let records = first_pushed();
        let undo = undo(&records, "pve-5", "pve-5").unwrap();
        let mut found = on_host();
        found
            .files
            .insert(CHRONY.to_owned(), file("edited by hand"));
        let desired = undo.desired(&records, &found, "pve-5", "pve-5").unwrap();
        let plan = undo.plan(&desired, &found.files, &records, true);
        assert_eq!(plan.drift, [CHRONY]);
    }

    #[test]
    fn a_rollback_cut_short_is_finished_by_undoing_what_it_undid() {
        let mut records = first_pushed();
        let rollback = push(
            "pve-5-bbbbbbbbbbbb.rollback",
            &[(CHRONY, Some("server ntp"))],
            recorded(&[(CHRONY, "pool debian", Some(RESTART))]),
            &["pve-5-aaaaaaaaaaaa.first"],
        );
        records.pending = vec![rollback];
        let undo = undo(&records, "pve-5", "pve-5").unwrap();
        let ids: Vec<&str> = undo.pushes.iter().map(|push| push.id.as_str()).collect();
        assert_eq!(ids, ["pve-5-aaaaaaaaaaaa.first"]);
        assert!(undo.manifest.is_none() && !undo.cut_short);

        // Chrony is back already, the marker not yet: still both actions.
        let found = host_with(&[(CHRONY, "pool debian"), (MARKER, "masked")]);
        let desired = undo.desired(&records, &found, "pve-5", "pve-5").unwrap();
        let plan = undo.plan(&desired, &found.files, &records, true);
        assert_eq!(plan.changes, [(MARKER.to_owned(), plan::Change::Remove)]);
        assert_eq!(plan.actions, [RESTART, FIREWALL]);
        assert!(plan.drift.is_empty());

        records.previous.clear();
        let error = super::undo(&records, "pve-5", "pve-5").unwrap_err();
        assert!(error.to_string().contains("unreadable"), "{error}");
    }

    #[test]
    fn a_revert_runs_the_actions_of_the_restored_versions() {
        let old = recorded(&[(CHRONY, "server old", Some("old restart"))]);
        let records = Records {
            last: Some(old),
            ..Records::default()
        };
        let new = recorded(&[
            (CHRONY, "server ntp", Some(RESTART)),
            (HOSTNAME, "pve-5\n", None),
            (MARKER, "masked", Some(FIREWALL)),
        ]);
        let files = [CHRONY, HOSTNAME, MARKER].map(|path| {
            let entry = new.manifest.entries.iter().find(|e| e.path == path);
            let entry = entry.unwrap();
            let want = Want {
                bytes: Vec::new(),
                blake3: entry.blake3.clone(),
                mode: entry.mode,
                owner: entry.owner.clone(),
                action: entry.action.clone(),
            };
            (path.to_owned(), want)
        });
        let desired = Desired {
            bundle: "pve-5".into(),
            manifest: Some(new.manifest.clone()),
            files: files.into_iter().collect(),
            confirm: Vec::new(),
            undoes: Vec::new(),
        };
        // The push changed chrony.conf and added the marker; the hostname matched.
        let plan = Plan {
            changes: vec![
                (CHRONY.to_owned(), plan::Change::Modify),
                (MARKER.to_owned(), plan::Change::Add),
            ],
            ..Plan::default()
        };
        assert_eq!(
            revert_actions(&records, &desired, &plan),
            ["old restart", FIREWALL]
        );
    }
}
