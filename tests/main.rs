//! lugc's integration tests: one binary, one module per subcommand or concern.

mod artifacts;
mod cli;
mod common;
mod fleet;
mod hardening;
mod host;
mod qemu_cfg;
mod secrets;
mod storage_cfg;
