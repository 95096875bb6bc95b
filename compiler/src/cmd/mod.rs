//! cmd: one module per subcommand, each an `XArgs` struct and a short `run`.

pub mod adopt;
pub mod build;
pub mod completions;
pub mod connect;
pub mod diff;
pub mod facts;
pub mod hosts;
pub mod push;
pub mod push_all;
pub mod push_check;
pub mod show;
pub mod status;

use std::io::Write;

use crate::cli::Command;
use crate::error::{Error, Outcome};

/// Dispatch a parsed subcommand; normal output goes to `out`, coloured when `color`.
pub fn run(command: Command, color: bool, out: &mut dyn Write) -> Result<Outcome, Error> {
    match command {
        Command::Build(args) => build::run(&args, out),
        Command::Diff(args) => diff::run(&args, color, out),
        Command::Push(args) => push::run(&args, color, out),
        Command::Status(args) => status::run(&args, color, out),
        Command::Facts(args) => facts::run(&args, out),
        Command::Adopt(args) => adopt::run(&args, out),
        Command::Hosts(args) => hosts::run(&args, out),
        Command::Show(args) => show::run(&args, out),
        Command::Completions(args) => completions::run(&args, out),
    }
}
