//! `lugc facts`: what each host is, gathered read-only into `facts/<host>.json`,
//! `-j N` hosts at a time, a row printed as each host answers. Exit 0 when
//! every host answered; 2 when one did not (the others' facts are written).

use std::io::Write;
use std::path::Path;

use clap::Args;

use super::connect::{self, ConnectArgs};
use crate::config::{Config, InputArgs};
use crate::error::{Error, Outcome};
use crate::facts::{self, FactsError};
use crate::host::Remote;
use crate::render::CLUSTER_BUNDLE;

#[derive(Debug, Args)]
pub struct FactsArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Hosts to gather facts from [default: every host].
    #[arg(value_name = "HOST")]
    pub hosts: Vec<String>,

    #[command(flatten)]
    pub jobs: connect::JobsArgs,

    /// Program that runs each fact command on the host (`ip -j link`, `pveversion`…), given the command as its last argument.
    #[arg(long, value_name = "PROGRAM", default_value = "sh -c")]
    pub fact_runner: String,

    #[command(flatten)]
    pub connect: ConnectArgs,
}

pub fn run(args: &FactsArgs, out: &mut dyn Write) -> Result<Outcome, Error> {
    // Stale facts must not stop their own refresh; lib/ reads them via facts/index.ncl.
    let config = Config {
        facts: crate::eval::FactsUse::Unchecked,
        ..Config::from_args(&args.input)?
    };
    facts::write_index(config.root())?;
    let compilation = crate::compile(&config)?;
    let selected = connect::selected(&args.hosts, &compilation.bundles)?;
    let hosts = selected
        .iter()
        .filter(|bundle| bundle.name != CLUSTER_BUNDLE)
        .map(|bundle| {
            let remote = args.connect.remote(&compilation.fleet, &bundle.name)?;
            Ok((bundle.name.clone(), remote))
        })
        .collect::<Result<Vec<(String, Remote)>, Error>>()?;
    if hosts.len() < selected.len() && !args.hosts.is_empty() {
        return Err(FactsError::Cluster.into());
    }
    let root = config.root();
    let width = hosts.iter().map(|(host, _)| host.len()).max().unwrap_or(0);
    let mut unreached = Vec::new();
    let (mut written, mut unchanged) = (0, 0);
    let gather =
        |(host, remote): &(String, Remote)| crate::gather::gather(remote, host, &args.fact_runner);
    connect::in_parallel(
        &hosts,
        args.jobs.jobs,
        gather,
        |index, result| -> Result<(), Error> {
            let host = &hosts[index].0;
            match result {
                Ok(facts) => {
                    let changed = facts::write(root, host, &facts.render())?;
                    let file = facts::path(Path::new(""), host);
                    let how = if changed { "written" } else { "unchanged" };
                    if changed {
                        written += 1;
                    } else {
                        unchanged += 1;
                    }
                    writeln!(
                        out,
                        "{host:width$}  {} {how}: {}",
                        file.display(),
                        facts.summary()
                    )?;
                }
                Err(error) if error.is_local() => return Err(error.into()),
                Err(error) => {
                    writeln!(out, "{host:width$}  no facts: {}", error.one_line())?;
                    unreached.push(host.clone());
                }
            }
            out.flush()?;
            Ok(())
        },
    )?;
    let mut parts = vec![
        format!("{written} written"),
        format!("{unchanged} unchanged"),
    ];
    if !unreached.is_empty() {
        parts.push(format!("{} without facts", unreached.len()));
    }
    writeln!(
        out,
        "{}: {}",
        crate::ui::plural(hosts.len(), "host"),
        parts.join(", ")
    )?;
    if unreached.is_empty() {
        Ok(Outcome::Clean)
    } else {
        crate::natural::sort(&mut unreached);
        Err(FactsError::Unreached { hosts: unreached }.into())
    }
}
