//! push::actions: run a plan's actions on the host, one at a time, through
//! the action runner (`sh -c` unless `--action-runner` says otherwise), show
//! their output, and stop at the first failure with what ran and what did not.

use std::io::Write;

use crate::push::error::PushError;
use crate::push::transport::{describe, shell_quote, Remote};

/// Run `actions` in order as `RUNNER 'ACTION'` over ssh; `host` names the host in messages.
pub fn run(
    remote: &Remote,
    runner: &str,
    host: &str,
    actions: &[String],
    out: &mut dyn Write,
) -> Result<(), PushError> {
    let show = |out: &mut dyn Write, text: String| {
        // Progress output that cannot be written is not a reason to stop halfway.
        let _ = write!(out, "{text}");
    };
    for (done, action) in actions.iter().enumerate() {
        show(out, format!("  running: {action}\n"));
        let output = remote.shell(&format!("{runner} {}", shell_quote(action)), b"")?;
        for stream in [&output.stdout, &output.stderr] {
            for line in String::from_utf8_lossy(stream).lines() {
                show(out, format!("    | {line}\n"));
            }
        }
        if !output.status.success() {
            let ran = &actions[..done];
            let not_run = &actions[done + 1..];
            let report = format!(
                "the files are on the host; actions run: {}; not run: {}. The host keeps the previous MANIFEST, so the next push runs these actions again",
                join_or_none(ran),
                join_or_none(not_run),
            );
            return Err(PushError::ActionFailed {
                host: host.to_owned(),
                action: action.clone(),
                status: describe(&output),
                report,
            });
        }
    }
    Ok(())
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
