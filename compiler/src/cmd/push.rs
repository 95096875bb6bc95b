//! `lugc push`: check that out/ is current and committed, then push one
//! bundle (or every bundle with `--all`) to its host; a dry run unless `--yes`.
//! Resolves where each bundle goes (the host's `ssh_target`, the cluster
//! bundle's first member, `--target`/`--root` overrides); `push` does the rest.
//! A dry run ends with the content each host would get, against what it has
//! now, drawn by `diff::draw` (text, `--stat`, `--name-only`, `--json`).

use std::io::Write;
use std::time::Duration;

use clap::Args;

use crate::bundle::Bundle;
use crate::cli::InputArgs;
use crate::compile;
use crate::config::Config;
use crate::diff::{self, Report as DiffReport, View};
use crate::error::{Error, Outcome};
use crate::fleet::Fleet;
use crate::push::{self, guard, Options, PushError, Remote, Report};
use crate::render::CLUSTER_BUNDLE;

#[derive(Debug, Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// The host to push to, or `cluster` for the cluster bundle (through its first member).
    #[arg(
        value_name = "HOST",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub host: Option<String>,

    /// Push every host in name order, then the cluster bundle; stop at the first failure.
    #[arg(long)]
    pub all: bool,

    /// Apply the changes; without it, only show what would change.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Overwrite files changed on the host since the last push (drift); they are kept in the backup.
    #[arg(long)]
    pub force: bool,

    /// Push even when out/ has changes that are not committed to git.
    #[arg(long)]
    pub allow_dirty: bool,

    /// Put back the bundle that the last push to the host replaced.
    #[arg(long, conflicts_with = "all")]
    pub rollback: bool,

    /// ssh destination instead of the host's `ssh_target` (`{host}` stands for the host name).
    #[arg(long, value_name = "USER@ADDR")]
    pub target: Option<String>,

    /// ssh port.
    #[arg(long, short = 'p', value_name = "PORT")]
    pub port: Option<u16>,

    /// An ssh option, passed as `-o OPTION` (repeatable).
    #[arg(long = "ssh-option", value_name = "OPTION")]
    pub ssh_options: Vec<String>,

    /// Push into DIR on the host instead of / (`{host}` stands for the host name).
    #[arg(long, value_name = "DIR")]
    pub root: Option<String>,

    /// Program that runs each action on the host, given the action as its last argument.
    #[arg(long, value_name = "PROGRAM", default_value = "sh -c")]
    pub action_runner: String,

    /// Seconds an action may run before it is stopped on the host.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub action_timeout: u64,

    /// Seconds to wait for the host: to connect, between keep-alives, and for each of lugc's own commands there (×4).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,

    /// rsync on the host, when not the `rsync` on its PATH.
    #[arg(long, value_name = "PROGRAM")]
    pub rsync_path: Option<String>,

    #[command(flatten)]
    pub preview: PreviewArgs,
}

/// How a dry run shows the content it would change (as `lugc diff` does).
#[derive(Debug, Clone, Args)]
pub struct PreviewArgs {
    /// Dry run: one line per changed file with lines added and removed, instead of the diffs.
    #[arg(long, conflicts_with_all = ["name_only", "json", "yes"])]
    pub stat: bool,

    /// Dry run: only the files that would change, as `<bundle>/<path>`.
    #[arg(long, conflicts_with_all = ["json", "yes"])]
    pub name_only: bool,

    /// Dry run: the changes as one `lugc-diff 2` JSON document on stdout (the plan goes to stderr).
    #[arg(long, conflicts_with = "yes")]
    pub json: bool,
}

impl PreviewArgs {
    pub fn view(&self) -> View {
        if self.json {
            View::Json
        } else if self.stat {
            View::Stat
        } else if self.name_only {
            View::NameOnly
        } else {
            View::Text
        }
    }
}

/// Draw what dry runs collected: the host's files against the bundle's,
/// each equal change across hosts once, as `lugc diff` draws a revision.
pub fn draw_previews(
    previews: Vec<diff::BundleChange>,
    view: &View,
    color: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    if previews.is_empty() {
        return Ok(());
    }
    let mut bundles = previews;
    bundles.sort_by(|a, b| crate::natural::cmp(&a.name, &b.name));
    let report = DiffReport {
        old: "now on the host".to_owned(),
        new: "out/".to_owned(),
        bundles,
        ..DiffReport::default()
    };
    if report.bundles.iter().all(|bundle| bundle.files.is_empty()) && *view != View::Json {
        return Ok(());
    }
    if *view == View::Text || *view == View::Stat {
        writeln!(out)?;
    }
    diff::draw(&report, view, color, out)
}

