//! `lugc hosts`: every host in natural order with its site, cluster
//! membership, address and bundle id, as a table or as JSON (`--json`,
//! schema `lugc-hosts 1`). Builds the fleet in memory; writes nothing.

use std::io::Write;

use clap::Args;
use serde::Serialize;

use crate::config::{Config, InputArgs};
use crate::error::{Error, Outcome};
use crate::natural;
use crate::ui::{short_id, table};

#[derive(Debug, Args)]
pub struct HostsArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// One JSON document: `{ "schema": "lugc-hosts 1", "hosts": [ { "name", "site", "cluster", "address", "ssh_target", "bundle" } ] }`.
    #[arg(long)]
    pub json: bool,
}

/// Value of the `schema` field of `--json`.
pub const SCHEMA: &str = "lugc-hosts 1";

#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    hosts: Vec<Row<'a>>,
}

#[derive(Serialize)]
struct Row<'a> {
    name: &'a str,
    site: &'a str,
    cluster: bool,
    address: Option<&'a str>,
    ssh_target: &'a str,
    bundle: &'a str,
}

pub fn run(args: &HostsArgs, out: &mut dyn Write) -> Result<Outcome, Error> {
    let config = Config::from_args(&args.input)?;
    let compilation = crate::compile(&config)?;
    let mut rows: Vec<Row<'_>> = compilation
        .bundles
        .iter()
        .filter_map(|bundle| {
            let host = compilation.fleet.hosts.get(&bundle.name)?;
            Some(Row {
                name: &bundle.name,
                site: &host.site,
                cluster: host.cluster,
                address: host.address.as_deref(),
                ssh_target: &host.ssh_target,
                bundle: &bundle.id,
            })
        })
        .collect();
    rows.sort_by(|a, b| natural::cmp(a.name, b.name));
    if args.json {
        let document = Document {
            schema: SCHEMA,
            hosts: rows,
        };
        serde_json::to_writer_pretty(&mut *out, &document).map_err(std::io::Error::other)?;
        writeln!(out)?;
        return Ok(Outcome::Clean);
    }
    let header = ["HOST", "SITE", "CLUSTER", "ADDRESS", "BUNDLE"];
    let cells = rows.iter().map(|row| {
        [
            row.name,
            row.site,
            if row.cluster { "member" } else { "standalone" },
            row.address.unwrap_or("-"),
            short_id(Some(row.bundle)),
        ]
    });
    let lines: Vec<[&str; 5]> = std::iter::once(header).chain(cells).collect();
    write!(out, "{}", table(&lines))?;
    Ok(Outcome::Clean)
}
