//! push: deliver one bundle of out/ to a host with rsync over ssh, or roll
//! the host back to the bundle the last push replaced.
//!
//! In: a `Desired` state (read from out/ by `desired_from_out`, or rebuilt
//! from the host's backups by `rollback`) and a `Remote`. Steps: `state::probe`
//! reads lugc's records and the files' metadata on the host, `Remote::fetch`
//! brings their contents, `plan::plan` compares (drift blocks unless
//! `force`), and with `apply` the push is recorded as pending, the files go
//! over with rsync (replaced ones kept under the backup key), the due actions
//! run (`actions`), and the new MANIFEST is written last (see `state` for how
//! a push cut short is completed). Only `transport` spawns ssh or rsync;
//! `guard` holds the checks on out/ that come before any of this.

pub mod actions;
pub mod error;
pub mod guard;
pub mod plan;
pub mod state;
pub mod transport;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::Path;

pub use error::{BoxedPushError, PushError};
use plan::{on_pmxcfs, Desired, HostFile, Plan, Want, PMXCFS_MAX};
use state::Probe;
use transport::Metadata;
pub use transport::Remote;

use crate::manifest::Manifest;

/// How far a push goes.
#[derive(Debug, Clone)]
pub struct Options {
    /// Apply the plan; without it nothing on the host changes.
    pub apply: bool,
    /// Overwrite drift.
    pub force: bool,
    /// Program that runs an action on the host, given the action as one argument.
    pub runner: String,
}

/// The bundle `name` as out/ holds it, checked against its MANIFEST and pmxcfs' size limit.
/// (Which bundles may write under /etc/pve is `validate`'s business.)
pub fn desired_from_out(out: &Path, name: &str) -> Result<Desired, PushError> {
    // Never through a symbolic link, even one swapped in after the guard.
    let read = |relative: &Path| {
        crate::write::read_below(out, relative)
            .map(|(bytes, _)| bytes)
            .map_err(PushError::io(&out.join(relative)))
    };
    let corrupt = |path: &str| PushError::CorruptOut {
        out: out.to_path_buf(),
        path: path.to_owned(),
    };
    let root = Path::new(name);
    let text = String::from_utf8(read(&root.join("MANIFEST"))?).map_err(|_| corrupt("MANIFEST"))?;
    let manifest = Manifest::parse(&text).map_err(|_| corrupt("MANIFEST"))?;
    let mut files = BTreeMap::new();
    for entry in &manifest.entries {
        let bytes = read(&root.join(entry.path.trim_start_matches('/')))?;
        if blake3::hash(&bytes).to_hex().as_str() != entry.blake3 {
            return Err(corrupt(&entry.path));
        }
        if on_pmxcfs(&entry.path) && bytes.len() > PMXCFS_MAX {
            return Err(PushError::PmxcfsTooLarge {
                path: entry.path.clone(),
                size: bytes.len(),
            });
        }
        let want = Want {
            bytes,
            blake3: entry.blake3.clone(),
            mode: entry.mode,
            owner: entry.owner.clone(),
            action: entry.action.clone(),
        };
        files.insert(entry.path.clone(), want);
    }
    Ok(Desired {
        bundle: name.to_owned(),
        manifest: Some(manifest),
        files,
    })
}

/// Show what pushing `desired` to `host` would change, and with `options.apply` do it.
pub fn push(
    remote: &Remote,
    host: &str,
    desired: &Desired,
    options: &Options,
    out: &mut dyn Write,
) -> Result<(), PushError> {
    let paths: Vec<String> = desired.files.keys().cloned().collect();
    let probe = state::probe(remote, host, &desired.bundle, &paths)?;
    refuse_irregular(host, &probe)?;
    let mut wanted: BTreeSet<String> = paths.into_iter().collect();
    for recorded in probe.last.iter().chain(&probe.pending) {
        wanted.extend(
            recorded
                .manifest
                .entries
                .iter()
                .map(|entry| entry.path.clone()),
        );
    }
    let work = workdir()?;
    let fetched = work.path().join("host");
    let wanted: Vec<String> = wanted.into_iter().collect();
    remote.fetch(&wanted, &fetched)?;
    let host_files = read_fetched(&fetched, &wanted, &probe)?;
    deliver(remote, host, desired, &probe, &host_files, options, out)
}

