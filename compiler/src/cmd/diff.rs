//! `lugc diff`: out/ at a revision against the working tree's out/, against
//! another revision, or against cluster.ncl built in memory (`--rebuild`).
//!
//! Input: the typed arguments. Output: the report in the chosen format and
//! exit 0 (no change) or 1 (changes). Never writes out/ and never runs git.

use std::io::Write;

use clap::{Args, ValueEnum};

use crate::cli::InputArgs;
use crate::config::Config;
use crate::diff::{self, DirTree, MemTree, Repo};
use crate::error::{Error, Outcome};

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// `REV` compares out/ at REV with the working tree's out/ (REV defaults to HEAD); `A B` compares two revisions.
    #[arg(value_name = "REV", num_args = 0..=2)]
    pub revisions: Vec<String>,

    /// Compare REV's out/ with cluster.ncl built in memory instead of the working tree's out/.
    #[arg(long)]
    pub rebuild: bool,

    /// Per host and file, the lines added and removed.
    #[arg(long, conflicts_with_all = ["name_only", "json", "format"])]
    pub stat: bool,

    /// Only the changed files, as paths inside out/ (`pve-5/etc/chrony/chrony.conf`).
    #[arg(long, conflicts_with_all = ["json", "format"])]
    pub name_only: bool,

    /// The same as `--format json` (schema `lugc-diff 1`, see ARCHITECTURE.md).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,

    /// How to draw the report.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Only the bundles of HOST: its own, and the cluster bundle when it reaches HOST. Repeatable.
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Per bundle: ids, files with unified diffs, actions.
    Text,
    /// A merge-request comment with a collapsible section per host.
    Markdown,
    /// One JSON document, schema `lugc-diff 1`.
    Json,
}

/// `color`: whether the unified diff is coloured (the global `--color`, resolved).
pub fn run(args: &DiffArgs, color: bool, out: &mut dyn Write) -> Result<Outcome, Error> {
    if args.rebuild && args.revisions.len() == 2 {
        return Err(Error::usage(
            "--rebuild compares one revision with cluster.ncl built in memory",
            Some("give one REV with --rebuild, or drop --rebuild to compare two revisions".into()),
        ));
    }
    let config = Config::from_args(&args.input)?;
    let repo = Repo::discover(config.root(), &config.out)?;
    let old = repo.at(args.revisions.first().map_or("HEAD", String::as_str))?;
    let report = match (args.revisions.get(1), args.rebuild) {
        (Some(rev), _) => diff::compare(&old, &repo.at(rev)?, &args.hosts)?,
        (None, true) => {
            let compilation = crate::compile(&config)?;
            let label = format!("{} (rebuilt)", config.file.display());
            let new = MemTree::new(label, compilation.bundles);
            diff::compare(&old, &new, &args.hosts)?
        }
        (None, false) => diff::compare(&old, &DirTree::open(&config.out)?, &args.hosts)?,
    };
    match (args.json, args.format) {
        (true, _) | (false, Format::Json) => diff::json::write(&report, out)?,
        (false, Format::Markdown) => diff::output::markdown(&report, out)?,
        (false, Format::Text) if args.stat => diff::output::stat(&report, color, out)?,
        (false, Format::Text) if args.name_only => diff::output::name_only(&report, out)?,
        (false, Format::Text) => diff::output::text(&report, color, out)?,
    }
    Ok(if report.bundles.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Differs
    })
}
