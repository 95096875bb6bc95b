//! How `push`, `status` and `facts` reach hosts: the ssh options they share
//! (`--target`, `--port`, `--ssh-option`, `--root`, `--timeout`,
//! `--rsync-path`), which bundles a command names, and where each one lands
//! (the host's `ssh_target`; the cluster bundle through its first member).
//! Resolves names only; never connects.

use std::time::Duration;

use clap::Args;

use crate::bundle::Bundle;
use crate::error::Error;
use crate::fleet::Fleet;
use crate::host::remote::Limits;
use crate::host::{Remote, Target};
use crate::parallel::{Event, Pool};
use crate::push::{guard, PushError};
use crate::render::CLUSTER_BUNDLE;

#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// ssh destination instead of the host's `ssh_target` (`{host}` stands for the host name).
    #[arg(long, value_name = "USER@ADDR")]
    pub target: Option<String>,

    /// ssh port.
    #[arg(long, short = 'p', value_name = "PORT")]
    pub port: Option<u16>,

    /// An ssh option, passed as `-o OPTION` (repeatable).
    #[arg(long = "ssh-option", value_name = "OPTION")]
    pub ssh_options: Vec<String>,

    /// The directory that stands for / on the host (`{host}` stands for the host name).
    #[arg(long, value_name = "DIR")]
    pub root: Option<String>,

    /// Seconds to wait for the host: to connect, between keep-alives, and for each of lugc's own commands there (×4).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,

    /// rsync on the host, when not the `rsync` on its PATH.
    #[arg(long, value_name = "PROGRAM")]
    pub rsync_path: Option<String>,

    /// A file on the host larger than this is hashed there and compared by its SHA-256, never read or shown.
    #[arg(long, value_name = "MIB", default_value_t = 8,
          value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub max_file_size: u64,

    /// The most one answer of a host to lugc's own commands (its records, files, facts) may hold; a host that sends more is an error.
    #[arg(long, value_name = "MIB", default_value_t = 64,
          value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub max_reply_size: u64,
}

/// How many hosts a command contacts at once.
#[derive(Debug, Clone, Copy, Args)]
pub struct JobsArgs {
    /// How many hosts to contact at once.
    #[arg(long, short = 'j', value_name = "N", default_value_t = crate::parallel::JOBS,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,
}

/// The bundles `names` name (each checked, with the closest name suggested),
/// or with no name every host's by name, then the cluster bundle, which
/// reaches every member at once and so comes after each host's own.
pub fn selected<'a>(names: &[String], bundles: &'a [Bundle]) -> Result<Vec<&'a Bundle>, PushError> {
    if !names.is_empty() {
        return names
            .iter()
            .map(|name| guard::find(bundles, name))
            .collect();
    }
    let (cluster, mut hosts): (Vec<&Bundle>, Vec<&Bundle>) = bundles
        .iter()
        .partition(|bundle| bundle.name == CLUSTER_BUNDLE);
    hosts.sort_by(|a, b| crate::natural::cmp(&a.name, &b.name));
    let cluster = cluster
        .into_iter()
        .filter(|bundle| !bundle.manifest.reaches.is_empty());
    Ok(hosts.into_iter().chain(cluster).collect())
}

/// Run `work` on every job, `workers` at a time (a `parallel::Pool`), and
/// hand each result to `done` on this thread as it comes, with the job's
/// index. The first error `done` returns stops handing out jobs; the
/// workers finish theirs and that error is returned.
pub fn in_parallel<J: Sync, R: Send, E>(
    jobs: &[J],
    workers: u16,
    work: impl Fn(&J) -> R + Sync,
    mut done: impl FnMut(usize, R) -> Result<(), E>,
) -> Result<(), E> {
    let pool = Pool {
        width: usize::from(workers),
        after: &[],
        tick: None,
    };
    pool.run(
        jobs,
        |_, job, _: &dyn Fn(())| work(job),
        |_| false,
        |event| match event {
            Event::Finished(index, result) => done(index, result),
            Event::Started(_) | Event::Progress(..) | Event::Tick => Ok(()),
        },
    )?;
    Ok(())
}

/// `pve-5`, or `cluster (esxi-5)` for a bundle reached through another host.
pub fn label(bundle: &str, host: &str) -> String {
    if bundle == host {
        bundle.to_owned()
    } else {
        format!("{bundle} ({host})")
    }
}

impl ConnectArgs {
    /// The host a bundle lands on and how to reach it.
    pub fn destination(&self, fleet: &Fleet, bundle: &Bundle) -> Result<(String, Remote), Error> {
        let host = if bundle.name == CLUSTER_BUNDLE {
            bundle
                .manifest
                .reaches
                .first()
                .cloned()
                .ok_or(PushError::NoClusterMember)?
        } else {
            bundle.name.clone()
        };
        self.remote(fleet, &host).map(|remote| (host, remote))
    }

    /// How to reach `host`.
    pub fn remote(&self, fleet: &Fleet, host: &str) -> Result<Remote, Error> {
        let destination = match &self.target {
            Some(target) => Target::parse(&target.replace("{host}", host)).map_err(|reason| {
                Error::usage(
                    format!("--target: {reason}"),
                    Some("give the ssh destination as user@address, an IPv6 address in brackets: root@[2001:db8::5]".to_owned()),
                )
            })?,
            None => {
                let spec = fleet.hosts.get(host).ok_or_else(|| {
                    let mut known: Vec<&String> = fleet.hosts.keys().collect();
                    crate::natural::sort(&mut known);
                    PushError::UnknownHost {
                        host: host.to_owned(),
                        suggestion: None,
                        known: crate::natural::list(&known),
                    }
                })?;
                // validate checked every ssh_target of the fleet.
                Target::parse(&spec.ssh_target).map_err(|reason| {
                    Error::usage(format!("host `{host}`: ssh_target {reason}"), None)
                })?
            }
        };
        let root = match self.root.as_deref() {
            None => String::new(),
            Some("") => {
                return Err(Error::usage(
                    "--root is empty",
                    Some("give the directory that stands for / on the host, or leave --root out for / itself".to_owned()),
                ))
            }
            Some(root) if root.contains(['\n', '\r']) => {
                return Err(Error::usage("--root holds a line break", None))
            }
            // `/`, `//`…: the host's own root, written as the empty prefix.
            Some(root) => root.replace("{host}", host).trim_end_matches('/').to_owned(),
        };
        Ok(Remote {
            target: destination.to_string(),
            destination,
            port: self.port,
            options: self.ssh_options.clone(),
            root,
            rsync_path: self.rsync_path.clone(),
            timeout: Duration::from_secs(self.timeout.max(1)),
            limits: Limits {
                file: self.max_file_size << 20,
                reply: usize::try_from(self.max_reply_size << 20).unwrap_or(usize::MAX),
            },
        })
    }
}
