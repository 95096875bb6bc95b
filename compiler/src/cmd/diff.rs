//! `lugc diff`: out/ at a revision against the working tree's out/, against
//! another revision (`A B`, or `A...B` from where A and B meet), or against
//! cluster.ncl built in memory (`--rebuild`).
//!
//! Input: the typed arguments. Output: the report in the chosen view and
//! exit 0 (no change) or 1 (changes); exit 2 when the working tree's out/ is
//! not what cluster.ncl builds (stale or edited by hand) unless `--rebuild`.
//! Never writes out/ and never runs git.

use std::io::Write;
use std::panic::resume_unwind;

use clap::{Args, ValueEnum};

use crate::config::{Config, InputArgs};
use crate::diff::source::Prefetched;
use crate::diff::{
    self, DiffError, DirTree, GitTree, MemTree, Options, OutTree, Repo, Report, View,
};
use crate::error::{Error, Outcome};
use crate::freshness;
use crate::ui::short_id;

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// `REV` compares out/ at REV with the working tree's out/ (REV defaults to HEAD);
    /// `A B` or `A..B` compares two revisions; `A...B` compares B with the commit where A and B meet, as git does.
    #[arg(value_name = "REV", num_args = 0..=2)]
    pub revisions: Vec<String>,

    /// Compare REV's out/ with cluster.ncl built in memory instead of the working tree's out/.
    #[arg(long)]
    pub rebuild: bool,

    /// The summary and one line per group of equal changes or per file, with lines added and removed.
    #[arg(long, conflicts_with_all = ["name_only", "json", "format"])]
    pub stat: bool,

    /// Only the changed files, as paths inside out/ (`pve-5/etc/chrony/chrony.conf`).
    #[arg(long, conflicts_with_all = ["json", "format"])]
    pub name_only: bool,

    /// The same as `--format json` (schema `lugc-diff 2`, see ARCHITECTURE.md).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,

    /// How to draw the report.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Only the bundles of HOST: its own, and the cluster bundle when it reaches HOST. Repeatable.
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,

    /// Pair a removed and an added bundle or file as a rename (or a move between hosts) when at least PERCENT alike.
    #[arg(long, short = 'M', value_name = "PERCENT", default_value_t = diff::renames::DEFAULT_THRESHOLD,
          value_parser = clap::value_parser!(u8).range(0..=100))]
    pub find_renames: u8,

    /// Show renames and moves as a removal and an addition.
    #[arg(long, conflicts_with = "find_renames")]
    pub no_renames: bool,

    /// Markdown: at most this many bytes; over it the summary and groups stay and per-host sections are cut.
    #[arg(long, value_name = "BYTES", default_value_t = diff::markdown::DEFAULT_MAX_BYTES)]
    pub max_bytes: usize,

    /// Markdown: where the full diff can be read, named when the comment is cut (a CI job's artifact).
    #[arg(long, value_name = "URL")]
    pub details_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The summary, each group of equal changes once, then each host's own changes.
    Text,
    /// A merge-request comment: the summary, the groups, a collapsible section per host.
    Markdown,
    /// One JSON document, schema `lugc-diff 2`.
    Json,
}

/// What the old side is compared with.
enum New {
    Revision(String),
    WorkingTree,
    Rebuilt,
}

/// `color`: whether the unified diff is coloured (the global `--color`, resolved).
pub fn run(args: &DiffArgs, color: bool, out: &mut dyn Write) -> Result<Outcome, Error> {
    let (old_rev, new) = sides(args)?;
    let config = Config::from_args(&args.input)?;
    let repo = Repo::discover(config.root(), &config.out)?;
    let options = Options {
        hosts: args.hosts.clone(),
        renames: (!args.no_renames).then_some(args.find_renames),
    };
    let old = match &old_rev {
        OldRev::Plain(rev) => repo.at(rev)?,
        OldRev::MergeBase(a, b) => {
            let base = repo.merge_base(a, b)?;
            let short = short_id(Some(&base));
            repo.at(&base)?
                .labelled(format!("{a}...{b} (merge base {short})"))
        }
    };
    let report = match new {
        New::Revision(rev) => {
            let new = repo.at(&rev)?;
            let ((), mut report) = compare_beside(&old, &new, &options, || Ok(()))?;
            let indexes = [old.index()?, new.index()?];
            let changed = repo.changed_in_kept_bundles(&old, &new, [&indexes[0], &indexes[1]])?;
            let edits = diff::compare::unexplained(&report, &changed, &new, &options.hosts);
            add_hand_edits(&mut report, edits);
            report
        }
        New::Rebuilt => {
            let compilation = crate::compile(&config)?;
            let label = format!("{} (rebuilt)", config.file.display());
            diff::compare(&old, &MemTree::new(label, compilation.bundles), &options)?
        }
        New::WorkingTree => {
            let new = DirTree::open(&config.out)?;
            // Whether out/ is current is checked beside the comparison.
            let current = || freshness::require_current(&config);
            let ((), report) = compare_beside(&old, &new, &options, current)?;
            let here: Vec<String> = report
                .hand_edits
                .iter()
                .filter(|edit| edit.side == new.label())
                .map(|edit| {
                    format!(
                        "{}/{} ({})",
                        config.out.display(),
                        edit.location,
                        edit.reason
                    )
                })
                .collect();
            if !here.is_empty() {
                return Err(DiffError::HandEdited {
                    out: config.out.clone(),
                    files: here,
                }
                .into());
            }
            report
        }
    };
    diff::draw(&report, &view(args), color, out)?;
    Ok(if report.changed() {
        Outcome::Differs
    } else {
        Outcome::Clean
    })
}

