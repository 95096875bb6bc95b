//! `lugc push`: not implemented yet (its own issue); says so and fails.

use std::io::Write;

use clap::Args;

use crate::error::{Error, Outcome};

#[derive(Debug, Args)]
pub struct PushArgs {
    /// The host to push to, or `cluster` for the cluster bundle.
    #[arg(value_name = "HOST")]
    pub host: Option<String>,
}

pub fn run(_args: &PushArgs, _out: &mut dyn Write) -> Result<Outcome, Error> {
    Err(Error::NotImplemented { command: "push" })
}
