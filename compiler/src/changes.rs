//! changes: where the description differs from the state the hosts' facts
//! show (addresses, bridge ports, storage.cfg, VM configs): not errors, but
//! what the next push changes, located at the value in the main file.

use std::io::{self, Write};

use crate::diagnostic::line_column;
use crate::eval::Evaluated;

/// One difference between a value and the state a host's facts show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Line and column of the value, where the main file writes it.
    pub at: Option<(usize, usize)>,
    /// How the value and the host differ, in words.
    pub message: String,
}

/// The changes a push would make, in file order, each once.
pub fn of(evaluated: &Evaluated) -> Vec<Change> {
    let mut changes: Vec<(Option<usize>, String)> = evaluated
        .changes()
        .filter_map(|claim| {
            let offset = claim.range.as_ref().map(|range| range.start);
            Some((offset, claim.message.clone()?))
        })
        .collect();
    changes.sort();
    changes.dedup();
    changes
        .into_iter()
        .map(|(offset, message)| Change {
            at: offset.map(|offset| line_column(&evaluated.main_text, offset)),
            message,
        })
        .collect()
}

/// `file:line:column: change: message`, one line each.
pub fn write(name: &str, changes: &[Change], out: &mut dyn Write) -> io::Result<()> {
    for change in changes {
        match change.at {
            Some((line, column)) => write!(out, "{name}:{line}:{column}")?,
            None => write!(out, "{name}")?,
        }
        writeln!(out, ": change: {}", change.message)?;
    }
    Ok(())
}
