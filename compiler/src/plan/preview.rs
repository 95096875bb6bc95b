//! plan::preview: a plan's file changes as a `diff::BundleChange`, the
//! host's current files against the bundle's, so that a dry run (and
//! `lugc status --diff`) draws them as `lugc diff` does: unified diffs,
//! `--stat`, `--name-only`, `--json`.
//!
//! In: the desired state, what the probe found on the host (with content),
//! the plan. Out: one `BundleChange`. Content that may be secret (a path the
//! fleet marks, or text that looks like a key or password on either side)
//! becomes `Content::Hidden`: its lines are counted, never copied. Pure.

use crate::diff::{BundleChange, Content, FileChange};
use crate::host::probe::Found;
use crate::manifest::Entry;
use crate::plan::{on_pmxcfs, Change, Desired, Plan};
use crate::secret;

/// What the preview needs besides the plan.
pub struct Sides<'a> {
    pub desired: &'a Desired,
    pub found: &'a Found,
    /// The MANIFEST last pushed to the host, for the actions of its files.
    pub last: Option<&'a crate::manifest::Manifest>,
    /// Id of the bundle last pushed, and of the desired one.
    pub old_id: Option<String>,
    pub new_id: Option<String>,
    /// The host the bundle lands on (the cluster bundle's first member).
    pub host: &'a str,
    /// Whether owners count (the remote user is root).
    pub set_owner: bool,
    /// Path prefixes whose content is never shown.
    pub secret_paths: &'a [String],
}

/// The plan's changes as one bundle change, its actions those the push runs.
pub fn bundle_change(sides: &Sides<'_>, plan: &Plan) -> BundleChange {
    let files = plan
        .changes
        .iter()
        .map(|(path, change)| file_change(sides, path, *change))
        .collect();
    let reaches = sides
        .desired
        .manifest
        .as_ref()
        .map(|manifest| manifest.reaches.clone())
        .filter(|reaches| !reaches.is_empty())
        .unwrap_or_else(|| vec![sides.host.to_owned()]);
    let mut bundle = BundleChange::new(
        sides.desired.bundle.clone(),
        sides.old_id.clone(),
        sides.new_id.clone(),
        reaches,
        files,
    );
    bundle.actions = plan.actions.clone();
    bundle
}

