//! plan: (what the host should have, what it has, what the last push
//! and the pushes cut short since left) → `Plan`: files to write or remove,
//! drift, and the actions to run. Pure: no I/O, no ssh; `push` and `status`
//! feed it what `host` read, and `preview` shows it as a diff.

pub mod preview;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::host::probe::{self, Found, Records};
use crate::host::HostFile;
use crate::manifest::{action_due, Entry, Manifest};

pub use crate::pve::{on_pmxcfs, PMXCFS_MAX, STORAGE_CFG};

/// Whether PVE reads two texts of the file at `path` as one configuration,
/// for the files PVE rewrites in its own way: storage.cfg (sets and sections
/// in an order of its own) and VM configs (the notes percent-encoded).
pub fn pve_same(path: &str) -> Option<fn(&str, &str) -> bool> {
    if path == STORAGE_CFG {
        Some(crate::storage_cfg::same)
    } else if crate::qemu_cfg::vm_id(path).is_some() {
        Some(crate::qemu_cfg::same)
    } else {
        None
    }
}

/// The host's files as a push compares them: a file PVE rewrites
/// (`pve_same`) that PVE reads as the desired one counts as the desired
/// one. `contents` holds the host's bytes of the files it has.
pub fn as_pve_reads(
    desired: &Desired,
    files: &BTreeMap<String, HostFile>,
    contents: &BTreeMap<String, Vec<u8>>,
) -> BTreeMap<String, HostFile> {
    let mut files = files.clone();
    for (path, want) in &desired.files {
        let (Some(same), Some(file), Some(bytes)) =
            (pve_same(path), files.get_mut(path), contents.get(path))
        else {
            continue;
        };
        if file.blake3 != want.blake3 {
            let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).ok();
            if let (Some(desired), Some(on_host)) = (text(&want.bytes), text(bytes)) {
                if same(&desired, &on_host) {
                    file.blake3.clone_from(&want.blake3);
                }
            }
        }
    }
    files
}

/// The files above the size limit that the host hashed instead of sending
/// (`Found::large`): one whose SHA-256 is the desired version's gets its
/// blake3, as if it had been read.
pub fn recognise(found: &mut Found, desired: &Desired) {
    for path in found.large.keys() {
        let (Some(file), Some(want)) = (found.files.get_mut(path), desired.files.get(path)) else {
            continue;
        };
        if file.blake3.strip_prefix("sha256:") == Some(probe::sha256(&want.bytes).as_str()) {
            file.blake3.clone_from(&want.blake3);
        }
    }
}

/// One file as the host should have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Want {
    pub bytes: Vec<u8>,
    pub blake3: String,
    pub mode: u32,
    pub owner: String,
    pub action: Option<String>,
}

impl Want {
    /// This file's MANIFEST line at `path`.
    pub fn entry(&self, path: &str) -> Entry {
        Entry {
            blake3: self.blake3.clone(),
            mode: self.mode,
            owner: self.owner.clone(),
            path: path.to_owned(),
            action: self.action.clone(),
        }
    }
}

/// What a push should leave on the host.
#[derive(Debug, Clone)]
pub struct Desired {
    /// Bundle name (`cluster` or a host).
    pub bundle: String,
    /// The MANIFEST to record on the host once everything succeeded; `None`
    /// removes lugc's record (rolling back the first push of a bundle).
    pub manifest: Option<Manifest>,
    /// Files to have on the host, keyed by absolute path: the manifest's
    /// entries, plus files a rollback restores that lugc did not write.
    pub files: BTreeMap<String, Want>,
    /// Actions that run only under a revert armed on the host: the
    /// manifest's, and for a rollback those of the bundles it undoes too.
    pub confirm: Vec<String>,
    /// A rollback: the pushes it undoes, oldest first (empty for a push).
    pub undoes: Vec<String>,
}

impl Desired {
    /// A rollback rather than a push of a bundle.
    pub fn is_rollback(&self) -> bool {
        !self.undoes.is_empty()
    }

    /// The bundle's health checks: files the host runs before a push whose
    /// revert is armed is confirmed.
    pub fn checks(&self) -> &[String] {
        self.manifest
            .as_ref()
            .map_or(&[], |manifest| manifest.check.as_slice())
    }

    /// The bundle runs `action` only under a revert armed on the host.
    pub fn confirms(&self, action: &str) -> bool {
        self.confirm.iter().any(|listed| listed == action)
    }

