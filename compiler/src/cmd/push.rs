//! `lugc push`: check that out/ is current and committed, then push one
//! bundle to its host (every bundle with `--all`, see `push_all`); a dry run
//! unless `--yes`.
//! Resolves where each bundle goes (the host's `ssh_target`, the cluster
//! bundle's first member, `--target`/`--root` overrides); `push` does the rest.
//! A dry run ends with the content each host would get, against what it has
//! now, drawn by `diff::draw` (text, `--stat`, `--name-only`, `--json`).

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use clap::Args;

use super::connect::{self, ConnectArgs};
use super::push_all::{self, Fleet};
use crate::compile;
use crate::config::{Config, InputArgs};
use crate::diff::{self, Report as DiffReport, View};
use crate::error::{Error, Outcome};
use crate::facts;
use crate::harm::{Harm, Listed};
use crate::push::{self, guard, Options};

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

    /// Push every host, `-j N` at a time, then the cluster bundle once its members are done; ends with a table of results.
    #[arg(long)]
    pub all: bool,

    /// With --all: how many hosts to push to at once.
    #[arg(long, short = 'j', value_name = "N", default_value_t = crate::parallel::JOBS, requires = "all",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,

    /// With --all: go on past a host whose push failed (without it, no host starts after a failure).
    #[arg(long, requires = "all")]
    pub keep_going: bool,

    /// Apply the changes; without it, only show what would change.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Let changes of these kinds go ahead: the harm list above the diff names
    /// each change that can lose data or cut service by its kind, and `--yes`
    /// refuses while one is listed that this does not allow.
    #[arg(long, value_name = "KIND", value_delimiter = ',', value_enum)]
    pub allow: Vec<crate::harm::Kind>,

    /// Overwrite files changed on the host since the last push (drift); they are kept in the backup.
    #[arg(long)]
    pub force: bool,

    /// Push even when out/ has changes that are not committed to git.
    #[arg(long)]
    pub allow_dirty: bool,

    /// Dry run: exit 1 when a bundle is not up to date on its host (changes pending), as `git diff --exit-code` does.
    #[arg(long, conflicts_with_all = ["yes", "rollback"])]
    pub exit_code: bool,

    /// Put back the bundle that the last push to the host replaced.
    #[arg(long, conflicts_with = "all")]
    pub rollback: bool,

    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Program that runs each action on the host, given the action as its last argument.
    #[arg(long, value_name = "PROGRAM", default_value = "sh -c")]
    pub action_runner: String,

    /// Seconds an action may run before it is stopped on the host. Of its output lugc shows
    /// the first MiB as it comes, then (a host may send without end) only its last 20 lines.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub action_timeout: u64,

    /// Seconds the host waits, after the last action of a push that can cut it off
    /// (`ifreload -a`, firewall), for lugc to reach it over a new ssh connection;
    /// without that confirmation the host puts back the replaced files on its own.
    #[arg(long, value_name = "SECONDS", default_value_t = 90, value_parser = clap::value_parser!(u64).range(5..))]
    pub confirm_timeout: u64,

    /// Dangerous: run actions that can cut the host off without arming a revert;
    /// if the host becomes unreachable, nothing brings it back.
    #[arg(long, conflicts_with = "confirm_timeout")]
    pub no_confirm: bool,

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
/// `harms` (from `Report::harms`) go into the JSON document.
pub fn draw_previews(
    previews: Vec<diff::BundleChange>,
    harms: Vec<Listed>,
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
        harms: Some(harms),
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
    let bundles = connect::selected(args.host.as_slice(), &compilation.bundles)?;
    let destinations = bundles
        .iter()
        .map(|bundle| args.connect.destination(&compilation.fleet, bundle))
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
        confirm: (!args.no_confirm).then(|| Duration::from_secs(args.confirm_timeout)),
        allow: args.allow.iter().copied().collect(),
    };
    let view = args.preview.view();
    if args.all {
        let fleet = Fleet {
            out: &config.out,
            root: config.root(),
            bundles: &bundles,
            destinations,
            options: &options,
            jobs: usize::from(args.jobs),
            keep_going: args.keep_going,
            exit_code: args.exit_code,
        };
        return push_all::run(fleet, &view, color, out);
    }
    // With --json, stdout holds the document alone; the plan goes to stderr.
    let mut stderr = std::io::stderr();
    let progress: &mut dyn Write = if view == View::Json {
        &mut stderr
    } else {
        &mut *out
    };
    let (bundle, (host, remote)) = (bundles[0], &destinations[0]);
    let pushed = if args.rollback {
        push::rollback(remote, host, &bundle.name, &options, progress)
    } else {
        push::from_out(&config.out, remote, host, &bundle.name, &options, progress)
    };
    let previews: Vec<_> = pushed.preview.into_iter().collect();
    let harms = listed(&bundle.name, host, pushed.harms);
    let never_pushed = pushed.summary.never_pushed();
    let outcome = pending(args.exit_code, &previews);
    // The preview is shown even when the dry run ends in an error (drift).
    draw_previews(previews, harms, &view, color, out)?;
    pushed.result?;
    if !args.yes && !args.rollback && never_pushed {
        let reached = [(bundle.name.as_str(), bundle.manifest.reaches.as_slice())];
        if let Some(advice) = first_push_advice(config.root(), &reached) {
            let shown: &mut dyn Write = if view == View::Json { &mut stderr } else { out };
            writeln!(shown, "\n{advice}")?;
        }
    }
    Ok(outcome)
}

