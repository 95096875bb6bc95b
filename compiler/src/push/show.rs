//! push::show: what a push says before it changes anything: where it goes
//! and from which bundle to which, what the host's records tell (a revert
//! that ran, pushes cut short), then the plan, its harms and a dry run's
//! preview; and the refusals that stop it there (drift, files that must not
//! exist, harms `--allow` does not name). Changes nothing on the host.

use super::{Delivery, PushError, Say};
use crate::diff::BundleChange;
use crate::harm::Harm;
use crate::host::record;
use crate::plan::preview;
use crate::ui::{plural, short_id};

impl Delivery<'_> {
    /// `pve-5 (root@pve-5): bundle OLD -> NEW`, then what the records tell.
    pub(super) fn announce(&self, say: &mut Say) {
        let (host, session, records) = (self.host.name, self.host.session, self.host.records);
        let through = if self.desired.bundle == host {
            String::new()
        } else {
            format!(" through {host}")
        };
        let root = if session.root.is_empty() {
            String::new()
        } else {
            format!(":{}", session.root)
        };
        say.say(&format!(
            "{}{through} ({}{root}): bundle {} -> {}\n",
            self.desired.bundle,
            session.remote.target,
            short_id(records.last.as_ref().map(|recorded| recorded.id.as_str())),
            short_id(Some(&self.new_id))
        ));
        for (path, size) in &self.host.found.large {
            say.say(&format!(
                "  not read: {path} is {size} bytes on {host}, above --max-file-size ({} MiB); compared by its SHA-256 only\n",
                session.remote.limits.file >> 20
            ));
        }
        if let Some(reverted) = &records.reverted {
            say.say(&format!(
                "  reverted: {host} put back what push {} (bundle {}) replaced, at {}, because the push was not confirmed\n",
                reverted.push,
                short_id(Some(&reverted.bundle_id)),
                reverted.at
            ));
            if !reverted.complete {
                say.say(&format!(
                    "  the revert was incomplete: a file was not put back or an action failed; see {}/REVERT.log\n",
                    record::path(&session.root, &format!("backup/{}", reverted.push))
                ));
            }
        }
    }

    /// A rollback or pushes cut short that this push finishes.
    pub(super) fn cut_short(&self, say: &mut Say) {
        let records = self.host.records;
        if let Some(rollback) = records.rollback_cut_short() {
            say.say(&format!(
                "  rollback cut short: {} did not finish undoing {}; `lugc push {} --rollback` finishes it\n",
                rollback.id,
                rollback.undoes().join(", "),
                self.desired.bundle
            ));
        } else if !records.pending.is_empty() {
            let ids: Vec<&str> = records
                .pending
                .iter()
                .map(|push| push.id.as_str())
                .collect();
            say.say(&format!(
                "  cut short: {} did not finish ({}); the files written are not drift\n",
                plural(ids.len(), "push"),
                ids.join(", ")
            ));
        }
    }

    /// The plan, then its harms; a dry run's preview.
    pub(super) fn show(
        &self,
        say: &mut Say,
    ) -> Result<(Vec<Harm>, Option<BundleChange>), PushError> {
        let (host, options) = (self.host, self.options);
        let drift_note = if options.force {
            "  [drift: overwritten by --force]"
        } else {
            "  [drift]"
        };
        say.say(&self.plan.render(self.desired, drift_note));
        let harms = super::judge::harms(
            host.session,
            host.name,
            self.desired,
            host.found,
            &self.plan,
        )?;
        say.say(&crate::harm::render(&harms, &options.allow));
        if options.apply {
            return Ok((harms, None));
        }
        let last = host.records.last.as_ref();
        let sides = preview::Sides {
            desired: self.desired,
            found: host.found,
            last: last.map(|recorded| &recorded.manifest),
            old_id: last.map(|recorded| recorded.id.clone()),
            new_id: self.new_text.as_ref().map(|_| self.new_id.clone()),
            host: host.name,
            set_owner: host.session.root_user,
            secret_paths: &options.secret_paths,
        };
        let preview = preview::bundle_change(&sides, &self.plan);
        Ok((harms, Some(preview)))
    }

    /// Drift and files that must not exist stop a push unless forced; with
    /// `--yes`, a harm whose kind `--allow` does not name stops it too (a
    /// dry run says what `--yes` will need).
    pub(super) fn refuse(&self, harms: &[Harm], say: &mut Say) -> Result<(), PushError> {
        let (host, options, plan) = (self.host.name, self.options, &self.plan);
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
        let refused = crate::harm::refused(harms, &options.allow);
        if refused.is_empty() {
            return Ok(());
        }
        let allow = crate::harm::allow_list(&refused);
        if !options.apply {
            say.say(&format!(
                "  --yes refuses these unless allowed by name: --allow {allow}\n"
            ));
            return Ok(());
        }
        Err(PushError::Harmful {
            host: host.to_owned(),
            bundle: self.desired.bundle.clone(),
            count: harms
                .iter()
                .filter(|harm| !options.allow.contains(&harm.kind))
                .count(),
            allow,
        })
    }
}
