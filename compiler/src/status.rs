//! status: where one bundle stands on its host, against out/, read-only.
//!
//! In: how to reach the host, the bundle as out/ holds it. Out: a [`Row`]:
//! the bundle id last pushed, a [`State`] and the paths behind it. It opens
//! one `host::Session` with `Hold::Read` (no lock, nothing written),
//! reads lugc's records (`probe::records`) and has the host hash the files
//! the bundle and the records name (`probe::hashes`); the content of a file
//! is read only where the hashes cannot tell (a file that differs from out/
//! where an earlier push wrote another version, or storage.cfg, compared as
//! PVE reads it), or for `--diff`. Then `plan` decides, as a push would,
//! and `storage_cfg::lost` names what the host's storage.cfg holds that the
//! bundle's would drop.

use std::collections::{BTreeMap, BTreeSet};

use crate::diff::BundleChange;
use crate::host::probe::{self, ArmedPush, Found, Records, RevertState};
use crate::host::record::Reverted;
use crate::host::{Hold, HostError, HostFile, Remote, Session};
use crate::plan::{self, preview, Change, Desired, STORAGE_CFG};
use crate::storage_cfg::{self, Lost};

/// Where a bundle stands on its host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// The host holds the bundle in out/, as last pushed.
    InSync,
    /// The host holds the bundle it was last pushed; out/ is ahead.
    NotPushed,
    /// Files changed on the host since the last push.
    Drift(Vec<String>),
    /// Pushes that did not finish (a PENDING record): their ids.
    CutShort(Vec<String>),
    /// A rollback that did not finish (the last pending push undid others):
    /// the pending ids; `push --rollback` finishes it.
    RollbackCutShort(Vec<String>),
    /// A push of the bundle whose revert is armed, running, or gone.
    Armed(ArmedPush),
    /// No push ever completed: how many of the bundle's files already match.
    NeverPushed { matching: usize },
    /// ssh could not reach the host: its error in one line.
    Unreachable(String),
    /// The host answered something lugc cannot read (its records, a root).
    Error(String),
}

impl State {
    /// The state's name in text and JSON.
    pub fn name(&self) -> &'static str {
        match self {
            State::InSync => "in sync",
            State::NotPushed => "not pushed",
            State::Drift(_) => "drift",
            State::CutShort(_) => "push cut short",
            State::RollbackCutShort(_) => "rollback cut short",
            State::Armed(armed) => match armed.state() {
                RevertState::Due if armed.reverting => "reverting",
                RevertState::Due => "revert armed",
                RevertState::Gone => "revert gone",
                RevertState::Stale => "unconfirmed",
            },
            State::NeverPushed { .. } => "never pushed",
            State::Unreachable(_) => "unreachable",
            State::Error(_) => "error",
        }
    }
}

/// One bundle's status.
#[derive(Debug, Clone)]
pub struct Row {
    pub bundle: String,
    /// The host it lands on (the cluster bundle's first member).
    pub host: String,
    pub target: String,
    pub out_id: String,
    /// The id of the bundle the last complete push left, if the host answered.
    pub pushed_id: Option<String>,
    pub state: State,
    /// Files in out/'s bundle.
    pub files: usize,
    /// What a push would change now.
    pub changes: Vec<(String, Change)>,
    /// The host's files against out/ (with `--diff`).
    pub preview: Option<BundleChange>,
    /// The last push the host reverted on its own, unconfirmed, not pushed over since.
    pub reverted: Option<Reverted>,
    /// What the host's storage.cfg holds that out/'s lacks: a push would drop it.
    pub storage_dropped: Vec<Lost>,
    /// Pending pushes that lugc confirmed but did not record complete.
    pub confirmed: Vec<String>,
}

/// What `check` needs besides the host.
pub struct Ask<'a> {
    pub desired: &'a Desired,
    pub out_id: &'a str,
    /// Read the content of every concerned file and make a preview.
    pub diff: bool,
    pub secret_paths: &'a [String],
}

/// The status of `ask.desired` on `host`. A host that cannot be reached or
/// read is a row too; only trouble on this machine (no ssh) is an error.
pub fn check(remote: &Remote, host: &str, ask: &Ask<'_>) -> Result<Row, HostError> {
    let mut row = Row {
        bundle: ask.desired.bundle.clone(),
        host: host.to_owned(),
        target: remote.target.clone(),
        out_id: ask.out_id.to_owned(),
        pushed_id: None,
        state: State::InSync,
        files: ask.desired.files.len(),
        changes: Vec::new(),
        preview: None,
        reverted: None,
        storage_dropped: Vec::new(),
        confirmed: Vec::new(),
    };
    match read(remote, host, ask, &mut row) {
        Ok(()) => Ok(row),
        Err(error) if error.is_local() => Err(error),
        Err(error) if error.is_unreachable() => {
            row.state = State::Unreachable(error.one_line());
            Ok(row)
        }
        Err(error) => {
            row.state = State::Error(error.one_line());
            Ok(row)
        }
    }
}

