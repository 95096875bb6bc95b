//! push: deliver one bundle of out/ to a host with rsync over ssh, or roll
//! the host back to the bundle the last push replaced.
//!
//! A push is these stages, each a module with one job:
//!
//! 1. lock: `host::Session` connects and takes the host's push lock
//!    (a dry run takes none and writes nothing);
//! 2. probe: `host::probe` reads lugc's records and the files concerned;
//! 3. plan: `crate::plan` compares them with the `Desired` state (drift blocks
//!    unless `force`) and the plan is shown; a dry run stops here;
//! 4. transfer: `transfer::begin` records the push as pending with its own
//!    backup directory, `transfer::files` writes and removes;
//! 5. actions: `actions` runs the due actions; when one of them can cut
//!    the host off, `confirm::arm` first leaves a revert with the host and
//!    `confirm::confirm` disarms it over a new connection afterwards;
//! 6. record: `transfer::finish` records the push as complete.
//!
//! `rollback` builds the `Desired` state from the host's backups and goes
//! through the same stages. Only `host::remote` spawns ssh or rsync; `guard`
//! holds the checks on out/ that come before any of this.

pub mod actions;
pub mod armed;
pub mod confirm;
pub mod error;
pub mod guard;
pub mod judge;
pub mod rollback;
pub mod transfer;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

pub use error::{BoxedPushError, BundleFailure, Failed, PushError};
use transfer::Begun;

use crate::host::probe::{self, Found, Records};
use crate::host::{record, Armed, Hold, Remote, Session};
use crate::manifest::Manifest;
use crate::plan::{self, concerned, on_pmxcfs, preview, Desired, Want, PMXCFS_MAX};
use crate::ui::{plural, short_id};

/// How far a push goes.
#[derive(Debug, Clone)]
pub struct Options {
    /// Apply the plan; without it nothing on the host changes.
    pub apply: bool,
    /// Overwrite drift.
    pub force: bool,
    /// Program that runs an action on the host, given the action as one argument.
    pub runner: String,
    /// How long an action may run before it is stopped on the host.
    pub action_timeout: Duration,
    /// Path prefixes whose content a dry run never shows.
    pub secret_paths: Vec<String>,
    /// How long the host waits for the confirmation of a push whose actions
    /// can cut it off before it reverts the push; `None` runs them unguarded.
    pub confirm: Option<Duration>,
    /// Kinds of harm (`harm::check`) that may go ahead; any other refuses
    /// the push before it writes anything.
    pub allow: BTreeSet<crate::harm::Kind>,
}

/// Standard output of a push. Writing it never fails the push: a closed
/// pipe must not stop a push between its transfer and its actions.
pub struct Report<'a> {
    out: &'a mut dyn Write,
    /// What each dry run would change, the host's files against the bundle's.
    pub previews: Vec<crate::diff::BundleChange>,
    /// The changes the plan makes that can lose data or cut service.
    pub harms: Vec<crate::harm::Harm>,
    /// The last push's figures, for `push --all`'s summary table.
    pub summary: Summary,
}

/// A push in figures: the bundle before and after, and its plan.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Bundle ids on the host before the push (none: never pushed) and after it.
    pub ids: Option<(Option<String>, String)>,
    pub written: usize,
    pub removed: usize,
    pub actions: usize,
    /// Changes that can lose data or cut service (`harm::check`).
    pub harms: usize,
    /// Nothing to transfer, no action to run.
    pub up_to_date: bool,
}

impl Summary {
    /// Whether the host had no record of this bundle: lugc never pushed it there.
    pub fn never_pushed(&self) -> bool {
        matches!(self.ids, Some((None, _)))
    }
}

impl<'a> Report<'a> {
    pub fn new(out: &'a mut dyn Write) -> Report<'a> {
        Report {
            out,
            previews: Vec::new(),
            harms: Vec::new(),
            summary: Summary::default(),
        }
    }

    pub fn say(&mut self, text: &str) {
        let _ = self.out.write_all(text.as_bytes());
    }

    /// Show the plan's harms (under it, above the diff) and keep them.
    fn harms_found(&mut self, harms: &[crate::harm::Harm], allowed: &BTreeSet<crate::harm::Kind>) {
        self.say(&crate::harm::render(harms, allowed));
        self.harms = harms.to_vec();
        self.summary.harms = harms.len();
    }
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
        confirm: manifest.confirm.clone(),
        manifest: Some(manifest),
        files,
        undoes: Vec::new(),
    })
}

