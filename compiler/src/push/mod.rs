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
mod apply;
pub mod armed;
pub mod confirm;
pub mod error;
pub mod guard;
pub mod judge;
pub mod rollback;
mod show;
pub mod transfer;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

pub use error::{BoxedPushError, BundleFailure, Failed, PushError};

use crate::harm::Harm;
use crate::host::probe::{self, Found, Records};
use crate::host::{Hold, Remote, Session};
use crate::manifest::Manifest;
use crate::plan::{self, concerned, on_pmxcfs, Desired, Want, PMXCFS_MAX};

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
pub struct Say<'a>(pub &'a mut dyn Write);

impl Say<'_> {
    pub fn say(&mut self, text: &str) {
        let _ = self.0.write_all(text.as_bytes());
    }
}

/// What a push or a rollback came to: its figures, what it found, and
/// whether it went through. A dry run that ends in an error (drift) keeps
/// its preview and harms.
#[derive(Debug)]
pub struct Pushed {
    pub summary: Summary,
    /// A dry run's preview: the host's files against the bundle's.
    pub preview: Option<crate::diff::BundleChange>,
    /// The changes the plan makes that can lose data or cut service.
    pub harms: Vec<Harm>,
    pub result: Result<(), PushError>,
}

impl Pushed {
    /// A push that stopped before it knew anything of the host.
    pub fn failed(error: PushError) -> Pushed {
        Pushed::stopped(Summary::default(), Err(error))
    }

    fn stopped(summary: Summary, result: Result<(), PushError>) -> Pushed {
        Pushed {
            summary,
            preview: None,
            harms: Vec::new(),
            result,
        }
    }
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

/// The bundle `name` of out/ pushed to `host`: `desired_from_out`, then `push`.
pub fn from_out(
    out: &Path,
    remote: &Remote,
    host: &str,
    name: &str,
    options: &Options,
    say: &mut dyn Write,
) -> Pushed {
    match desired_from_out(out, name) {
        Ok(desired) => push(remote, host, &desired, options, say),
        Err(error) => Pushed::failed(error),
    }
}

/// Show what pushing `desired` to `host` would change, and with
/// `options.apply` do it.
pub fn push(
    remote: &Remote,
    host: &str,
    desired: &Desired,
    options: &Options,
    say: &mut dyn Write,
) -> Pushed {
    let mut reached = || -> Result<Pushed, PushError> {
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
        let host = Host::new(&session, host, &records, &found);
        Ok(Delivery::new(host, desired, plan, options).deliver(&mut Say(say)))
    };
    reached().unwrap_or_else(Pushed::failed)
}

/// Put back what the last push to `host` replaced (or, while pushes cut
/// short are pending, what they replaced), from the host's backups.
pub fn rollback(
    remote: &Remote,
    host: &str,
    bundle: &str,
    options: &Options,
    say: &mut dyn Write,
) -> Pushed {
    let mut reached = || -> Result<Pushed, PushError> {
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
        let host = Host::new(&session, host, &records, &found);
        Ok(Delivery::new(host, &desired, plan, options).deliver(&mut Say(say)))
    };
    reached().unwrap_or_else(Pushed::failed)
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

/// The host a push goes to, as it answered: the session, lugc's records
/// there and the files concerned.
#[derive(Clone, Copy)]
struct Host<'a> {
    session: &'a Session<'a>,
    name: &'a str,
    records: &'a Records,
    found: &'a Found,
}

impl<'a> Host<'a> {
    fn new(
        session: &'a Session<'a>,
        name: &'a str,
        records: &'a Records,
        found: &'a Found,
    ) -> Self {
        Host {
            session,
            name,
            records,
            found,
        }
    }
}

/// What a push or a rollback carries out on a host: the state it leaves
/// there and the plan that gets there.
struct Delivery<'a> {
    host: Host<'a>,
    desired: &'a Desired,
    plan: plan::Plan,
    options: &'a Options,
    /// The MANIFEST the push leaves (none: it removes lugc's record).
    new_text: Option<String>,
    /// Its id (`none` with no MANIFEST), as the records name it.
    new_id: String,
}

impl<'a> Delivery<'a> {
    fn new(host: Host<'a>, desired: &'a Desired, plan: plan::Plan, options: &'a Options) -> Self {
        let new_text = desired.manifest.as_ref().map(Manifest::render);
        let new_id = new_text.as_deref().map_or_else(
            || "none".to_owned(),
            |text| crate::manifest::bundle_id(text.as_bytes()),
        );
        Delivery {
            host,
            desired,
            plan,
            options,
            new_text,
            new_id,
        }
    }

    /// The MANIFEST the last complete push left.
    fn last_text(&self) -> Option<&str> {
        self.host
            .records
            .last
            .as_ref()
            .map(|recorded| recorded.text.as_str())
    }

    /// Whether the host's record changes: a new MANIFEST, or pushes cut short to clear.
    fn record_changes(&self) -> bool {
        self.new_text.as_deref() != self.last_text() || !self.host.records.pending.is_empty()
    }

    /// What to do about a push or rollback cut short, for messages.
    fn next_step(&self) -> String {
        let bundle = &self.desired.bundle;
        if self.desired.is_rollback() {
            format!("run `lugc push {bundle} --rollback` again to finish the rollback, or push the bundle with `lugc push {bundle}`")
        } else {
            format!("push again to complete it, or undo it with `lugc push {bundle} --rollback`")
        }
    }

    /// Show the plan, and with `--yes` carry it out: what happened.
    fn deliver(&self, say: &mut Say) -> Pushed {
        let records = self.host.records;
        let summary = Summary {
            ids: Some((
                records.last.as_ref().map(|recorded| recorded.id.clone()),
                self.new_id.clone(),
            )),
            ..Summary::default()
        };
        self.announce(say);
        let armed = armed::check(
            self.host.session,
            self.host.name,
            &self.desired.bundle,
            records,
            self.options,
            say,
        );
        if let Err(error) = armed {
            return Pushed::stopped(summary, Err(error));
        }
        self.cut_short(say);
        if self.plan.is_empty() && !self.record_changes() {
            say.say("  up to date: nothing to transfer, no action to run\n");
            let summary = Summary {
                up_to_date: true,
                ..summary
            };
            return Pushed::stopped(summary, Ok(()));
        }
        let (harms, preview) = match self.show(say) {
            Ok(shown) => shown,
            Err(error) => return Pushed::stopped(summary, Err(error)),
        };
        let summary = Summary {
            written: self.plan.writes().count(),
            removed: self.plan.removals().count(),
            actions: self.plan.actions.len(),
            harms: harms.len(),
            ..summary
        };
        let result = self.refuse(&harms, say).and_then(|()| {
            if self.options.apply {
                self.apply(say)
            } else {
                say.say("  dry run: nothing was changed; pass --yes to apply\n");
                Ok(())
            }
        });
        Pushed {
            summary,
            preview,
            harms,
            result,
        }
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