fn read(remote: &Remote, host: &str, ask: &Ask<'_>, row: &mut Row) -> Result<(), HostError> {
    let session = Session::open(remote, host, &Hold::Read)?;
    let desired = ask.desired;
    let records = probe::records(&session, host, &desired.bundle)?;
    row.pushed_id = records.last.as_ref().map(|last| last.id.clone());
    row.reverted.clone_from(&records.reverted);
    row.confirmed.clone_from(&records.confirmed);
    let paths = plan::concerned(desired, &records);
    let found = if ask.diff {
        let mut found = probe::files(&session, host, &paths)?;
        plan::recognise(&mut found, desired);
        found
    } else {
        hashed(&session, host, desired, &records, &paths)?
    };
    let last = records.last.as_ref().map(|recorded| &recorded.manifest);
    let plan = plan::plan(
        desired,
        &plan::as_pve_reads(desired, &found.files, &found.contents),
        last,
        &records.pending_manifests(),
        session.root_user,
    );
    if ask.diff {
        let sides = preview::Sides {
            desired,
            found: &found,
            last,
            old_id: row.pushed_id.clone(),
            new_id: Some(ask.out_id.to_owned()),
            host,
            set_owner: session.root_user,
            secret_paths: ask.secret_paths,
        };
        row.preview = Some(preview::bundle_change(&sides, &plan));
    }
    row.changes.clone_from(&plan.changes);
    row.storage_dropped = storage_dropped(desired, &found);
    row.state = decide(ask, &records, &found, &plan, row.pushed_id.as_deref());
    Ok(())
}

/// The state of the bundle on the host, from what `read` found.
fn decide(
    ask: &Ask<'_>,
    records: &Records,
    found: &Found,
    plan: &plan::Plan,
    pushed_id: Option<&str>,
) -> State {
    let desired = ask.desired;
    let mut drift: Vec<String> = plan.drift.clone();
    drift.extend(
        found
            .irregular
            .iter()
            .map(|path| format!("{path} (not a regular file)")),
    );
    drift.extend(
        plan.unwanted
            .iter()
            .map(|path| format!("{path} (must not exist)")),
    );
    let armed = records
        .armed
        .iter()
        .find(|armed| armed.bundle == desired.bundle);
    if let Some(armed) = armed {
        State::Armed(armed.clone())
    } else if let Some(state) = cut_short(records) {
        state
    } else if records.last.is_none() {
        let changed: BTreeSet<&str> = plan.changes.iter().map(|(p, _)| p.as_str()).collect();
        let matching = desired
            .files
            .keys()
            .filter(|path| !changed.contains(path.as_str()))
            .count();
        State::NeverPushed { matching }
    } else if pushed_id == Some(ask.out_id) {
        // Pushed as out/ has it: anything a push would change changed on the host.
        drift.extend(
            plan.changes
                .iter()
                .filter(|(path, _)| !plan.drift.contains(path) && !plan.unwanted.contains(path))
                .map(|(path, change)| match change {
                    Change::Metadata => format!("{path} (mode or owner)"),
                    _ => path.clone(),
                }),
        );
        if drift.is_empty() {
            State::InSync
        } else {
            State::Drift(drift)
        }
    } else if drift.is_empty() {
        State::NotPushed
    } else {
        State::Drift(drift)
    }
}

/// A push or a rollback cut short: the pending push ids.
fn cut_short(records: &Records) -> Option<State> {
    let pending = records.pending.iter().map(|push| push.id.clone()).collect();
    if records.rollback_cut_short().is_some() {
        Some(State::RollbackCutShort(pending))
    } else if !records.pending.is_empty() {
        Some(State::CutShort(pending))
    } else {
        None
    }
}

/// The concerned files as the plan needs them, from their hashes: a file
/// whose SHA-256 is out/'s has out/'s blake3; one that differs is read only
/// where another version lugc knows (the last or a pending push's) might be
/// it, or where PVE may have rewritten it (storage.cfg, VM configs).
fn hashed(
    session: &Session,
    host: &str,
    desired: &Desired,
    records: &Records,
    paths: &[String],
) -> Result<Found, HostError> {
    let (hashes, irregular) = probe::hashes(session, host, paths)?;
    let mut known: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for manifest in records
        .last
        .iter()
        .map(|last| &last.manifest)
        .chain(records.pending_manifests())
    {
        for entry in &manifest.entries {
            known
                .entry(entry.path.as_str())
                .or_default()
                .insert(entry.blake3.as_str());
        }
    }
    let mut found = Found {
        irregular,
        ..Found::default()
    };
    let mut unsure = Vec::new();
    for (path, file) in hashes {
        let want = desired.files.get(&path);
        let blake3 = match want {
            Some(want) if probe::sha256(&want.bytes) == file.sha256 => want.blake3.clone(),
            _ => {
                let other = known.get(path.as_str()).is_some_and(|sums| {
                    sums.iter()
                        .any(|sum| Some(*sum) != want.map(|w| w.blake3.as_str()))
                });
                if other || (plan::pve_same(&path).is_some() && want.is_some()) {
                    unsure.push(path);
                    continue;
                }
                // No version lugc knows: a hash that matches none of them.
                format!("sha256:{}", file.sha256)
            }
        };
        let host_file = HostFile {
            blake3,
            mode: file.mode,
            owner: file.owner,
        };
        found.files.insert(path, host_file);
    }
    let read = probe::files(session, host, &unsure)?;
    found.files.extend(read.files);
    found.large.extend(read.large);
    found.contents.extend(read.contents);
    found.irregular.extend(read.irregular);
    Ok(found)
}

/// What the host's storage.cfg holds that the bundle's lacks, as PVE reads
/// both (the host's is read whenever it differs: see `hashed`).
fn storage_dropped(desired: &Desired, found: &Found) -> Vec<Lost> {
    let (Some(want), Some(there)) = (
        desired.files.get(STORAGE_CFG),
        found.contents.get(STORAGE_CFG),
    ) else {
        return Vec::new();
    };
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    storage_cfg::lost(&text(there), &text(&want.bytes))
}