/// Show what pushing `desired` to `host` would change (a dry run adds its
/// preview to `report`), and with `options.apply` do it.
pub fn push(
    remote: &Remote,
    host: &str,
    desired: &Desired,
    options: &Options,
    report: &mut Report,
) -> Result<(), PushError> {
    let session = Session::open(remote, host, &hold(options))?;
    let records = probe::records(&session, host, &desired.bundle)?;
    let mut found = probe::files(&session, host, &concerned(desired, &records))?;
    plan::recognise(&mut found, desired);
    regular(&found, host)?;
    let plan = plan::plan(
        desired,
        &plan::as_pve_reads(desired, &found.files, &found.contents),
        records.last.as_ref().map(|recorded| &recorded.manifest),
        &records.pending_manifests(),
        session.root_user,
    );
    let delivery = Delivery { desired, plan };
    deliver(&session, host, &delivery, &records, &found, options, report)
}

/// Put back what the last push to `host` replaced (or, while pushes cut
/// short are pending, what they replaced), from the host's backups.
pub fn rollback(
    remote: &Remote,
    host: &str,
    bundle: &str,
    options: &Options,
    report: &mut Report,
) -> Result<(), PushError> {
    let session = Session::open(remote, host, &hold(options))?;
    let records = probe::records(&session, host, bundle)?;
    let undo = rollback::undo(&records, host, bundle)?;
    let found = probe::files(&session, host, &undo.paths())?;
    regular(&found, host)?;
    let desired = undo.desired(&records, &found, host, bundle)?;
    let plan = undo.plan(
        &desired,
        &plan::as_pve_reads(&desired, &found.files, &found.contents),
        &records,
        session.root_user,
    );
    let delivery = Delivery {
        desired: &desired,
        plan,
    };
    deliver(&session, host, &delivery, &records, &found, options, report)
}

/// Refuse paths on the host that are not regular files.
fn regular(found: &Found, host: &str) -> Result<(), PushError> {
    match found.irregular.first() {
        Some(path) => Err(PushError::NotRegular {
            host: host.to_owned(),
            path: path.clone(),
        }),
        None => Ok(()),
    }
}

/// What a push or a rollback carries out: the state it leaves on the host
/// and the plan that gets there.
struct Delivery<'a> {
    desired: &'a Desired,
    plan: plan::Plan,
}

/// What to do about a push or rollback cut short, for messages.
fn next_step(desired: &Desired) -> String {
    let bundle = &desired.bundle;
    if desired.is_rollback() {
        format!("run `lugc push {bundle} --rollback` again to finish the rollback, or push the bundle with `lugc push {bundle}`")
    } else {
        format!("push again to complete it, or undo it with `lugc push {bundle} --rollback`")
    }
}

fn hold(options: &Options) -> Hold {
    if !options.apply {
        return Hold::Read;
    }
    let user = std::env::var("USER").unwrap_or_else(|_| "?".to_owned());
    let machine = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    Hold::Lock {
        holder: format!(
            "lugc push by {user}@{} (pid {})",
            machine.trim(),
            std::process::id()
        ),
    }
}

