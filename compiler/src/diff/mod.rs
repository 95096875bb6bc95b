//! diff: what changes on which host between two out/ trees.
//!
//! Input: two [`OutTree`]s: out/ at a git revision, out/ in the working tree,
//! or bundles built in memory. Output: a [`Report`], drawn as text, stat,
//! names, JSON or markdown. `source` reads trees, `compare` finds the changes
//! by bundle id first and pairs renames (`renames`), `review` groups equal
//! changes and sums them up, `output`, `markdown` and `json` draw them. Never
//! builds, writes or shells out to git; with `push::guard` the only user of git2.

pub mod compare;
#[cfg(test)]
pub(crate) mod fixture;
pub mod json;
pub mod markdown;
pub mod output;
pub mod renames;
pub mod report;
pub mod review;
pub mod sections;
#[cfg(test)]
mod snapshots;
pub mod source;

use std::io::{self, Write};
use std::path::PathBuf;

pub use compare::{compare, Options};
pub use report::{BundleChange, Content, FileChange, HandEdit, Place, Report, Status};
pub use source::{DirTree, GitTree, MemTree, OutTree, Repo};

/// Files listed in an error, at most twenty.
fn list(files: &[String]) -> String {
    const SHOWN: usize = 20;
    let mut lines: Vec<String> = files
        .iter()
        .take(SHOWN)
        .map(|file| format!("  {file}"))
        .collect();
    if files.len() > SHOWN {
        lines.push(format!("  … and {} more", files.len() - SHOWN));
    }
    lines.join("\n")
}

/// How to draw a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    /// The summary, each group of equal changes once, then each bundle's own changes.
    Text,
    /// The summary and one line per group or file with lines added and removed.
    Stat,
    /// The changed files as paths inside out/, one a line.
    NameOnly,
    /// A merge-request comment of at most `max_bytes`, pointing at `details` when cut.
    Markdown {
        max_bytes: usize,
        details: Option<String>,
    },
    /// One JSON document, schema [`json::SCHEMA`].
    Json,
}

/// Draw `report` as `view` on `out`; `color` applies to text and stat. Any
/// caller with a [`Report`] (lugc diff, push's dry run) gets the same output.
pub fn draw(report: &Report, view: &View, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let review = review::Review::new(report);
    match view {
        View::Text => output::text(&review, color, out),
        View::Stat => output::stat(&review, color, out),
        View::NameOnly => output::name_only(report, out),
        View::Markdown { max_bytes, details } => {
            markdown::write(&review, *max_bytes, details.as_deref(), out)
        }
        View::Json => json::write(&review, out),
    }
}

/// Why a diff could not be made (exit 2).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DiffError {
    #[error("{} is not inside a git repository with a working tree", path.display())]
    #[diagnostic(
        code(lugc::diff::not_a_repository),
        help("lugc diff reads out/ at a revision from the git repository that holds cluster.ncl")
    )]
    NotARepository { path: PathBuf },

    #[error("{} is outside the repository at {}", out.display(), repo.display())]
    #[diagnostic(code(lugc::diff::outside_repository))]
    OutsideRepository { out: PathBuf, repo: PathBuf },

    #[error("unknown revision `{rev}` in the repository at {}", repo.display())]
    #[diagnostic(
        code(lugc::diff::unknown_revision),
        help("{reason}; name a commit, a branch, a tag or an expression such as HEAD~1")
    )]
    UnknownRevision {
        rev: String,
        repo: PathBuf,
        reason: String,
    },

    #[error("revision `{rev}` has no {}/ in the repository at {}", out.display(), repo.display())]
    #[diagnostic(
        code(lugc::diff::no_out),
        help("out/ is compared only where it was committed; name a later revision")
    )]
    NoOut {
        rev: String,
        out: PathBuf,
        repo: PathBuf,
    },

    #[error("`{a}` and `{b}` have no common ancestor in the repository at {}", repo.display())]
    #[diagnostic(
        code(lugc::diff::no_merge_base),
        help("A...B compares B with the commit where A and B meet; compare the two directly with `lugc diff A B`")
    )]
    NoMergeBase { a: String, b: String, repo: PathBuf },

    #[error("{} does not exist", out.display())]
    #[diagnostic(
        code(lugc::diff::no_out),
        help("run `lugc build`, or compare with the fleet built in memory: `lugc diff --rebuild REV`")
    )]
    NoWorkingOut { out: PathBuf },

    #[error("{location} is malformed: {reason}")]
    #[diagnostic(
        code(lugc::diff::malformed),
        help("out/ is written only by `lugc build`: rebuild it and commit the result")
    )]
    Malformed { location: String, reason: String },

    #[error("cannot read {location}: {message}")]
    #[diagnostic(code(lugc::diff::read))]
    Read { location: String, message: String },

    #[error("{}/ is stale: cluster.ncl or lib/ changed since it was built\n{}", out.display(), list(files))]
    #[diagnostic(
        code(lugc::diff::stale),
        help("run `lugc build` (and commit out/), or read the fleet built in memory with --rebuild (`lugc diff --rebuild REV`)")
    )]
    StaleOut { out: PathBuf, files: Vec<String> },

    #[error("{}/ was edited by hand: these files do not match their MANIFEST\n{}", out.display(), list(files))]
    #[diagnostic(
        code(lugc::diff::hand_edited),
        help("out/ is written only by `lugc build`: run it to put out/ back, or read the fleet built in memory with --rebuild (`lugc diff --rebuild REV`)")
    )]
    HandEdited { out: PathBuf, files: Vec<String> },

    #[error("no host or bundle `{host}` in out/INDEX on either side ({old}, {new})")]
    #[diagnostic(
        code(lugc::diff::unknown_host),
        help("{suggestion}--host takes a bundle name from out/INDEX: a host or `cluster`")
    )]
    UnknownHost {
        host: String,
        /// `did you mean `pve-6`? `, or nothing.
        suggestion: String,
        old: String,
        new: String,
    },
}
