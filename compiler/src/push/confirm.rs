//! push::confirm: actions that can cut a host off run under a revert that
//! the host carries out on its own (Junos' `commit confirmed`, deploy-rs'
//! magic rollback).
//!
//! `arm` leaves the revert with the host before the first action runs: a
//! detached process, outside lugc's connection, that fires a while after the
//! push's last action ended (host.sh's `action` moves its deadline). Once the
//! actions ran, `confirm` disarms it over a new ssh connection: if lugc can
//! still reach the host afresh, the change did not cut it off. If it cannot,
//! nothing disarms the revert, and the host puts back what the push replaced,
//! runs their actions and records that it reverted. Before `confirm`,
//! `check` runs the bundle's health checks on the host (a network change can
//! leave ssh up and cut VMs off); a failed one has the host revert at once.

use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::host::record;
use crate::host::remote::{shell_quote, Disarmed};
use crate::host::script::EXIT_REVERT_BEGAN;
use crate::host::{Armed, Ended, HostError, Remote, Session, HOST_SH};
use crate::push::error::{noun, PushError};
use crate::push::transfer::Begun;

/// What the revert needs besides the push itself.
pub struct Revert<'a> {
    pub bundle: &'a str,
    pub bundle_id: &'a str,
    /// The actions of the paths the revert puts back, run once it has.
    pub actions: &'a [String],
    pub runner: &'a str,
    pub action_timeout: Duration,
    pub confirm: Duration,
}

/// Arm the revert of `begun` (and of the pending pushes it completes).
pub fn arm(session: &Session, begun: &Begun, revert: &Revert) -> Result<Armed, PushError> {
    let lines = |items: &[String]| {
        items
            .iter()
            .map(|item| format!("{item}\n"))
            .collect::<String>()
    };
    for (name, text) in [
        (record::armed_pushes(&begun.id), lines(&begun.pushes)),
        (record::armed_actions(&begun.id), lines(revert.actions)),
    ] {
        session.run("record", &[&name, "0600"], text.as_bytes())?;
    }
    let seconds = |duration: Duration| duration.as_secs().max(1).to_string();
    session.run(
        "arm",
        &[
            &begun.id,
            &seconds(revert.confirm),
            &seconds(revert.action_timeout),
            revert.runner,
            revert.bundle,
            revert.bundle_id,
        ],
        HOST_SH.as_bytes(),
    )?;
    Ok(Armed {
        id: begun.id.clone(),
        confirm: revert.confirm,
    })
}

/// The push failed: have the host revert it now rather than at the deadline.
pub fn hasten(session: &Session, armed: &Armed) -> Result<(), PushError> {
    session.run("hasten", &[&armed.id], b"")?;
    Ok(())
}

/// What `check` needs: the health checks and how to run them.
pub struct Checks<'a> {
    /// The bundle's health check files (MANIFEST `check` lines).
    pub paths: &'a [String],
    pub runner: &'a str,
    pub limit: Duration,
    pub host: &'a str,
    pub bundle: &'a str,
}

/// Run each health check on the host through the action runner, the revert
/// still armed (each moves its deadline, as an action does), showing its
/// lines. A check that fails has the host revert now; its `failed NAME: WHY`
/// lines name what failed.
pub fn check(
    session: &Session,
    armed: &Armed,
    checks: &Checks,
    say: &mut dyn FnMut(&str),
) -> Result<(), PushError> {
    let host = checks.host;
    for path in checks.paths {
        let command = format!("sh {}", shell_quote(&format!("{}{path}", session.root)));
        say(&format!("  checking: {path}\n"));
        let mut failed: Vec<String> = Vec::new();
        let mut show = |line: &str| {
            say(&format!("    | {line}\n"));
            if let Some(what) = line.strip_prefix("failed ") {
                failed.push(what.to_owned());
            }
        };
        let ended = session.action(
            checks.runner,
            &command,
            checks.limit,
            Some(armed),
            &mut show,
        );
        let status = match ended {
            Ok(Ended::Status(0)) => continue,
            Ok(Ended::Status(code)) => format!("exit {code}"),
            Ok(Ended::Signal) => "killed by a signal".to_owned(),
            Ok(Ended::TimedOut) => {
                format!("still running after {} s", checks.limit.as_secs().max(1))
            }
            Err(cause) => {
                let state = format!(
                    "the push is not confirmed: {host} puts back the files it replaced and runs their actions on its own; `lugc push {}` or `lugc status` reports it",
                    checks.bundle
                );
                return Err(PushError::CutShort {
                    state,
                    cause: Box::new(cause.into()),
                });
            }
        };
        let when = if hasten(session, armed).is_ok() {
            "now"
        } else {
            "on its own"
        };
        let what = if failed.is_empty() {
            format!("{path} ended with {status}")
        } else {
            format!(
                "{} failed: {}",
                noun(failed.len(), "check"),
                failed.join("; ")
            )
        };
        return Err(PushError::Unhealthy {
            host: host.to_owned(),
            what,
            state: format!(
                "the push is not confirmed: {host} puts back the files it replaced and runs their actions {when}; fix the description and push again; `lugc push {}` or `lugc status` reports the revert",
                checks.bundle
            ),
        });
    }
    Ok(())
}

/// Disarm the revert over a new connection, trying again until shortly
/// before the host's deadline. Once an answer may have reached the host
/// with its reply lost, only a later reply tells; without one the outcome
/// is unknown, never "not confirmed".
pub fn confirm(remote: &Remote, root: &str, host: &str, armed: &Armed) -> Result<(), PushError> {
    let margin = (armed.confirm / 5).min(Duration::from_secs(5));
    let deadline = Instant::now() + armed.confirm.saturating_sub(margin);
    let mut unknown = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let error = match remote.disarm(root, &armed.id, left)? {
            Disarmed::Answered(0) => return Ok(()),
            Disarmed::Answered(EXIT_REVERT_BEGAN) => {
                return Err(PushError::RevertBegan {
                    host: host.to_owned(),
                })
            }
            Disarmed::Answered(code) => HostError::Remote {
                target: remote.target.clone(),
                command: "disarm".to_owned(),
                status: format!("exit {code}"),
                detail: "no message".to_owned(),
            }
            .into(),
            Disarmed::NotSent(error) => error.into(),
            Disarmed::Unknown(error) => {
                unknown = true;
                error.into()
            }
        };
        if Instant::now() + Duration::from_secs(1) >= deadline {
            let (host, cause) = (host.to_owned(), Box::new(error));
            return Err(if unknown {
                PushError::ConfirmUnknown {
                    host,
                    id: armed.id.clone(),
                    cause,
                }
            } else {
                PushError::NotConfirmed {
                    host,
                    seconds: armed.confirm.as_secs(),
                    cause,
                }
            });
        }
        sleep(Duration::from_secs(1));
    }
}