/// Plan, show, and with `options.apply` carry out the plan.
fn deliver(
    session: &Session,
    host: &str,
    delivery: &Delivery,
    records: &Records,
    found: &Found,
    options: &Options,
    report: &mut Report,
) -> Result<(), PushError> {
    let (desired, plan) = (delivery.desired, &delivery.plan);
    let last = records.last.as_ref();
    let new_text = desired.manifest.as_ref().map(Manifest::render);
    let new_id = new_text.as_deref().map_or_else(
        || "none".to_owned(),
        |text| crate::manifest::bundle_id(text.as_bytes()),
    );
    let last_text = last.map(|recorded| recorded.text.as_str());
    let through = if desired.bundle == host {
        String::new()
    } else {
        format!(" through {host}")
    };
    let root = if session.root.is_empty() {
        String::new()
    } else {
        format!(":{}", session.root)
    };
    report.say(&format!(
        "{}{through} ({}{root}): bundle {} -> {}\n",
        desired.bundle,
        session.remote.target,
        short_id(last.map(|recorded| recorded.id.as_str())),
        short_id(Some(&new_id))
    ));
    report.summary.ids = Some((last.map(|recorded| recorded.id.clone()), new_id.clone()));
    for (path, size) in &found.large {
        report.say(&format!(
            "  not read: {path} is {size} bytes on {host}, above --max-file-size ({} MiB); compared by its SHA-256 only\n",
            session.remote.limits.file >> 20
        ));
    }
    if let Some(reverted) = &records.reverted {
        report.say(&format!(
            "  reverted: {host} put back what push {} (bundle {}) replaced, at {}, because the push was not confirmed\n",
            reverted.push,
            short_id(Some(&reverted.bundle_id)),
            reverted.at
        ));
        if !reverted.complete {
            report.say(&format!(
                "  the revert was incomplete: a file was not put back or an action failed; see {}/REVERT.log\n",
                record::path(&session.root, &format!("backup/{}", reverted.push))
            ));
        }
    }
    armed::check(session, host, &desired.bundle, records, options, report)?;
    if let Some(rollback) = records.rollback_cut_short() {
        report.say(&format!(
            "  rollback cut short: {} did not finish undoing {}; `lugc push {} --rollback` finishes it\n",
            rollback.id,
            rollback.undoes().join(", "),
            desired.bundle
        ));
    } else if !records.pending.is_empty() {
        let ids: Vec<&str> = records
            .pending
            .iter()
            .map(|push| push.id.as_str())
            .collect();
        report.say(&format!(
            "  cut short: {} did not finish ({}); the files written are not drift\n",
            plural(ids.len(), "push"),
            ids.join(", ")
        ));
    }
    if plan.is_empty() && new_text.as_deref() == last_text && records.pending.is_empty() {
        report.say("  up to date: nothing to transfer, no action to run\n");
        report.summary.up_to_date = true;
        return Ok(());
    }
    let drift_note = if options.force {
        "  [drift: overwritten by --force]"
    } else {
        "  [drift]"
    };
    report.say(&plan.render(desired, drift_note));
    let harms = judge::harms(session, host, desired, found, plan)?;
    report.harms_found(&harms, &options.allow);
    report.summary.written = plan.writes().count();
    report.summary.removed = plan.removals().count();
    report.summary.actions = plan.actions.len();
    if !options.apply {
        let sides = preview::Sides {
            desired,
            found,
            last: last.map(|recorded| &recorded.manifest),
            old_id: last.map(|recorded| recorded.id.clone()),
            new_id: new_text.as_ref().map(|_| new_id.clone()),
            host,
            set_owner: session.root_user,
            secret_paths: &options.secret_paths,
        };
        report.previews.push(preview::bundle_change(&sides, plan));
    }
    if !plan.drift.is_empty() && !options.force {
        return Err(PushError::Drift {
            host: host.to_owned(),
            paths: plan.drift.clone(),
        });
    }
    if !plan.unwanted.is_empty() && !options.force {
        return Err(PushError::Unwanted {
            host: host.to_owned(),
            paths: plan.unwanted.clone(),
        });
    }
    refuse_harms(host, desired, &harms, options, report)?;
    let first_guarded = plan
        .actions
        .iter()
        .position(|action| desired.confirms(action));
    let guarded = first_guarded.is_some();
    if !options.apply {
        report.say("  dry run: nothing was changed; pass --yes to apply\n");
        return Ok(());
    }
    if plan.changes.iter().any(|(path, _)| on_pmxcfs(path)) {
        session.check_quorum()?;
    }
    let stage = |stage: Stage| {
        let state = stage.state(host, &next_step(desired));
        move |cause: PushError| PushError::CutShort {
            state,
            cause: Box::new(cause),
        }
    };
    let window = options.confirm.filter(|_| guarded);
    if guarded && window.is_none() {
        report.say("  not guarded (--no-confirm): actions that can cut the host off run without a revert armed\n");
    }
    let begun = if plan.changes.is_empty() && new_text.as_deref() == last_text && window.is_none() {
        Begun {
            id: String::new(),
            pushes: records.pending.iter().map(|push| push.id.clone()).collect(),
        }
    } else {
        let begun = transfer::begin(session, desired, records, plan, &found.files, &new_id)
            .map_err(stage(Stage::Begin))?;
        let kept =
            transfer::files(session, desired, plan, &begun).map_err(stage(Stage::Transfer))?;
        let written = plan.writes().count();
        let removed = plan.removals().count();
        let backup = if kept > 0 {
            format!(
                "; {} kept in {}",
                plural(kept, "replaced file"),
                record::backup_files(&session.root, &begun.id)
            )
        } else {
            String::new()
        };
        report.say(&format!(
            "  transferred {written} file(s), removed {removed}{backup}\n"
        ));
        begun
    };
    // Actions up to the first that can cut the host off run unguarded.
    let split = first_guarded
        .filter(|_| window.is_some())
        .unwrap_or(plan.actions.len());
    let run_actions = |run: std::ops::Range<usize>, armed: Option<&Armed>, report: &mut Report| {
        actions::run(
            session,
            &options.runner,
            options.action_timeout,
            host,
            &next_step(desired),
            &plan.actions,
            run,
            armed,
            report,
        )
    };
    run_actions(0..split, None, report)?;
    if let Some(seconds) = window {
        let revert_actions = rollback::revert_actions(records, desired, plan);
        let revert = confirm::Revert {
            bundle: &desired.bundle,
            bundle_id: &new_id,
            actions: &revert_actions,
            runner: &options.runner,
            action_timeout: options.action_timeout,
            confirm: seconds,
        };
        let armed = confirm::arm(session, &begun, &revert).map_err(|cause| {
            let state = format!(
                "the files are in place on {host} and the actions before `{}` ran; none that can cut {host} off ran. {host} records the push as pending: {}",
                plan.actions[split],
                next_step(desired)
            );
            PushError::CutShort {
                state,
                cause: Box::new(cause),
            }
        })?;
        report.say(&format!(
            "  armed: {host} reverts this push on its own unless lugc confirms it over a new connection within {} s of the last action\n",
            seconds.as_secs()
        ));
        let _window = crate::host::private::SignalNote::new(format!(
            "lugc: stopped while push {} is armed on {host}: unless it is confirmed, {host} reverts it at its deadline, {} s after its last action ended; `lugc status {}` tells which",
            armed.id,
            seconds.as_secs(),
            desired.bundle
        ));
        run_actions(split..plan.actions.len(), Some(&armed), report).map_err(|cause| {
            // An action that failed on a host lugc still reaches: revert now.
            let now = matches!(cause, PushError::ActionFailed { .. })
                && confirm::hasten(session, &armed).is_ok();
            let when = if now { "now" } else { "on its own" };
            let state = format!(
                "the push is not confirmed: {host} puts back the files it replaced and runs their actions {when}; `lugc push {}` or `lugc status` reports it",
                desired.bundle
            );
            PushError::CutShort {
                state,
                cause: Box::new(cause),
            }
        })?;
        confirm_healthy(session, &armed, host, desired, options, report)?;
        report.say(&format!(
            "  confirmed: {} took a new ssh connection; the revert is disarmed\n",
            session.remote.target
        ));
    }
    transfer::finish(
        session,
        &desired.bundle,
        &begun,
        new_text.as_deref(),
        last_text,
        records.reverted.is_some(),
    )
    .map_err(stage(Stage::Record))?;
    report.say(&format!(
        "  done: {} {} is in place on {host}\n",
        desired.bundle,
        short_id(Some(&new_id))
    ));
    Ok(())
}

