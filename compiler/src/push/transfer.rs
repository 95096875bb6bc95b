//! push::transfer: carry out a plan's file changes on the host.
//!
//! `begin` creates the push's own backup directory (one that did not exist)
//! and records, before any file moves, what each changed path was (BEFORE),
//! what the push writes (PUSHING) and that it is pending. `files` writes the
//! changed files with rsync (each to a temporary file renamed into place,
//! the replaced one kept in the backup) and removes dropped ones (kept there
//! too). `finish` records the push as complete once its actions ran.

use std::collections::BTreeMap;
use std::path::Path;

use crate::host::private::{self, PrivateDir};
use crate::host::probe::Records;
use crate::host::record::{self, Before};
use crate::host::{HostError, HostFile, Metadata, Session};
use crate::plan::{on_pmxcfs, Change, Desired, Plan};
use crate::push::error::PushError;

/// A push that `begin` recorded on the host.
#[derive(Debug, Clone)]
pub struct Begun {
    /// This push's id: its backup directory.
    pub id: String,
    /// The pending pushes this one completes, then itself.
    pub pushes: Vec<String>,
}

/// Create the backup directory and record the push as pending.
pub fn begin(
    session: &Session,
    desired: &Desired,
    records: &Records,
    plan: &Plan,
    host_files: &BTreeMap<String, HostFile>,
    new_id: &str,
) -> Result<Begun, PushError> {
    let bundle = &desired.bundle;
    let prefix = record::id_prefix(bundle, new_id);
    let output = session.run("begin", &[&prefix], b"")?;
    let id = String::from_utf8_lossy(&output).trim().to_owned();
    if !record::valid_id(&id) || !id.starts_with(&prefix) {
        return Err(HostError::RemoteState {
            host: session.remote.target.clone(),
            reason: format!(
                "`begin` answered `{}`, not a push id",
                record::excerpt(id.as_bytes(), 80)
            ),
        }
        .into());
    }
    match write_begun(session, desired, records, plan, host_files, &id) {
        Ok(pushes) => Ok(Begun { id, pushes }),
        Err(error) => {
            // The host refused a record (a full disk): no push lists this
            // backup directory, so it goes. A lost connection leaves it.
            if matches!(error, PushError::Host(HostError::Remote { .. })) {
                let _ = session.run("discard", &[&id], b"");
            }
            Err(error)
        }
    }
}

/// Record push `id` as pending: its BEFORE, PUSHING and the MANIFEST it
/// replaces, then PENDING. Returns the pending pushes, this one last.
fn write_begun(
    session: &Session,
    desired: &Desired,
    records: &Records,
    plan: &Plan,
    host_files: &BTreeMap<String, HostFile>,
    id: &str,
) -> Result<Vec<String>, PushError> {
    let bundle = &desired.bundle;
    let last = records.last.as_ref();
    let before = Before {
        bundle: bundle.clone(),
        replaces: last.map(|recorded| recorded.id.clone()),
        undoes: desired.undoes.clone(),
        paths: plan
            .changes
            .iter()
            .map(|(path, _)| (path.clone(), host_files.get(path).cloned()))
            .collect(),
    };
    write_record(session, &record::before(id), &before.render())?;
    let pushing = desired.pending_manifest().render();
    write_record(session, &record::pushing(id), &pushing)?;
    if let Some(last) = last {
        write_record(session, &record::replaced(id), &last.text)?;
    }
    let mut pushes: Vec<String> = records.pending.iter().map(|push| push.id.clone()).collect();
    pushes.push(id.to_owned());
    write_record(
        session,
        &record::pending(bundle),
        &record::render_pushes(&pushes),
    )?;
    Ok(pushes)
}

/// Write and remove the plan's files; returns how many replaced or removed
/// files were kept in the backup.
pub fn files(
    session: &Session,
    desired: &Desired,
    plan: &Plan,
    begun: &Begun,
) -> Result<usize, PushError> {
    let changed: Vec<&str> = plan.changes.iter().map(|(path, _)| path.as_str()).collect();
    // Checked in the probe already; again now, just before anything is written.
    session.run("links", &[], lines(&changed).as_bytes())?;
    let stage = PrivateDir::new("lugc-push-")?;
    let owner_of = |owner: &str| session.root_user.then(|| owner.to_owned());
    let mut groups: BTreeMap<Metadata, Vec<&str>> = BTreeMap::new();
    for path in plan.writes() {
        let want = &desired.files[path];
        private::write(&staged(stage.path(), path), &want.bytes)?;
        let metadata = if on_pmxcfs(path) {
            Metadata::ContentOnly
        } else {
            Metadata::Set {
                mode: want.mode,
                owner: owner_of(&want.owner),
            }
        };
        groups.entry(metadata).or_default().push(path);
    }
    let backup = record::backup_files(&session.root, &begun.id);
    for (metadata, paths) in &groups {
        session.put(stage.path(), paths, metadata, Some(&backup))?;
    }
    let removals: Vec<&str> = plan.removals().collect();
    if !removals.is_empty() {
        session.run("remove", &[&begun.id], lines(&removals).as_bytes())?;
    }
    Ok(plan
        .changes
        .iter()
        .filter(|(_, change)| matches!(change, Change::Modify | Change::Remove))
        .count())
}

/// Record the push as complete: PREVIOUS and MANIFEST when the bundle
/// changed (`None` removes MANIFEST), then PENDING goes, and with
/// `reported_revert` the record of a revert the push was told about.
pub fn finish(
    session: &Session,
    bundle: &str,
    begun: &Begun,
    new_text: Option<&str>,
    last_text: Option<&str>,
    reported_revert: bool,
) -> Result<(), PushError> {
    if new_text != last_text {
        write_record(
            session,
            &record::previous(bundle),
            &record::render_pushes(&begun.pushes),
        )?;
        match new_text {
            Some(text) => write_record(session, &record::manifest(bundle), text)?,
            None => {
                session.run("unrecord", &[&record::manifest(bundle)], b"")?;
            }
        }
    }
    session.run("unrecord", &[&record::pending(bundle)], b"")?;
    if reported_revert {
        session.run("unrecord", &[&record::reverted(bundle)], b"")?;
    }
    Ok(())
}

fn write_record(session: &Session, name: &str, text: &str) -> Result<(), PushError> {
    session.run("record", &[name, "0600"], text.as_bytes())?;
    Ok(())
}

fn staged(stage: &Path, path: &str) -> std::path::PathBuf {
    stage.join(path.trim_start_matches('/'))
}

fn lines(paths: &[&str]) -> String {
    paths.iter().map(|path| format!("{path}\n")).collect()
}