pub fn run(args: &PushArgs, color: bool, out: &mut dyn Write) -> Result<Outcome, Error> {
    let config = Config::from_args(&args.input)?;
    let compilation = compile(&config)?;
    let bundles = selected(args, &compilation.bundles)?;
    let destinations = bundles
        .iter()
        .map(|bundle| destination(args, &compilation.fleet, bundle))
        .collect::<Result<Vec<_>, _>>()?;
    guard::current(&config, &compilation.bundles)?;
    if !args.allow_dirty {
        guard::committed(&config.out)?;
    }
    let options = Options {
        apply: args.yes,
        force: args.force,
        runner: args.action_runner.clone(),
        action_timeout: Duration::from_secs(args.action_timeout.max(1)),
        secret_paths: compilation.fleet.secret_paths.clone(),
    };
    let view = args.preview.view();
    // With --json, stdout holds the document alone; the plan goes to stderr.
    let mut stderr = std::io::stderr();
    let progress: &mut dyn Write = if view == View::Json {
        &mut stderr
    } else {
        &mut *out
    };
    let mut report = Report::new(progress);
    let total = bundles.len();
    let result = (|| -> Result<(), Error> {
        for (number, (bundle, (host, remote))) in bundles.iter().zip(destinations).enumerate() {
            if args.all {
                // Output that cannot be written never stops pushes halfway.
                report.say(&format!("[{}/{total}] {}\n", number + 1, bundle.name));
            }
            if args.rollback {
                push::rollback(&remote, &host, &bundle.name, &options, &mut report)?;
            } else {
                let desired = push::desired_from_out(&config.out, &bundle.name)?;
                push::push(&remote, &host, &desired, &options, &mut report)?;
            }
        }
        Ok(())
    })();
    let previews = std::mem::take(&mut report.previews);
    drop(report);
    // The preview is shown even when the dry run ends in an error (drift).
    draw_previews(previews, &view, color, out)?;
    result?;
    Ok(Outcome::Clean)
}

/// The bundles to push, in order: hosts by name, then the cluster bundle,
/// which reaches every member at once and so goes after each host took its own.
fn selected<'a>(args: &PushArgs, bundles: &'a [Bundle]) -> Result<Vec<&'a Bundle>, PushError> {
    match &args.host {
        Some(name) => Ok(vec![guard::find(bundles, name)?]),
        None => {
            let (cluster, hosts): (Vec<&Bundle>, Vec<&Bundle>) = bundles
                .iter()
                .partition(|bundle| bundle.name == CLUSTER_BUNDLE);
            let cluster = cluster
                .into_iter()
                .filter(|bundle| !bundle.manifest.reaches.is_empty());
            Ok(hosts.into_iter().chain(cluster).collect())
        }
    }
}

/// The host a bundle lands on and how to reach it.
fn destination(args: &PushArgs, fleet: &Fleet, bundle: &Bundle) -> Result<(String, Remote), Error> {
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
    let target = match &args.target {
        Some(target) => {
            let target = target.replace("{host}", &host);
            Remote::check_target(&target).map_err(|reason| {
                Error::usage(
                    format!("--target: {reason}"),
                    Some("give the ssh destination as user@address".to_owned()),
                )
            })?;
            target
        }
        None => fleet
            .hosts
            .get(&host)
            .map(|spec| spec.ssh_target.clone())
            .ok_or_else(|| PushError::UnknownHost {
                host: host.clone(),
                suggestion: None,
                known: fleet.hosts.keys().cloned().collect::<Vec<_>>().join(", "),
            })?,
    };
    let root = match args.root.as_deref() {
        None => String::new(),
        Some("") => {
            return Err(Error::usage(
                "--root is empty",
                Some("give the directory that stands for / on the host, or leave --root out to push to / itself".to_owned()),
            ))
        }
        Some(root) if root.contains(['\n', '\r']) => {
            return Err(Error::usage("--root holds a line break", None))
        }
        // `/`, `//`…: the host's own root, written as the empty prefix.
        Some(root) => root.replace("{host}", &host).trim_end_matches('/').to_owned(),
    };
    let remote = Remote {
        target,
        port: args.port,
        options: args.ssh_options.clone(),
        root,
        rsync_path: args.rsync_path.clone(),
        timeout: Duration::from_secs(args.timeout.max(1)),
    };
    Ok((host, remote))
}
