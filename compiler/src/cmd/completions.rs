//! `lugc completions <shell>`: a completion script generated from the clap definition.

use std::io::Write;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::Cli;
use crate::error::{Error, Outcome};

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for.
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn run(args: &CompletionsArgs, out: &mut dyn Write) -> Result<Outcome, Error> {
    clap_complete::generate(args.shell, &mut Cli::command(), "lugc", out);
    Ok(Outcome::Clean)
}
