//! `lugc build`: compile and write out/, or with `--check` report a stale out/.

use std::io::Write;

use clap::Args;

use crate::cli::InputArgs;
use crate::config::Config;
use crate::error::{Error, Outcome};
use crate::write::{self, Staleness};

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Build in memory and compare with out/: exit 1 and name the differing files when it is stale.
    #[arg(long)]
    pub check: bool,
}

pub fn run(args: &BuildArgs, out: &mut dyn Write) -> Result<Outcome, Error> {
    let config = Config::from_args(&args.input)?;
    let compilation = crate::compile(&config)?;
    let shown = config.out.display();
    if args.check {
        let stale = write::check(&config.out, &compilation.bundles)?;
        for (path, how) in &stale {
            let how = match how {
                Staleness::Missing => "missing",
                Staleness::Modified => "modified",
                Staleness::Extra => "not generated",
            };
            writeln!(out, "stale: {}: {how}", config.out.join(path).display())?;
        }
        if stale.is_empty() {
            writeln!(out, "{shown} is current")?;
            return Ok(Outcome::Clean);
        }
        writeln!(
            out,
            "{shown} is stale: run `lugc build` and commit the result"
        )?;
        return Ok(Outcome::Differs);
    }
    write::write(&config.out, &compilation.bundles)?;
    for bundle in &compilation.bundles {
        writeln!(out, "{} {}", bundle.id, bundle.name)?;
    }
    Ok(Outcome::Clean)
}