    /// The files as MANIFEST lines: what a PENDING record keeps of this push.
    pub fn pending_manifest(&self) -> Manifest {
        let entries = self
            .files
            .iter()
            .map(|(path, want)| want.entry(path))
            .collect();
        Manifest {
            bundle: self.bundle.clone(),
            reaches: self
                .manifest
                .as_ref()
                .map(|manifest| manifest.reaches.clone())
                .unwrap_or_default(),
            entries,
            ..Manifest::default()
        }
    }
}

/// How a file changes on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// Not on the host yet.
    Add,
    /// Different content.
    Modify,
    /// Same content, different mode or owner.
    Metadata,
    /// On the host and in the last pushed manifest, gone from the bundle.
    Remove,
}

impl Change {
    fn sign(self) -> char {
        match self {
            Change::Add => '+',
            Change::Modify => '~',
            Change::Metadata => '=',
            Change::Remove => '-',
        }
    }
}

/// The outcome of comparing the desired state with the host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Files to write or remove, in path order.
    pub changes: Vec<(String, Change)>,
    /// Files whose content on the host is neither the last pushed nor the desired one.
    pub drift: Vec<String>,
    /// Files on the host at a path the bundle says must not exist (removed with `force`).
    pub unwanted: Vec<String>,
    /// Paths whose action is due: written, removed, or not yet recorded as pushed.
    pub due: Vec<String>,
    /// Each distinct action once, in the path order of `due`.
    pub actions: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.actions.is_empty()
    }

    /// Paths whose content or metadata is written (not removed).
    pub fn writes(&self) -> impl Iterator<Item = &str> {
        self.changes
            .iter()
            .filter(|(_, change)| *change != Change::Remove)
            .map(|(path, _)| path.as_str())
    }

    /// Paths removed from the host.
    pub fn removals(&self) -> impl Iterator<Item = &str> {
        self.changes
            .iter()
            .filter(|(_, change)| *change == Change::Remove)
            .map(|(path, _)| path.as_str())
    }

    /// The plan as shown to the user: files, then actions.
    pub fn render(&self, desired: &Desired, drift_note: &str) -> String {
        let mut text = String::new();
        if self.changes.is_empty() {
            text.push_str("  files: no change\n");
        } else {
            text.push_str("  files:\n");
            for (path, change) in &self.changes {
                let detail = match (change, desired.files.get(path)) {
                    (Change::Remove, _) | (_, None) => String::new(),
                    (_, Some(_)) if on_pmxcfs(path) => " (pmxcfs)".to_owned(),
                    (_, Some(want)) => format!(" ({:04o} {})", want.mode, want.owner),
                };
                let drift = if self.drift.contains(path) {
                    drift_note
                } else if self.unwanted.contains(path) {
                    "  [must not exist]"
                } else {
                    ""
                };
                let _ = writeln!(text, "    {} {path}{detail}{drift}", change.sign());
            }
        }
        if self.actions.is_empty() {
            text.push_str("  actions: none\n");
        } else {
            text.push_str("  actions:\n");
            for action in &self.actions {
                let note = if desired.confirms(action) {
                    "  [reverted unless confirmed]"
                } else {
                    ""
                };
                let _ = writeln!(text, "    {action}{note}");
            }
        }
        text
    }
}

/// Compare. `host` holds the regular files found on the host (absent ones are
/// missing); `last` is the manifest the last push recorded there, `pending`
/// those of the pushes begun since and cut short. `set_owner` is false when
/// the remote user cannot change owners.
pub fn plan(
    desired: &Desired,
    host: &BTreeMap<String, HostFile>,
    last: Option<&Manifest>,
    pending: &[&Manifest],
    set_owner: bool,
) -> Plan {
    let recorded = Recorded::new(desired, last, pending);
    let mut plan = Plan::default();
    for path in recorded.paths(desired) {
        let current = host.get(path);
        if !desired.files.contains_key(path) && recorded.absent.contains(path) {
            if current.is_some() {
                plan.unwanted.push(path.to_owned());
                plan.changes.push((path.to_owned(), Change::Remove));
            }
            continue;
        }
        plan.add(path, desired, current, &recorded, set_owner);
    }
    plan
}

