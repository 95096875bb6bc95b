//! push::apply: a push carried out, once `show` let it through and `--yes`
//! asked for it: the transfer (begin, files), the actions up to the first
//! that can cut the host off, then, with a revert armed, the rest, the
//! health checks and the confirmation, and last the record.

use std::ops::Range;
use std::time::Duration;

use super::transfer::{self, Begun};
use super::{actions, confirm, rollback, Delivery, PushError, Say};
use crate::host::{record, Armed};
use crate::plan::on_pmxcfs;
use crate::ui::{plural, short_id};

impl Delivery<'_> {
    /// Carry out the plan: each stage in turn, the first failure ends it.
    pub(super) fn apply(&self, say: &mut Say) -> Result<(), PushError> {
        let (plan, session) = (&self.plan, self.host.session);
        if plan.changes.iter().any(|(path, _)| on_pmxcfs(path)) {
            session.check_quorum()?;
        }
        let first_guarded = plan
            .actions
            .iter()
            .position(|action| self.desired.confirms(action));
        let window = self.options.confirm.filter(|_| first_guarded.is_some());
        if first_guarded.is_some() && window.is_none() {
            say.say("  not guarded (--no-confirm): actions that can cut the host off run without a revert armed\n");
        }
        let begun = self.transfer(window.is_some(), say)?;
        // Actions up to the first that can cut the host off run unguarded.
        let split = first_guarded
            .filter(|_| window.is_some())
            .unwrap_or(plan.actions.len());
        self.actions(0..split, None, say)?;
        if let Some(seconds) = window {
            self.guarded(&begun, split, seconds, say)?;
        }
        self.record(&begun, say)
    }

    /// Begin the push on the host and write and remove its files; nothing
    /// to begin when only actions are due, unguarded, and the record stays.
    fn transfer(&self, guarded: bool, say: &mut Say) -> Result<Begun, PushError> {
        let (plan, session, records) = (&self.plan, self.host.session, self.host.records);
        if plan.changes.is_empty() && self.new_text.as_deref() == self.last_text() && !guarded {
            return Ok(Begun {
                id: String::new(),
                pushes: records.pending.iter().map(|push| push.id.clone()).collect(),
            });
        }
        let begun = transfer::begin(
            session,
            self.desired,
            records,
            plan,
            &self.host.found.files,
            &self.new_id,
        )
        .map_err(self.cut_short_at(Stage::Begin))?;
        let kept = transfer::files(session, self.desired, plan, &begun)
            .map_err(self.cut_short_at(Stage::Transfer))?;
        let backup = if kept > 0 {
            format!(
                "; {} kept in {}",
                plural(kept, "replaced file"),
                record::backup_files(&session.root, &begun.id)
            )
        } else {
            String::new()
        };
        say.say(&format!(
            "  transferred {} file(s), removed {}{backup}\n",
            plan.writes().count(),
            plan.removals().count()
        ));
        Ok(begun)
    }

    /// Run the plan's actions `run`, each moving `armed`'s deadline.
    fn actions(
        &self,
        run: Range<usize>,
        armed: Option<&Armed>,
        say: &mut Say,
    ) -> Result<(), PushError> {
        let actions = actions::Actions {
            session: self.host.session,
            runner: &self.options.runner,
            limit: self.options.action_timeout,
            host: self.host.name,
            next: self.next_step(),
            actions: &self.plan.actions,
        };
        actions.run(run, armed, say)
    }

    /// Arm the revert, run the actions from `split` on under it, check the
    /// host's health and confirm the push over a new connection.
    fn guarded(
        &self,
        begun: &Begun,
        split: usize,
        seconds: Duration,
        say: &mut Say,
    ) -> Result<(), PushError> {
        let (host, session) = (self.host.name, self.host.session);
        let armed = self.arm(begun, split, seconds)?;
        say.say(&format!(
            "  armed: {host} reverts this push on its own unless lugc confirms it over a new connection within {} s of the last action\n",
            seconds.as_secs()
        ));
        let _window = crate::host::private::SignalNote::new(format!(
            "lugc: stopped while push {} is armed on {host}: unless it is confirmed, {host} reverts it at its deadline, {} s after its last action ended; `lugc status {}` tells which",
            armed.id,
            seconds.as_secs(),
            self.desired.bundle
        ));
        self.actions(split..self.plan.actions.len(), Some(&armed), say)
            .map_err(|cause| {
                // An action that failed on a host lugc still reaches: revert now.
                let now = matches!(cause, PushError::ActionFailed { .. })
                    && confirm::hasten(session, &armed).is_ok();
                let when = if now { "now" } else { "on its own" };
                let state = format!(
                    "the push is not confirmed: {host} puts back the files it replaced and runs their actions {when}; `lugc push {}` or `lugc status` reports it",
                    self.desired.bundle
                );
                PushError::CutShort {
                    state,
                    cause: Box::new(cause),
                }
            })?;
        self.confirm_healthy(&armed, say)?;
        say.say(&format!(
            "  confirmed: {} took a new ssh connection; the revert is disarmed\n",
            session.remote.target
        ));
        Ok(())
    }

    /// Leave with the host a revert of this push that fires `seconds` after
    /// its last action unless confirmed; `split` is the first guarded action.
    fn arm(&self, begun: &Begun, split: usize, seconds: Duration) -> Result<Armed, PushError> {
        let (host, options) = (self.host.name, self.options);
        let revert_actions = rollback::revert_actions(self.host.records, self.desired, &self.plan);
        let revert = confirm::Revert {
            bundle: &self.desired.bundle,
            bundle_id: &self.new_id,
            actions: &revert_actions,
            runner: &options.runner,
            action_timeout: options.action_timeout,
            confirm: seconds,
        };
        confirm::arm(self.host.session, begun, &revert).map_err(|cause| {
            let state = format!(
                "the files are in place on {host} and the actions before `{}` ran; none that can cut {host} off ran. {host} records the push as pending: {}",
                self.plan.actions[split],
                self.next_step()
            );
            PushError::CutShort {
                state,
                cause: Box::new(cause),
            }
        })
    }

    /// Run the bundle's health checks on the host, then confirm the push
    /// over a new connection.
    fn confirm_healthy(&self, armed: &Armed, say: &mut Say) -> Result<(), PushError> {
        let (host, session, options) = (self.host.name, self.host.session, self.options);
        let checks = confirm::Checks {
            paths: self.desired.checks(),
            runner: &options.runner,
            limit: options.action_timeout,
            host,
            bundle: &self.desired.bundle,
        };
        confirm::check(session, armed, &checks, &mut |text| say.say(text))?;
        confirm::confirm(session.remote, &session.root, host, armed)
    }

    /// Record the push as complete on the host.
    fn record(&self, begun: &Begun, say: &mut Say) -> Result<(), PushError> {
        transfer::finish(
            self.host.session,
            &self.desired.bundle,
            begun,
            self.new_text.as_deref(),
            self.last_text(),
            self.host.records.reverted.is_some(),
        )
        .map_err(self.cut_short_at(Stage::Record))?;
        say.say(&format!(
            "  done: {} {} is in place on {}\n",
            self.desired.bundle,
            short_id(Some(&self.new_id)),
            self.host.name
        ));
        Ok(())
    }

    /// An error at `stage`, said as what the host has now.
    fn cut_short_at(&self, stage: Stage) -> impl FnOnce(PushError) -> PushError {
        let state = stage.state(self.host.name, &self.next_step());
        move |cause: PushError| PushError::CutShort {
            state,
            cause: Box::new(cause),
        }
    }
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