/// Restore the bundle that the last push to `host` replaced, as recorded in
/// its backup: each file from the host if it still has the recorded content,
/// else from the backup; files that push added are removed. When pushes were
/// cut short since the last complete one, that one is restored instead.
pub fn rollback(
    remote: &Remote,
    host: &str,
    bundle: &str,
    options: &Options,
    out: &mut dyn Write,
) -> Result<(), PushError> {
    let nothing = |reason: &str| PushError::NothingToRollBack {
        host: host.to_owned(),
        reason: reason.to_owned(),
    };
    let first = state::probe(remote, host, bundle, &[])?;
    // Undo the pushes cut short if there are any, else the last complete one.
    let cut_short = !first.pending.is_empty();
    let (key, previous, undone) = if cut_short {
        let last = first.last.as_ref();
        let undone: Vec<&Manifest> = first.pending.iter().map(|r| &r.manifest).collect();
        (
            state::backup_key(bundle, last),
            last.map(|recorded| recorded.manifest.clone()),
            undone,
        )
    } else {
        let last = first
            .last
            .as_ref()
            .ok_or_else(|| nothing(&format!("no push of bundle `{bundle}` is recorded there")))?;
        let key = first
            .previous
            .clone()
            .ok_or_else(|| nothing("the last push recorded no previous bundle"))?;
        let previous = if key.starts_with(state::INITIAL) {
            None
        } else {
            let recorded = first
                .previous_manifest
                .clone()
                .filter(|recorded| recorded.id == key)
                .ok_or_else(|| PushError::RemoteState {
                    host: host.to_owned(),
                    reason: format!(
                        "{} is missing or damaged",
                        state::backup_manifest_path(&key)
                    ),
                })?;
            Some(recorded.manifest)
        };
        (key, previous, vec![&last.manifest])
    };
    let backup = state::backup_files(&key);
    let mut paths: BTreeSet<String> = undone
        .iter()
        .flat_map(|manifest| &manifest.entries)
        .map(|entry| entry.path.clone())
        .collect();
    if let Some(previous) = &previous {
        paths.extend(previous.entries.iter().map(|entry| entry.path.clone()));
    }
    let backups: Vec<String> = paths.iter().map(|path| format!("{backup}{path}")).collect();
    let everything: Vec<String> = paths.iter().cloned().chain(backups).collect();
    let probe = state::probe(remote, host, bundle, &everything)?;
    refuse_irregular(host, &probe)?;
    let work = workdir()?;
    let fetched = work.path().join("host");
    remote.fetch(&everything, &fetched)?;
    let copies = read_fetched(&fetched, &everything, &probe)?;
    let read = |path: &str| {
        let file = fetched.join(path.trim_start_matches('/'));
        fs::read(&file).map_err(PushError::io(file))
    };

    let mut files = BTreeMap::new();
    for entry in previous.iter().flat_map(|manifest| &manifest.entries) {
        let backed_up = format!("{backup}{}", entry.path);
        let recorded = |path: &&String| {
            copies
                .get(*path)
                .is_some_and(|file| file.blake3 == entry.blake3)
        };
        // With --force, the copy that the rolled-back push kept is restored
        // even when it is not what lugc recorded (the host had drifted).
        let kept = |path: &&String| options.force && copies.contains_key(*path);
        let (source, copy) = [&entry.path, &backed_up]
            .into_iter()
            .find(recorded)
            .or_else(|| Some(&backed_up).filter(kept))
            .and_then(|path| Some((path, copies.get(path)?)))
            .ok_or_else(|| PushError::RollbackMissing {
                host: host.to_owned(),
                path: entry.path.clone(),
            })?;
        let want = Want {
            bytes: read(source)?,
            blake3: copy.blake3.clone(),
            mode: entry.mode,
            owner: entry.owner.clone(),
            action: entry.action.clone(),
        };
        files.insert(entry.path.clone(), want);
    }
    // Files the rolled-back push replaced without lugc having written them
    // before: put back what was there (for a push cut short, only where it landed).
    for entry in undone.iter().flat_map(|manifest| &manifest.entries) {
        let backed_up = format!("{backup}{}", entry.path);
        let landed = copies
            .get(&entry.path)
            .is_some_and(|file| file.blake3 == entry.blake3);
        if cut_short && !landed {
            continue;
        }
        if let (false, Some(copy)) = (files.contains_key(&entry.path), copies.get(&backed_up)) {
            let want = Want {
                bytes: read(&backed_up)?,
                blake3: copy.blake3.clone(),
                mode: copy.mode,
                owner: copy.owner.clone(),
                action: entry.action.clone(),
            };
            files.insert(entry.path.clone(), want);
        }
    }
    let desired = Desired {
        bundle: bundle.to_owned(),
        manifest: previous,
        files,
    };
    let host_files = copies
        .into_iter()
        .filter(|(path, _)| paths.contains(path))
        .collect();
    deliver(remote, host, &desired, &probe, &host_files, options, out)
}

