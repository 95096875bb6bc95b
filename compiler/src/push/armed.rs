//! push::armed: the reverts armed on the host a push goes to (`records`
//! lists those of every bundle there). One that is due stops any push that
//! would change the host, the cluster bundle's too, which goes through a
//! member whose own revert may fire under it. One whose process is gone
//! before it ran or ended (the host restarted, its clock is behind) would
//! stop pushes forever: `--force` abandons it on the host, once a rollback
//! could still put back everything its pushes replaced. One whose deadline
//! passed without it running leaves its push pending, cut short.

use crate::host::probe::{self, ArmedPush, Records, RevertState};
use crate::host::Session;
use crate::push::error::PushError;
use crate::push::{rollback, Options, Say};

/// Say what the reverts armed on `host` mean for this push of `bundle`,
/// and stop it while one is due or, without `--force`, gone.
pub fn check(
    session: &Session,
    host: &str,
    bundle: &str,
    records: &Records,
    options: &Options,
    say: &mut Say,
) -> Result<(), PushError> {
    for armed in &records.armed {
        let own = armed.bundle == bundle;
        match armed.state() {
            RevertState::Due => {
                if options.apply {
                    return Err(PushError::RevertArmed {
                        host: host.to_owned(),
                        id: armed.id.clone(),
                        when: when(armed, host),
                    });
                }
                say.say(&format!("  armed: {}\n", due(armed, host)));
            }
            RevertState::Gone if own => {
                say.say(&format!("  revert gone: {}\n", gone(armed, host)));
                if options.apply && !options.force {
                    return Err(PushError::RevertGone {
                        host: host.to_owned(),
                        id: armed.id.clone(),
                        when: when(armed, host),
                        bundle: bundle.to_owned(),
                    });
                }
                if options.apply {
                    abandon(session, host, bundle, records, armed)?;
                    say.say(&format!(
                        "  abandoned: the revert of push {} will not run; a rollback can still put back what it replaced\n",
                        armed.id
                    ));
                }
            }
            RevertState::Stale if own => say.say(&format!(
                "  unconfirmed: push {} was never confirmed and its revert never ran (did {host} restart?); its files are in place\n",
                armed.id
            )),
            RevertState::Gone | RevertState::Stale => {}
        }
    }
    for id in &records.confirmed {
        say.say(&format!(
            "  confirmed: push {id} was confirmed on {host} but not recorded complete\n"
        ));
    }
    Ok(())
}

/// `push ID reverts at 2026-… (in 42 s by pve-5's clock) unless it is confirmed`.
pub fn due(armed: &ArmedPush, host: &str) -> String {
    if armed.reverting {
        format!("{host} is reverting push {}", armed.id)
    } else {
        format!(
            "push {} is not confirmed; {host} reverts it {} unless it is",
            armed.id,
            when(armed, host)
        )
    }
}

/// `push ID was not confirmed, and its revert process is gone …`.
pub fn gone(armed: &ArmedPush, host: &str) -> String {
    let what = if armed.reverting {
        "its revert process stopped before it finished"
    } else {
        "its revert process is gone before its deadline"
    };
    format!(
        "push {} was not confirmed, and {what} (did {host} restart, or is its clock behind?); it will never run: {}",
        armed.id,
        when(armed, host)
    )
}

/// The deadline as the host tells it: `at 2026-01-01T00:00:00Z (in 42 s by pve-5's clock)`.
pub fn when(armed: &ArmedPush, host: &str) -> String {
    let relative = if armed.left >= 0 {
        format!("in {} s", armed.left)
    } else {
        format!("{} s ago", -armed.left)
    };
    match &armed.deadline {
        Some(at) => format!("at {at} ({relative} by {host}'s clock)"),
        None => "at a deadline that cannot be read".to_owned(),
    }
}

/// Abandon the revert of `armed` on the host, once a rollback of the
/// pending pushes could put back every path they changed.
fn abandon(
    session: &Session,
    host: &str,
    bundle: &str,
    records: &Records,
    armed: &ArmedPush,
) -> Result<(), PushError> {
    let undo = rollback::undo(records, host, bundle)?;
    let found = probe::files(session, host, &undo.paths())?;
    undo.desired(records, &found, host, bundle)?;
    session.run("abandon", &[&armed.id], b"")?;
    Ok(())
}
