//! cli: the clap definition of the command line. Holds what was typed and
//! nothing else; `config` resolves it (and holds the arguments every
//! command shares, `InputArgs` and `Color`). Each subcommand's arguments
//! live beside its code in `cmd/`.

use clap::{Parser, Subcommand};

use crate::cmd;
use crate::config::Color;

/// Compile the Proxmox VE fleet in cluster.ncl into per-host bundles under out/,
/// review what changes, and push it to the hosts.
#[derive(Debug, Parser)]
#[command(name = "lugc", version, propagate_version = true)]
pub struct Cli {
    /// When to colour output (NO_COLOR and a non-terminal output mean never under auto).
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    pub color: Color,

    #[command(subcommand)]
    pub command: Command,
}

const PUSH_EXAMPLES: &str = "\
Examples:
  lugc push pve-6               what would change on pve-6: the plan, then a unified diff of
                                each file against the host's current one (secrets hidden)
  lugc push pve-6 --stat        the same, one line per file
  lugc push --all --json        every host's changes as one `lugc-diff 2` document
  lugc push pve-6 --yes         apply: send the files, run their actions, record the push
  lugc push --all --yes -j 8    every host, 8 at a time, then the cluster bundle; a table of results
  lugc push --all --yes --keep-going
                                go on past a host that fails (it is reported, exit 2)";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate cluster.ncl and write the bundles to out/ (or check that out/ is current).
    Build(cmd::build::BuildArgs),
    /// Show what changes on which host between a revision's out/ and the working tree.
    Diff(cmd::diff::DiffArgs),
    /// Show what a host's bundle changes on it, as diffs against its current files; with --yes, send it with rsync over ssh.
    #[command(after_help = PUSH_EXAMPLES)]
    Push(cmd::push::PushArgs),
    /// Every host at a glance, read-only: the bundle in out/, the one last pushed, and whether they agree.
    Status(cmd::status::StatusArgs),
    /// Gather what each host is (NICs, addresses, bridges, OS and PVE version, storage.cfg, VMs), read-only, into facts/<host>.json.
    Facts(cmd::facts::FactsArgs),
    /// Take into cluster.ncl the `# assumed` values the hosts' facts determine, in place; propose Nickel for what the hosts have and it lacks. Writes only cluster.ncl, only with --write.
    Adopt(cmd::adopt::AdoptArgs),
    /// List the hosts with their site, cluster membership, address and bundle id.
    Hosts(cmd::hosts::HostsArgs),
    /// Print a host's rendered files from out/ (or built in memory), without writing anything.
    Show(cmd::show::ShowArgs),
    /// Print a shell completion script.
    Completions(cmd::completions::CompletionsArgs),
}
