//! push::actions: run a plan's actions on the host, one at a time, through
//! the action runner (`sh -c` unless `--action-runner` says otherwise), each
//! stopped on the host after `--action-timeout`; show their output as it
//! comes, and stop at the first failure saying what ran and what did not.

use std::ops::Range;
use std::time::Duration;

use crate::host::{Armed, Ended, Session};
use crate::push::error::PushError;
use crate::push::Say;

/// The actions of a push and how they run on the host.
pub struct Actions<'a> {
    pub session: &'a Session<'a>,
    /// The program that runs an action (`--action-runner`).
    pub runner: &'a str,
    /// How long an action may run.
    pub limit: Duration,
    /// The host, for messages.
    pub host: &'a str,
    /// What to do when one fails, for its message.
    pub next: String,
    pub actions: &'a [String],
}

impl Actions<'_> {
    /// Run `actions[run]` in order (the earlier ones ran already). With
    /// `armed`, each moves the revert's deadline.
    pub fn run(
        &self,
        run: Range<usize>,
        armed: Option<&Armed>,
        say: &mut Say,
    ) -> Result<(), PushError> {
        let Actions {
            session,
            runner,
            limit,
            host,
            ref next,
            actions,
        } = *self;
        for done in run {
            let action = &actions[done];
            say.say(&format!("  running: {action}\n"));
            let mut show = |line: &str| say.say(&format!("    | {line}\n"));
            let ran = join_or_none(&actions[..done]);
            let not_run = join_or_none(&actions[done + 1..]);
            let ended = session
                .action(runner, action, limit, armed, &mut show)
                .map_err(|cause| PushError::ActionCut {
                    host: host.to_owned(),
                    action: action.clone(),
                    cause: Box::new(cause.into()),
                    report: format!(
                        "the files are in place on {host}; actions run: {ran}; `{action}` was running (on the host it finished or was stopped); not run: {not_run}. {host} records the push as pending (its actions all run again): {next}"
                    ),
                })?;
            let status = match ended {
                Ended::Status(0) => continue,
                Ended::Status(code) => format!("exit {code}"),
                Ended::Signal => "killed by a signal".to_owned(),
                Ended::TimedOut => format!(
                    "still running after {} s; stopped on the host",
                    limit.as_secs().max(1)
                ),
            };
            return Err(PushError::ActionFailed {
                host: host.to_owned(),
                action: action.clone(),
                status,
                report: format!(
                    "the files are in place on {host}; actions run: {ran}; not run: {not_run}. {host} keeps its previous MANIFEST and records the push as pending (its actions all run again): once the cause is fixed, {next}"
                ),
            });
        }
        Ok(())
    }
}

fn join_or_none(actions: &[String]) -> String {
    if actions.is_empty() {
        "none".to_owned()
    } else {
        actions
            .iter()
            .map(|action| format!("`{action}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