/// What lugc's records say of a host's paths: the last push's entries,
/// those of each push cut short since, and the paths that must not exist.
struct Recorded<'a> {
    last: BTreeMap<&'a str, &'a Entry>,
    pending: Vec<BTreeMap<&'a str, &'a Entry>>,
    absent: BTreeSet<&'a str>,
}

impl<'a> Recorded<'a> {
    fn new(desired: &'a Desired, last: Option<&'a Manifest>, pending: &[&'a Manifest]) -> Self {
        fn by_path(manifest: &Manifest) -> BTreeMap<&str, &Entry> {
            manifest
                .entries
                .iter()
                .map(|entry| (entry.path.as_str(), entry))
                .collect()
        }
        Recorded {
            last: last.map(by_path).unwrap_or_default(),
            pending: pending.iter().map(|manifest| by_path(manifest)).collect(),
            absent: desired
                .manifest
                .iter()
                .flat_map(|manifest| &manifest.absent)
                .map(String::as_str)
                .collect(),
        }
    }

    /// Every path the bundle or a record names, in order.
    fn paths(&self, desired: &'a Desired) -> BTreeSet<&'a str> {
        desired
            .files
            .keys()
            .map(String::as_str)
            .chain(self.last.keys().copied())
            .chain(
                self.pending
                    .iter()
                    .flat_map(|entries| entries.keys().copied()),
            )
            .chain(self.absent.iter().copied())
            .collect()
    }
}

impl Plan {
    /// What `path` needs: its change, drift, and its action when due.
    fn add(
        &mut self,
        path: &str,
        desired: &Desired,
        current: Option<&HostFile>,
        records: &Recorded<'_>,
        set_owner: bool,
    ) {
        let want = desired.files.get(path);
        let recorded = records.last.get(path);
        let on_host = current.map(|file| file.blake3.as_str());
        // A pending push that would leave the host's file (or its absence) as it is.
        let pending_match = records
            .pending
            .iter()
            .find(|entries| entries.get(path).map(|entry| entry.blake3.as_str()) == on_host)
            .map(|entries| entries.get(path).copied());
        let landed = pending_match.flatten();
        // A path that only pending pushes name is lugc's only where one of them landed.
        if want.is_none() && recorded.is_none() && landed.is_none() {
            return;
        }
        let change = change(path, want, current, set_owner);
        if let Some(entry) = recorded {
            let wanted = want.map(|want| want.blake3.as_str());
            if on_host != Some(entry.blake3.as_str())
                && on_host != wanted
                && pending_match.is_none()
            {
                self.drift.push(path.to_owned());
            }
        }
        let wanted = want.map(|want| want.entry(path));
        if change.is_some() || action_due(recorded.copied(), wanted.as_ref()) {
            self.due.push(path.to_owned());
            let action = match (want, recorded) {
                (Some(want), _) => want.action.clone(),
                (None, Some(entry)) => entry.action.clone(),
                (None, None) => landed.and_then(|entry| entry.action.clone()),
            };
            if let Some(action) = action.filter(|action| !self.actions.contains(action)) {
                self.actions.push(action);
            }
        }
        if let Some(change) = change {
            self.changes.push((path.to_owned(), change));
        }
    }
}

/// The host paths a push reads: the bundle's, and those lugc's records name.
pub fn concerned(desired: &Desired, records: &Records) -> Vec<String> {
    let recorded = records
        .last
        .iter()
        .map(|last| &last.manifest)
        .chain(records.pending_manifests())
        .flat_map(|manifest| &manifest.entries)
        .map(|entry| entry.path.clone());
    let absent = desired
        .manifest
        .iter()
        .flat_map(|manifest| &manifest.absent)
        .cloned();
    let paths: BTreeSet<String> = desired
        .files
        .keys()
        .cloned()
        .chain(recorded)
        .chain(absent)
        .collect();
    paths.into_iter().collect()
}

/// How the host's file at `path` (`None`: no file) changes to become `want`
/// (`None`: no file); mode and owner count off pmxcfs, owner with `set_owner`.
pub fn change(
    path: &str,
    want: Option<&Want>,
    current: Option<&HostFile>,
    set_owner: bool,
) -> Option<Change> {
    let metadata_differs = |want: &Want, file: &HostFile| {
        !on_pmxcfs(path) && (want.mode != file.mode || (set_owner && want.owner != file.owner))
    };
    match (want, current) {
        (Some(_), None) => Some(Change::Add),
        (Some(want), Some(file)) if want.blake3 != file.blake3 => Some(Change::Modify),
        (Some(want), Some(file)) if metadata_differs(want, file) => Some(Change::Metadata),
        (None, Some(_)) => Some(Change::Remove),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHRONY: &str = "/etc/chrony/chrony.conf";

    fn want(content: &str, action: Option<&str>) -> Want {
        Want {
            bytes: content.as_bytes().to_vec(),
            blake3: blake3::hash(content.as_bytes()).to_hex().to_string(),
            mode: 0o644,
            owner: "root:root".into(),
            action: action.map(str::to_owned),
        }
    }

    fn on_host(content: &str) -> HostFile {
        HostFile {
            blake3: blake3::hash(content.as_bytes()).to_hex().to_string(),
            mode: 0o644,
            owner: "root:root".into(),
        }
    }

    fn desired(files: &[(&str, Want)]) -> Desired {
        let files: BTreeMap<String, Want> = files
            .iter()
            .map(|(path, want)| ((*path).to_owned(), want.clone()))
            .collect();
        let entries = files.iter().map(|(path, want)| want.entry(path)).collect();
        Desired {
            bundle: "pve-5".into(),
            manifest: Some(Manifest {
                bundle: "pve-5".into(),
                reaches: vec!["pve-5".into()],
                entries,
                ..Manifest::default()
            }),
            files,
            confirm: Vec::new(),
            undoes: Vec::new(),
        }
    }

    fn host(files: &[(&str, HostFile)]) -> BTreeMap<String, HostFile> {
        files
            .iter()
            .map(|(path, file)| ((*path).to_owned(), file.clone()))
            .collect()
    }

    const RESTART: &str = "systemctl restart chrony.service";

    /// The plan as push shows it: each kind of change, drift, a file that
    /// must not exist, pmxcfs, and an action run under a revert.
    #[test]
    fn the_plan_is_drawn_whole() {
        const INTERFACES: &str = "/etc/network/interfaces";
        const IFRELOAD: &str = "ifreload -a";
        const NEW: &str = "/etc/network/interfaces.new";
        let old = desired(&[
            (CHRONY, want("a", Some(RESTART))),
            ("/etc/motd", want("hi", None)),
            ("/etc/old", want("old", None)),
        ]);
        let mut new = desired(&[
            (CHRONY, want("b", Some(RESTART))),
            (INTERFACES, want("auto lo", Some(IFRELOAD))),
            (
                "/etc/motd",
                Want {
                    mode: 0o600,
                    ..want("hi", None)
                },
            ),
            (crate::pve::STORAGE_CFG, want("dir: local", None)),
        ]);
        new.confirm = vec![IFRELOAD.to_owned()];
        new.manifest.as_mut().unwrap().absent = vec![NEW.to_owned()];
        let found = host(&[
            (CHRONY, on_host("edited by hand")),
            ("/etc/motd", on_host("hi")),
            ("/etc/old", on_host("old")),
            (NEW, on_host("from the web UI")),
        ]);
        let plan = plan(&new, &found, old.manifest.as_ref(), &[], true);
        insta::assert_snapshot!(plan.render(&new, "  [drift: changed on the host]"));
        insta::assert_snapshot!("nothing_to_do", Plan::default().render(&new, ""));
    }

    /// `lugc diff` announces exactly the actions push runs, for every kind
    /// of change between two pushes: content, mode, the action alone, a
    /// file added and one removed.
    #[test]
    fn diff_announces_the_actions_push_runs() {
        use crate::diff::{BundleChange, Content, FileChange};
        let cases: [(Option<Want>, Option<Want>); 5] = [
            (Some(want("a", Some("one"))), Some(want("b", Some("one")))),
            (
                Some(want("a", Some("one"))),
                Some(Want {
                    mode: 0o600,
                    ..want("a", Some("one"))
                }),
            ),
            (Some(want("a", Some("one"))), Some(want("a", Some("two")))),
            (None, Some(want("a", Some("one")))),
            (Some(want("a", Some("one"))), None),
        ];
        for (old, new) in cases {
            let old_desired = desired(&old.iter().map(|w| (CHRONY, w.clone())).collect::<Vec<_>>());
            let new_desired = desired(&new.iter().map(|w| (CHRONY, w.clone())).collect::<Vec<_>>());
            let last = old_desired.manifest.as_ref();
            let found = host(
                &old.iter()
                    .map(|w| {
                        (
                            CHRONY,
                            HostFile {
                                blake3: w.blake3.clone(),
                                mode: w.mode,
                                owner: w.owner.clone(),
                            },
                        )
                    })
                    .collect::<Vec<_>>(),
            );
            let pushed = plan(&new_desired, &found, last, &[], true).actions;
            let entry = |side: &Option<Want>| side.as_ref().map(|w| w.entry(CHRONY));
            let files: Vec<FileChange> = (entry(&old) != entry(&new))
                .then(|| FileChange::new(CHRONY, entry(&old), entry(&new), Content::Same))
                .into_iter()
                .collect();
            let announced = BundleChange::new(
                "pve-5",
                Some("old".into()),
                Some("new".into()),
                Vec::new(),
                files,
            )
            .actions;
            assert_eq!(announced, pushed, "{old:?} -> {new:?}");
        }
    }

    #[test]
    fn a_large_file_is_recognised_by_its_hash_alone() {
        let chrony = want("server time.ustc.edu.cn iburst\n", None);
        let desired = desired(&[(CHRONY, chrony.clone()), ("/etc/motd", want("hi\n", None))]);
        let mut found = Found::default();
        for (path, sha256) in [
            (CHRONY, probe::sha256(&chrony.bytes)),
            ("/etc/motd", "0".repeat(64)),
        ] {
            let file = HostFile {
                blake3: format!("sha256:{sha256}"),
                ..on_host("")
            };
            found.files.insert(path.to_owned(), file);
            found.large.insert(path.to_owned(), 1 << 30);
        }
        recognise(&mut found, &desired);
        assert_eq!(found.files[CHRONY].blake3, chrony.blake3);
        assert_eq!(
            found.files["/etc/motd"].blake3,
            format!("sha256:{}", "0".repeat(64))
        );
    }

    #[test]
    fn first_push_adds_and_runs_the_action() {
        let new = desired(&[(CHRONY, want("a", Some(RESTART)))]);
        let plan = plan(&new, &BTreeMap::new(), None, &[], true);
        assert_eq!(plan.changes, vec![(CHRONY.to_owned(), Change::Add)]);
        assert_eq!(plan.actions, vec![RESTART.to_owned()]);
        assert!(plan.drift.is_empty());
    }

    #[test]
    fn a_file_at_an_absent_path_is_unwanted_and_removed() {
        const NEW: &str = "/etc/network/interfaces.new";
        let mut new = desired(&[(CHRONY, want("a", None))]);
        new.manifest.as_mut().unwrap().absent = vec![NEW.to_owned()];
        let found = host(&[(CHRONY, on_host("a")), (NEW, on_host("from the web UI"))]);
        let plan = plan(&new, &found, new.manifest.as_ref(), &[], true);
        assert_eq!(plan.unwanted, vec![NEW.to_owned()]);
        assert_eq!(plan.changes, vec![(NEW.to_owned(), Change::Remove)]);
        assert!(plan.drift.is_empty() && plan.actions.is_empty(), "{plan:?}");

        let found = host(&[(CHRONY, on_host("a"))]);
        assert!(super::plan(&new, &found, new.manifest.as_ref(), &[], true).is_empty());
    }

    #[test]
    fn a_pushed_bundle_plans_nothing() {
        let new = desired(&[(CHRONY, want("a", Some(RESTART)))]);
        let plan = plan(
            &new,
            &host(&[(CHRONY, on_host("a"))]),
            new.manifest.as_ref(),
            &[],
            true,
        );
        assert!(plan.is_empty(), "{plan:?}");
    }

    #[test]
    fn an_edit_on_the_host_is_drift() {
        let old = desired(&[(CHRONY, want("a", Some(RESTART)))]);
        let new = desired(&[(CHRONY, want("b", Some(RESTART)))]);
        let plan = plan(
            &new,
            &host(&[(CHRONY, on_host("edited"))]),
            old.manifest.as_ref(),
            &[],
            true,
        );
        assert_eq!(plan.drift, vec![CHRONY.to_owned()]);
        assert_eq!(plan.changes, vec![(CHRONY.to_owned(), Change::Modify)]);
    }

    #[test]
    fn a_half_done_push_is_not_drift_and_reruns_its_actions() {
        let old = desired(&[(CHRONY, want("a", Some(RESTART)))]);
        let new = desired(&[(CHRONY, want("b", Some(RESTART)))]);
        let plan = plan(
            &new,
            &host(&[(CHRONY, on_host("b"))]),
            old.manifest.as_ref(),
            &[],
            true,
        );
        assert!(plan.drift.is_empty());
        assert!(plan.changes.is_empty());
        assert_eq!(plan.actions, vec![RESTART.to_owned()]);
    }

    #[test]
    fn what_a_cut_short_push_wrote_is_not_drift() {
        let old = desired(&[
            (CHRONY, want("a", Some(RESTART))),
            ("/etc/gone", want("g", None)),
        ]);
        let cut = desired(&[(CHRONY, want("b", Some(RESTART)))]);
        let new = desired(&[
            (CHRONY, want("c", Some(RESTART))),
            ("/etc/gone", want("g2", None)),
        ]);
        let cut_manifest = cut.manifest.as_ref().unwrap();
        let files = host(&[(CHRONY, on_host("b"))]);
        let plan = plan(&new, &files, old.manifest.as_ref(), &[cut_manifest], true);
        assert!(plan.drift.is_empty(), "{plan:?}");
        assert_eq!(
            plan.changes,
            vec![
                (CHRONY.to_owned(), Change::Modify),
                ("/etc/gone".to_owned(), Change::Add)
            ]
        );
        assert_eq!(plan.actions, vec![RESTART.to_owned()]);

        let without = super::plan(&new, &files, old.manifest.as_ref(), &[], true);
        assert_eq!(
            without.drift,
            vec![CHRONY.to_owned(), "/etc/gone".to_owned()]
        );
    }

    #[test]
    fn a_file_only_a_cut_short_push_named_is_removed_where_it_landed() {
        let cut = desired(&[
            ("/etc/x", want("x", Some("reload x"))),
            ("/etc/y", want("y", Some("reload y"))),
        ]);
        let files = host(&[("/etc/x", on_host("x")), ("/etc/y", on_host("theirs"))]);
        let plan = plan(
            &desired(&[]),
            &files,
            None,
            &[cut.manifest.as_ref().unwrap()],
            true,
        );
        assert_eq!(plan.changes, vec![("/etc/x".to_owned(), Change::Remove)]);
        assert_eq!(plan.actions, vec!["reload x".to_owned()]);
        assert!(plan.drift.is_empty());
    }

    #[test]
    fn a_file_dropped_from_the_bundle_is_removed_with_its_action() {
        let old = desired(&[
            ("/etc/a", want("a", Some("x"))),
            ("/etc/b", want("b", None)),
        ]);
        let new = desired(&[("/etc/b", want("b", None))]);
        let plan = plan(
            &new,
            &host(&[("/etc/a", on_host("a")), ("/etc/b", on_host("b"))]),
            old.manifest.as_ref(),
            &[],
            true,
        );
        assert_eq!(plan.changes, vec![("/etc/a".to_owned(), Change::Remove)]);
        assert_eq!(plan.actions, vec!["x".to_owned()]);
    }

    #[test]
    fn actions_run_once_in_path_order() {
        let new = desired(&[
            ("/etc/a", want("a", Some("second"))),
            ("/etc/0", want("0", Some("first"))),
            ("/etc/b", want("b", Some("second"))),
        ]);
        let plan = plan(&new, &BTreeMap::new(), None, &[], true);
        assert_eq!(plan.actions, vec!["first".to_owned(), "second".to_owned()]);
    }

    #[test]
    fn mode_and_owner_are_ignored_on_pmxcfs_and_owner_without_root() {
        let path = "/etc/pve/storage.cfg";
        let new = desired(&[(path, want("s", None)), ("/etc/x", want("x", None))]);
        let mut pve = on_host("s");
        pve.mode = 0o640;
        pve.owner = "root:www-data".into();
        let mut x = on_host("x");
        x.owner = "nobody:nogroup".into();
        let files = host(&[(path, pve), ("/etc/x", x)]);
        assert!(plan(&new, &files, new.manifest.as_ref(), &[], false).is_empty());
        let with_owner = plan(&new, &files, new.manifest.as_ref(), &[], true);
        assert_eq!(
            with_owner.changes,
            vec![("/etc/x".to_owned(), Change::Metadata)]
        );
    }
}
