//! `lugc hosts`: every host with its site, cluster membership and bundle id.

use std::io::Write;

use clap::Args;

use crate::cli::InputArgs;
use crate::config::Config;
use crate::error::{Error, Outcome};

#[derive(Debug, Args)]
pub struct HostsArgs {
    #[command(flatten)]
    pub input: InputArgs,
}

pub fn run(args: &HostsArgs, out: &mut dyn Write) -> Result<Outcome, Error> {
    let config = Config::from_args(&args.input)?;
    let compilation = crate::compile(&config)?;
    let rows: Vec<[&str; 4]> = compilation
        .bundles
        .iter()
        .filter_map(|bundle| {
            let host = compilation.fleet.hosts.get(&bundle.name)?;
            let membership = if host.cluster { "member" } else { "standalone" };
            Some([
                bundle.name.as_str(),
                host.site.as_str(),
                membership,
                bundle.id.as_str(),
            ])
        })
        .collect();
    let header = ["HOST", "SITE", "CLUSTER", "BUNDLE"];
    let widths: Vec<usize> = (0..3)
        .map(|column| {
            rows.iter()
                .map(|row| row[column].len())
                .chain([header[column].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in std::iter::once(&header).chain(&rows) {
        writeln!(
            out,
            "{:w0$}  {:w1$}  {:w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        )?;
    }
    Ok(Outcome::Clean)
}