/// Plan, show, and with `options.apply` carry out the plan.
fn deliver(
    remote: &Remote,
    host: &str,
    desired: &Desired,
    probe: &Probe,
    host_files: &BTreeMap<String, HostFile>,
    options: &Options,
    out: &mut dyn Write,
) -> Result<(), PushError> {
    let last = probe.last.as_ref();
    let pending: Vec<&Manifest> = probe.pending.iter().map(|r| &r.manifest).collect();
    let plan = plan::plan(
        desired,
        host_files,
        last.map(|recorded| &recorded.manifest),
        &pending,
        probe.root_user,
    );
    let new_text = desired.manifest.as_ref().map(Manifest::render);
    let new_id = new_text.as_deref().map_or_else(
        || "none".to_owned(),
        |text| crate::manifest::bundle_id(text.as_bytes()),
    );
    let old_id = last.map_or("none", |recorded| recorded.id.as_str());
    let show = |out: &mut dyn Write, text: &str| {
        out.write_all(text.as_bytes())
            .map_err(PushError::io("standard output"))
    };
    let through = if desired.bundle == host {
        String::new()
    } else {
        format!(" through {host}")
    };
    let root = if remote.root.is_empty() {
        String::new()
    } else {
        format!(":{}", remote.root)
    };
    show(
        out,
        &format!(
            "{}{through} ({}{root}): bundle {} -> {}\n",
            desired.bundle,
            remote.target,
            short(old_id),
            short(&new_id)
        ),
    )?;
    if !probe.pending.is_empty() {
        let ids: Vec<&str> = probe.pending.iter().map(|r| short(&r.id)).collect();
        show(
            out,
            &format!(
                "  cut short: a push of bundle {} did not finish; the files it wrote are not drift\n",
                ids.join(", ")
            ),
        )?;
    }
    let up_to_date = plan.is_empty()
        && last.map(|recorded| &recorded.text) == new_text.as_ref()
        && !probe.pending_record;
    if up_to_date {
        return show(out, "  up to date: nothing to transfer, no action to run\n");
    }
    let drift_note = if options.force {
        "  [drift: overwritten by --force]"
    } else {
        "  [drift]"
    };
    show(out, &plan.render(desired, drift_note))?;
    if !plan.drift.is_empty() && !options.force {
        return Err(PushError::Drift {
            host: host.to_owned(),
            paths: plan.drift.clone(),
        });
    }
    if !options.apply {
        return show(out, "  dry run: nothing was changed; pass --yes to apply\n");
    }
    apply(
        remote,
        host,
        desired,
        probe,
        &plan,
        new_text.as_deref(),
        options,
        out,
    )?;
    show(
        out,
        &format!(
            "  done: {} {} is in place on {host}\n",
            desired.bundle,
            short(&new_id)
        ),
    )
}

