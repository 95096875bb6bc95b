//! lugc's integration tests: one binary, one module per subcommand.

mod cli;
mod common;