/// With `--yes`, refuse while a harm is listed whose kind `--allow` does not
/// name; a dry run says what `--yes` will need.
fn refuse_harms(
    host: &str,
    desired: &Desired,
    harms: &[crate::harm::Harm],
    options: &Options,
    report: &mut Report,
) -> Result<(), PushError> {
    let refused = crate::harm::refused(harms, &options.allow);
    if refused.is_empty() {
        return Ok(());
    }
    let allow = crate::harm::allow_list(&refused);
    if !options.apply {
        report.say(&format!(
            "  --yes refuses these unless allowed by name: --allow {allow}\n"
        ));
        return Ok(());
    }
    Err(PushError::Harmful {
        host: host.to_owned(),
        bundle: desired.bundle.clone(),
        count: harms
            .iter()
            .filter(|harm| !options.allow.contains(&harm.kind))
            .count(),
        allow,
    })
}

/// Where a push stopped, for a message that says what the host now has.
#[derive(Debug, Clone, Copy)]
enum Stage {
    Begin,
    Transfer,
    Record,
}

impl Stage {
    /// What the host has after a failure at this stage; `next` says what to do.
    fn state(self, host: &str, next: &str) -> String {
        match self {
            Stage::Begin => format!(
                "no file on {host} was changed and no action ran; push again once the cause is fixed"
            ),
            Stage::Transfer => format!(
                "the push was cut short during the transfer: each file on {host} is either its old or its new version, and no action ran. {host} records the push as pending: {next}"
            ),
            Stage::Record => format!(
                "every file is in place on {host} and every action ran, but lugc's record there was not updated: push again to record it (its actions run again)"
            ),
        }
    }
}

/// Run the bundle's health checks on the host, then confirm the push over a
/// new connection.
fn confirm_healthy(
    session: &Session,
    armed: &Armed,
    host: &str,
    desired: &Desired,
    options: &Options,
    report: &mut Report,
) -> Result<(), PushError> {
    let checks = confirm::Checks {
        paths: desired.checks(),
        runner: &options.runner,
        limit: options.action_timeout,
        host,
        bundle: &desired.bundle,
    };
    confirm::check(session, armed, &checks, &mut |text| report.say(text))?;
    confirm::confirm(session.remote, &session.root, host, armed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Entry;
    use std::fs;

    fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        fs::create_dir_all(path.parent().unwrap())?;
        fs::write(path, bytes)
    }

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
            ..Manifest::default()
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