#[allow(clippy::too_many_arguments)]
fn apply(
    remote: &Remote,
    host: &str,
    desired: &Desired,
    probe: &Probe,
    plan: &Plan,
    new_text: Option<&str>,
    options: &Options,
    out: &mut dyn Write,
) -> Result<(), PushError> {
    let last = probe.last.as_ref();
    let key = state::backup_key(&desired.bundle, last);
    if plan.changes.iter().any(|(path, _)| on_pmxcfs(path)) {
        state::check_quorum(remote)?;
    }
    let owner_of = |want: &Want| probe.root_user.then(|| want.owner.clone());
    let work = workdir()?;
    let stage = work.path().join("stage");
    let last_text = last.map(|recorded| recorded.text.as_str());
    // Before any file moves: the backup's MANIFEST, and this push as pending.
    let mut state_files: Vec<(String, Option<String>)> = Vec::new();
    if let Some(text) = last_text {
        state_files.push((state::backup_manifest_path(&key), Some(text.to_owned())));
    }
    let this = desired.pending_manifest().render();
    let mut pending: Vec<&str> = probe.pending.iter().map(|r| r.text.as_str()).collect();
    if Some(this.as_str()) != last_text && !pending.contains(&this.as_str()) {
        pending.push(&this);
    }
    if !pending.is_empty() {
        let record = state::pending_record(&pending);
        state_files.push((state::pending_path(&desired.bundle), Some(record)));
    }
    put_state(remote, &stage, &state_files, probe.root_user)?;

    // A file a pending push wrote goes without a backup copy, so that the
    // copy of the last complete bundle's file stays.
    let mut groups: BTreeMap<(Metadata, bool), Vec<&str>> = BTreeMap::new();
    let backed_up = |path: &str| !plan.pending.iter().any(|pending| pending == path);
    for path in plan.writes() {
        let want = &desired.files[path];
        let file = stage.join(path.trim_start_matches('/'));
        write_file(&file, &want.bytes)?;
        let metadata = if on_pmxcfs(path) {
            Metadata::ContentOnly
        } else {
            Metadata::Set {
                mode: want.mode,
                owner: owner_of(want),
            }
        };
        groups
            .entry((metadata, backed_up(path)))
            .or_default()
            .push(path);
    }
    for path in plan.removals() {
        groups
            .entry((Metadata::ContentOnly, backed_up(path)))
            .or_default()
            .push(path);
    }
    let backup = state::backup_files(&key);
    for ((metadata, backed_up), paths) in &groups {
        let backup_dir = backed_up.then_some(backup.as_str());
        remote.put(&stage, paths, metadata, backup_dir)?;
    }
    let written = plan.writes().count();
    let removed = plan.removals().count();
    if written + removed > 0 {
        out.write_all(
            format!(
                "  transferred {written} file(s), removed {removed}; replaced files kept in {}\n",
                remote.path(&state::backup_files(&key))
            )
            .as_bytes(),
        )
        .map_err(PushError::io("standard output"))?;
    }

    actions::run(remote, &options.runner, host, &plan.actions, out)?;

    // PREVIOUS changes with MANIFEST only: completing a push cut short or
    // undoing it keeps the record of the bundle before the last one.
    if new_text != last_text {
        let records = vec![
            (
                state::previous_path(&desired.bundle),
                Some(format!("{key}\n")),
            ),
            (
                state::manifest_path(&desired.bundle),
                new_text.map(str::to_owned),
            ),
        ];
        put_state(
            remote,
            &work.path().join("state"),
            &records,
            probe.root_user,
        )?;
    }
    if probe.pending_record || !pending.is_empty() {
        let clear = [(state::pending_path(&desired.bundle), None)];
        put_state(remote, &work.path().join("clear"), &clear, probe.root_user)?;
    }
    Ok(())
}

/// Write lugc's own records (a `None` content removes the file).
fn put_state(
    remote: &Remote,
    stage: &Path,
    files: &[(String, Option<String>)],
    root_user: bool,
) -> Result<(), PushError> {
    for (path, content) in files {
        if let Some(content) = content {
            write_file(
                &stage.join(path.trim_start_matches('/')),
                content.as_bytes(),
            )?;
        }
    }
    let paths: Vec<&str> = files.iter().map(|(path, _)| path.as_str()).collect();
    let metadata = Metadata::Set {
        mode: 0o644,
        owner: root_user.then(|| "root:root".to_owned()),
    };
    fs::create_dir_all(stage).map_err(PushError::io(stage))?;
    remote.put(stage, &paths, &metadata, None)
}

