//! `lugc diff`: not implemented yet (its own issue); says so and fails.

use std::io::Write;

use clap::Args;

use crate::error::{Error, Outcome};

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Revisions to compare: `REV` (against the working tree) or `A B`.
    #[arg(value_name = "REV", num_args = 0..=2)]
    pub revisions: Vec<String>,
}

pub fn run(_args: &DiffArgs, _out: &mut dyn Write) -> Result<Outcome, Error> {
    Err(Error::NotImplemented { command: "diff" })
}