fn file_change(sides: &Sides<'_>, path: &str, change: Change) -> FileChange {
    let want = sides
        .desired
        .files
        .get(path)
        .filter(|_| change != Change::Remove);
    let new = want.map(|want| (want.entry(path), want.bytes.as_slice()));
    let recorded_action = sides.last.and_then(|manifest| {
        manifest
            .entries
            .iter()
            .find(|entry| entry.path == path)
            .map(|entry| entry.action.clone())
    });
    let old = sides.found.files.get(path).map(|file| {
        let mut entry = Entry {
            blake3: file.blake3.clone(),
            mode: file.mode,
            owner: file.owner.clone(),
            path: path.to_owned(),
            // The host knows no actions: that of the last push, else the new one.
            action: recorded_action
                .clone()
                .unwrap_or_else(|| want.and_then(|want| want.action.clone())),
        };
        // Metadata that push does not set is not a change.
        if let Some(want) = want {
            if on_pmxcfs(path) {
                entry.mode = want.mode;
                entry.owner.clone_from(&want.owner);
            } else if !sides.set_owner {
                entry.owner.clone_from(&want.owner);
            }
        }
        let bytes = sides
            .found
            .contents
            .get(path)
            .map_or(&[][..], Vec::as_slice);
        (entry, bytes)
    });
    let mut file = FileChange::between(
        path,
        old.as_ref().map(|(entry, bytes)| (entry, *bytes)),
        new.as_ref().map(|(entry, bytes)| (entry, *bytes)),
    );
    let sides_bytes: Vec<&[u8]> = old
        .iter()
        .map(|(_, bytes)| *bytes)
        .chain(new.iter().map(|(_, bytes)| *bytes))
        .collect();
    if secret::hidden(path, sides.secret_paths, &sides_bytes) {
        file.content = file.content.hidden();
    }
    if let Some(size) = sides.found.large.get(path) {
        // Hashed on the host, never read: no diff to show.
        file.content = Content::TooLarge {
            old_bytes: usize::try_from(*size).unwrap_or(usize::MAX),
            new_bytes: want.map_or(0, |want| want.bytes.len()),
        };
    }
    file
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::diff::{Content, Status};
    use crate::host::HostFile;
    use crate::manifest::Manifest;
    use crate::plan::{plan, Want};

    fn want(content: &str) -> Want {
        Want {
            bytes: content.as_bytes().to_vec(),
            blake3: blake3::hash(content.as_bytes()).to_hex().to_string(),
            mode: 0o644,
            owner: "root:root".into(),
            action: Some("systemctl restart chrony.service".into()),
        }
    }

    fn found(files: &[(&str, &str, u32)]) -> Found {
        let mut found = Found::default();
        for (path, content, mode) in files {
            found.files.insert(
                (*path).to_owned(),
                HostFile {
                    blake3: blake3::hash(content.as_bytes()).to_hex().to_string(),
                    mode: *mode,
                    owner: "root:root".into(),
                },
            );
            found
                .contents
                .insert((*path).to_owned(), content.as_bytes().to_vec());
        }
        found
    }

    fn desired(files: &[(&str, &str)]) -> Desired {
        let files: BTreeMap<String, Want> = files
            .iter()
            .map(|(path, content)| ((*path).to_owned(), want(content)))
            .collect();
        Desired {
            bundle: "pve-5".into(),
            manifest: Some(Manifest {
                bundle: "pve-5".into(),
                reaches: vec!["pve-5".into()],
                entries: files.iter().map(|(path, want)| want.entry(path)).collect(),
                ..Manifest::default()
            }),
            files,
            confirm: Vec::new(),
            undoes: Vec::new(),
        }
    }

    fn preview(desired: &Desired, found: &Found) -> BundleChange {
        let plan = plan(desired, &found.files, None, &[], true);
        let sides = Sides {
            desired,
            found,
            last: None,
            old_id: None,
            new_id: Some("b".repeat(64)),
            host: "pve-5",
            set_owner: true,
            secret_paths: &["/etc/pve/priv/".to_owned()],
        };
        bundle_change(&sides, &plan)
    }

    #[test]
    fn host_files_against_the_bundle() {
        let desired = desired(&[
            (
                "/etc/chrony/chrony.conf",
                "server time.ustc.edu.cn iburst\n",
            ),
            ("/etc/hosts", "127.0.0.1 localhost\n"),
            ("/etc/motd", "hello\n"),
        ]);
        let found = found(&[
            (
                "/etc/chrony/chrony.conf",
                "pool 2.debian.pool.ntp.org iburst\n",
                0o644,
            ),
            ("/etc/motd", "hello\n", 0o600),
        ]);
        let bundle = preview(&desired, &found);
        let by_path: BTreeMap<&str, &FileChange> = bundle
            .files
            .iter()
            .map(|file| (file.path.as_str(), file))
            .collect();
        let chrony = by_path["/etc/chrony/chrony.conf"];
        assert_eq!(chrony.status, Status::Modified);
        let Content::Text { hunks, .. } = &chrony.content else {
            panic!("{chrony:?}")
        };
        assert!(
            hunks.contains("-pool 2.debian.pool.ntp.org iburst"),
            "{hunks}"
        );
        assert!(hunks.contains("+server time.ustc.edu.cn iburst"), "{hunks}");
        assert_eq!(by_path["/etc/hosts"].status, Status::Added);
        let motd = by_path["/etc/motd"];
        assert_eq!(motd.content, Content::Same);
        assert_eq!(motd.old.as_ref().unwrap().mode, 0o600);
        assert_eq!(bundle.actions, ["systemctl restart chrony.service"]);
    }

    #[test]
    fn a_key_on_the_host_side_is_counted_never_shown() {
        let desired = desired(&[("/etc/ssh/notes", "nothing\n")]);
        let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAB3NzaC1yc2E\n-----END OPENSSH PRIVATE KEY-----\n";
        let found = found(&[("/etc/ssh/notes", key, 0o644)]);
        let bundle = preview(&desired, &found);
        assert_eq!(
            bundle.files[0].content,
            Content::Hidden {
                added: 1,
                removed: 3
            }
        );
        let marked = self::desired(&[("/etc/pve/priv/token", "plain\n")]);
        let bundle = preview(&marked, &Found::default());
        assert!(matches!(bundle.files[0].content, Content::Hidden { .. }));
    }
}