fn refuse_irregular(host: &str, probe: &Probe) -> Result<(), PushError> {
    match probe.irregular.first() {
        Some(path) => Err(PushError::NotRegular {
            host: host.to_owned(),
            path: path.clone(),
        }),
        None => Ok(()),
    }
}

/// Hash what `fetch` brought; metadata from the probe (missing for paths it did not stat).
fn read_fetched(
    fetched: &Path,
    paths: &[String],
    probe: &Probe,
) -> Result<BTreeMap<String, HostFile>, PushError> {
    let mut files = BTreeMap::new();
    for path in paths {
        let file = fetched.join(path.trim_start_matches('/'));
        match fs::read(&file) {
            Ok(bytes) => {
                let stat = probe.files.get(path);
                let host_file = HostFile {
                    blake3: blake3::hash(&bytes).to_hex().to_string(),
                    mode: stat.map_or(0, |stat| stat.mode),
                    owner: stat.map_or_else(String::new, |stat| stat.owner.clone()),
                };
                files.insert(path.clone(), host_file);
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(PushError::io(file)(error)),
        }
    }
    Ok(files)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), PushError> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(PushError::io(dir))?;
    }
    fs::write(path, bytes).map_err(PushError::io(path))
}

fn workdir() -> Result<tempfile::TempDir, PushError> {
    tempfile::Builder::new()
        .prefix("lugc-push-")
        .tempdir()
        .map_err(PushError::io(std::env::temp_dir()))
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Entry;

    /// out/<bundle>/ holding one file at `path`.
    fn out_with(bundle: &str, path: &str, bytes: &[u8]) -> tempfile::TempDir {
        let out = tempfile::tempdir().unwrap();
        let manifest = Manifest {
            bundle: bundle.into(),
            reaches: vec!["pve-5".into()],
            entries: vec![Entry {
                blake3: blake3::hash(bytes).to_hex().to_string(),
                mode: 0o640,
                owner: "root:www-data".into(),
                path: path.into(),
                action: None,
            }],
        };
        let root = out.path().join(bundle);
        write_file(&root.join("MANIFEST"), manifest.render().as_bytes()).unwrap();
        write_file(&root.join(path.trim_start_matches('/')), bytes).unwrap();
        out
    }

    #[test]
    fn pmxcfs_takes_at_most_one_mebibyte_per_file() {
        let path = "/etc/pve/qemu-server/230.conf";
        let out = out_with("cluster", path, &vec![b'x'; PMXCFS_MAX]);
        let desired = desired_from_out(out.path(), "cluster").unwrap();
        assert_eq!(desired.files[path].bytes.len(), PMXCFS_MAX);

        let out = out_with("cluster", path, &vec![b'x'; PMXCFS_MAX + 1]);
        let error = desired_from_out(out.path(), "cluster").unwrap_err();
        assert!(
            matches!(error, PushError::PmxcfsTooLarge { ref path, size } if path.ends_with("230.conf") && size == PMXCFS_MAX + 1),
            "{error}"
        );
    }

    #[test]
    fn a_file_that_does_not_match_its_manifest_is_refused() {
        let out = out_with("pve-5", "/etc/hostname", b"pve-5\n");
        fs::write(out.path().join("pve-5/etc/hostname"), "edited\n").unwrap();
        let error = desired_from_out(out.path(), "pve-5").unwrap_err();
        assert!(matches!(error, PushError::CorruptOut { .. }), "{error}");
    }

    #[test]
    fn a_file_reached_through_a_link_is_refused_even_with_the_right_bytes() {
        let out = out_with("pve-5", "/etc/hostname", b"pve-5\n");
        let elsewhere = out.path().join("elsewhere");
        fs::write(&elsewhere, "pve-5\n").unwrap();
        let hostname = out.path().join("pve-5/etc/hostname");
        fs::remove_file(&hostname).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &hostname).unwrap();
        let error = desired_from_out(out.path(), "pve-5").unwrap_err();
        assert!(error.to_string().contains("hostname"), "{error}");
        assert!(format!("{error:?}").contains("symbolic link"), "{error:?}");
    }
}
