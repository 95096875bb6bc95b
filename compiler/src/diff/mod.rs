//! diff: what changes on which host between two out/ trees.
//!
//! Input: two [`OutTree`]s: out/ at a git revision, out/ in the working tree,
//! or bundles built in memory. Output: a [`Report`], drawn as text, stat,
//! names, JSON or markdown. `source` reads trees, `compare` finds the changes
//! by bundle id first, `output` and `json` draw them. Never builds, writes or
//! shells out to git; the only module that uses git2.

pub mod compare;
pub mod json;
pub mod output;
pub mod source;

use std::path::PathBuf;

pub use compare::{compare, BundleChange, Content, FileChange, Report, Status};
pub use source::{DirTree, GitTree, MemTree, OutTree, Repo};

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

    #[error("no host or bundle `{host}` in out/INDEX on either side ({old}, {new})")]
    #[diagnostic(
        code(lugc::diff::unknown_host),
        help("--host takes a bundle name from out/INDEX: a host or `cluster`")
    )]
    UnknownHost {
        host: String,
        old: String,
        new: String,
    },
}