/// With `--exit-code`, `Differs` when a dry run found a bundle not up to date.
pub fn pending(exit_code: bool, previews: &[diff::BundleChange]) -> Outcome {
    if exit_code && !previews.is_empty() {
        Outcome::Differs
    } else {
        Outcome::Clean
    }
}

/// A push's harms, each with its bundle and host.
pub fn listed(bundle: &str, host: &str, harms: Vec<Harm>) -> Vec<Listed> {
    harms
        .into_iter()
        .map(|harm| Listed {
            bundle: bundle.to_owned(),
            host: host.to_owned(),
            harm,
        })
        .collect()
}

/// Advice before a first push onto hand-configured hosts: for the bundles
/// a dry run found never pushed (name, hosts it reaches), those whose hosts
/// have no facts under `root`.
pub fn first_push_advice(root: &Path, never_pushed: &[(&str, &[String])]) -> Option<String> {
    let unknown: Vec<&(&str, &[String])> = never_pushed
        .iter()
        .filter(|(_, reaches)| reaches.iter().all(|host| !facts::path(root, host).exists()))
        .collect();
    if unknown.is_empty() {
        return None;
    }
    let names: Vec<&str> = unknown.iter().map(|(name, _)| *name).collect();
    let mut hosts: Vec<String> = unknown
        .iter()
        .flat_map(|(_, reaches)| reaches.iter().cloned())
        .collect();
    crate::natural::sort(&mut hosts);
    hosts.dedup();
    let (them, their) = if names.len() == 1 {
        ("it", "its")
    } else {
        ("them", "their")
    };
    let hosts = hosts.join(" ");
    Some(format!(
        "note: no lugc push has reached {} yet, and lugc has no facts of {them}: {their} files were set up by hand, \
         and the plan above replaces what lugc renders.\n\
         \x20     Before `--yes`, run `lugc facts {hosts}` to ask what the hosts have, then `lugc adopt` to take \
         what they tell into cluster.ncl (`--write` writes it); review and commit, then dry-run again.",
        crate::natural::list(&names)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_push_without_facts_is_advised_to_gather_and_adopt_first() {
        let root = tempfile::tempdir().unwrap();
        let members = ["pve-5".to_owned(), "pve-6".to_owned()];
        let pve_6 = ["pve-6".to_owned()];
        let advice =
            first_push_advice(root.path(), &[("pve-6", &pve_6), ("cluster", &members)]).unwrap();
        assert!(
            advice.starts_with(
                "note: no lugc push has reached pve-6, cluster yet, and lugc has no facts of them:"
            ),
            "{advice}"
        );
        assert!(advice.contains("`lugc facts pve-5 pve-6`"), "{advice}");
        assert!(advice.contains("then `lugc adopt`"), "{advice}");
        // Facts of one member tell the cluster's storage.cfg: no advice for it.
        facts::write(root.path(), "pve-5", "{}\n").unwrap();
        let advice = first_push_advice(root.path(), &[("cluster", &members)]);
        assert_eq!(advice, None);
        let advice = first_push_advice(root.path(), &[("pve-6", &pve_6)]).unwrap();
        assert!(
            advice.contains("reached pve-6 yet, and lugc has no facts of it: its files"),
            "{advice}"
        );
    }
}