/// Compare `old` (a revision) with `new` while `beside` runs on another
/// thread; `old`'s MANIFESTs are read on a third (with a git2 handle of its
/// own) while `new`'s are read here. `beside`'s error comes first.
fn compare_beside<T: Send>(
    old: &GitTree<'_>,
    new: &dyn OutTree,
    options: &Options,
    beside: impl FnOnce() -> Result<T, Error> + Send,
) -> Result<(T, Report), Error> {
    let [old_names, new_names] = diff::source::changed_bundles([&old.index()?, &new.index()?]);
    let handle = old.handle();
    let (beside, report) = std::thread::scope(|scope| {
        let beside = scope.spawn(beside);
        let old_manifests = scope.spawn(|| handle.manifests(&old_names));
        let report = (|| -> Result<Report, Error> {
            let new_manifests = new_names
                .iter()
                .map(|name| Ok((name.clone(), new.manifest(name)?)))
                .collect::<Result<_, DiffError>>()?;
            let old_manifests = old_manifests
                .join()
                .unwrap_or_else(|panic| resume_unwind(panic))?;
            let old = Prefetched::new(old, old_manifests);
            Ok(diff::compare(
                &old,
                &Prefetched::new(new, new_manifests),
                options,
            )?)
        })();
        (beside.join(), report)
    });
    let beside = beside.unwrap_or_else(|panic| resume_unwind(panic))?;
    Ok((beside, report?))
}

fn add_hand_edits(report: &mut Report, edits: Vec<diff::HandEdit>) {
    report.hand_edits.extend(edits);
    report.hand_edits.sort();
    report.hand_edits.dedup();
}

fn view(args: &DiffArgs) -> View {
    match (args.json, args.format) {
        (true, _) | (false, Format::Json) => View::Json,
        (false, Format::Markdown) => View::Markdown {
            max_bytes: args.max_bytes,
            details: args.details_url.clone(),
        },
        (false, Format::Text) if args.stat => View::Stat,
        (false, Format::Text) if args.name_only => View::NameOnly,
        (false, Format::Text) => View::Text,
    }
}

/// The old side as typed.
enum OldRev {
    Plain(String),
    /// `A...B`: where A and B meet.
    MergeBase(String, String),
}

/// Which revisions to compare, from `REV`, `A B`, `A..B` or `A...B`
/// (an empty side of `..` or `...` is HEAD, as in git).
fn sides(args: &DiffArgs) -> Result<(OldRev, New), Error> {
    let or_head = |rev: &str| {
        if rev.is_empty() {
            "HEAD".to_owned()
        } else {
            rev.to_owned()
        }
    };
    let ranged = args.revisions.first().and_then(|first| {
        if let Some((a, b)) = first.split_once("...") {
            Some((OldRev::MergeBase(or_head(a), or_head(b)), or_head(b)))
        } else {
            first
                .split_once("..")
                .map(|(a, b)| (OldRev::Plain(or_head(a)), or_head(b)))
        }
    });
    let (old, new) = match (ranged, args.revisions.as_slice()) {
        (Some(_), [_, _]) => {
            return Err(Error::usage(
                "a range A..B or A...B names both sides: give no second revision",
                None,
            ))
        }
        (Some((old, new)), _) => (old, New::Revision(new)),
        (None, [a, b]) => (OldRev::Plain(a.clone()), New::Revision(b.clone())),
        (None, [a]) => (OldRev::Plain(a.clone()), New::WorkingTree),
        (None, _) => (OldRev::Plain("HEAD".to_owned()), New::WorkingTree),
    };
    match (new, args.rebuild) {
        (New::Revision(_), true) => Err(Error::usage(
            "--rebuild compares one revision with cluster.ncl built in memory",
            Some("give one REV with --rebuild, or drop --rebuild to compare two revisions".into()),
        )),
        (_, true) => Ok((old, New::Rebuilt)),
        (new, false) => Ok((old, new)),
    }
}
