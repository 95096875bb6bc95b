//! config: the command line resolved against the environment, once.
//! Stages take a `&Config` and never see a clap type; the arguments that
//! resolve into one (`InputArgs`, `Color`) are defined here, for `cli` and
//! `cmd/` to share.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::error::Error;
use crate::eval::{Detail, FactsUse};

/// Where the fleet description is and where its bundles go.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// The fleet description [default: cluster.ncl in this or a parent directory].
    #[arg(long, short = 'f', value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// The output directory [default: out/ beside FILE].
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Show, under each error in the fleet, where in lib/ it arose and Nickel's own report.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

/// Default name of the fleet description.
pub const DEFAULT_FILE: &str = "cluster.ncl";

/// Resolved input and output locations.
#[derive(Debug, Clone)]
pub struct Config {
    /// The main Nickel file.
    pub file: PathBuf,
    /// The output directory.
    pub out: PathBuf,
    /// How much of an error in the fleet to show.
    pub detail: Detail,
    /// Whether a disagreement with the hosts' facts fails the evaluation.
    pub facts: FactsUse,
}

impl Config {
    pub fn from_args(args: &InputArgs) -> Result<Config, Error> {
        let file = match &args.file {
            Some(file) => file.clone(),
            None => find_upwards(DEFAULT_FILE)?,
        };
        let out = match &args.out {
            Some(out) => out.clone(),
            None => file.parent().unwrap_or(Path::new("")).join("out"),
        };
        // A build killed while swapping bundles in is finished before any
        // command reads out/.
        crate::write::settle(&out)?;
        let detail = if args.verbose {
            Detail::Verbose
        } else {
            Detail::Brief
        };
        Ok(Config {
            file,
            out,
            detail,
            facts: FactsUse::Checked,
        })
    }

    /// The directory that holds the fleet description: the repository root by convention.
    pub fn root(&self) -> &Path {
        self.file.parent().unwrap_or(Path::new(""))
    }
}

/// Look for `name` in the working directory and its parents, like just looks for a justfile.
fn find_upwards(name: &str) -> Result<PathBuf, Error> {
    let cwd = std::env::current_dir().map_err(|error| {
        Error::usage(format!("cannot read the working directory: {error}"), None)
    })?;
    for dir in cwd.ancestors() {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return Ok(relative_to(&candidate, &cwd));
        }
    }
    Err(Error::usage(
        format!("no {name} in {} or any parent directory", cwd.display()),
        Some("pass the fleet description with --file".to_owned()),
    ))
}

fn relative_to(path: &Path, base: &Path) -> PathBuf {
    path.strip_prefix(base)
        .map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
}

/// Whether to colour output written to stdout/stderr.
pub fn use_color(choice: Color) -> bool {
    match choice {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
                && std::io::stderr().is_terminal()
                && std::io::stdout().is_terminal()
        }
    }
}
