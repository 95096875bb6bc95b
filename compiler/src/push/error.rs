//! push::error: everything that stops a push, as `PushError`.
//!
//! Variants fall in two groups that the messages keep apart: mistakes of the
//! user (unknown host, stale or uncommitted out/, drift on the host), coded
//! `lugc::push::*`, and trouble in the environment (rsync missing, ssh
//! refused, no quorum, a failing remote command), coded `lugc::push::env::*`,
//! most of them the transport's own (`Host`, a `HostError`). Each carries a
//! help line saying what to do next. `BoxedPushError` keeps the top-level
//! `Error` small.

use std::path::PathBuf;

use miette::Diagnostic;

use crate::host::HostError;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PushError {
    #[error("unknown host `{host}`")]
    #[diagnostic(code(lugc::push::unknown_host), help("{}", suggestion_help(suggestion.as_deref(), known)))]
    UnknownHost {
        host: String,
        suggestion: Option<String>,
        known: String,
    },

    #[error("{}/ is stale against {}: {}", out.display(), file.display(), list(files))]
    #[diagnostic(
        code(lugc::push::stale_out),
        help("run `lugc build`, review and commit out/, then push")
    )]
    StaleOut {
        out: PathBuf,
        file: PathBuf,
        files: Vec<String>,
    },

    #[error("{}/ has uncommitted changes: {}", out.display(), list(files))]
    #[diagnostic(
        code(lugc::push::dirty_out),
        help("commit out/ so that what reaches the host is reviewed, or pass --allow-dirty")
    )]
    DirtyOut { out: PathBuf, files: Vec<String> },

    #[error("cannot tell whether {} is committed: {reason}", out.display())]
    #[diagnostic(
        code(lugc::push::no_repository),
        help("keep out/ in a git repository, or pass --allow-dirty")
    )]
    NoRepository { out: PathBuf, reason: String },

    #[error("{} does not match its MANIFEST: {path}", out.display())]
    #[diagnostic(code(lugc::push::corrupt_out), help("run `lugc build` again"))]
    CorruptOut { out: PathBuf, path: String },

    #[error("drift on {host}: {} changed on the host since the last push: {}", noun(paths.len(), "file"), list(paths))]
    #[diagnostic(
        code(lugc::push::drift),
        help("carry the change into cluster.ncl, or pass --force to overwrite it (the replaced files are kept under /var/lib/lugc/backup)")
    )]
    Drift { host: String, paths: Vec<String> },

    #[error("refused: {} to {bundle} on {host} can lose data or cut service ({allow}); nothing was changed", noun(*count, "change"))]
    #[diagnostic(
        code(lugc::push::harm),
        help("the harm list above says what each change takes away. To keep what {host} has, describe it in cluster.ncl and run `lugc build`; if every change is meant, run the same command with `--allow {allow}`")
    )]
    Harmful {
        host: String,
        bundle: String,
        /// How many harms no `--allow` lets through.
        count: usize,
        /// Their kinds, as `--allow` takes them.
        allow: String,
    },

    #[error("{} on {host} must not exist: {}", noun(paths.len(), "file"), list(paths))]
    #[diagnostic(
        code(lugc::push::unwanted),
        help("the bundle names these paths absent: /etc/network/interfaces.new holds a network change made in PVE's web UI that waits for `ifreload -a`, /etc/iptables/rules.v6 IPv6 rules that netfilter-persistent would load and lugc does not render. Carry what they hold into cluster.ncl, then remove them on the host, or pass --force to remove them (kept under /var/lib/lugc/backup, which --rollback puts back)")
    )]
    Unwanted { host: String, paths: Vec<String> },

    #[error(
        "{host} did not take a new ssh connection within {seconds} s after the actions: {cause}"
    )]
    #[diagnostic(
        code(lugc::push::not_confirmed),
        help("the push is not confirmed: {host} puts back the files it replaced and runs their actions on its own; `lugc push {host}` or `lugc status` reports it once {host} answers again")
    )]
    NotConfirmed {
        host: String,
        seconds: u64,
        cause: Box<PushError>,
    },

    #[error("{host} is not healthy after the push: {what}")]
    #[diagnostic(code(lugc::push::unhealthy), help("{state}"))]
    Unhealthy {
        host: String,
        /// The checks that failed (`1 check failed: NAME: WHY`), or how the
        /// health check ended when it named none.
        what: String,
        /// What the host does now and what to do.
        state: String,
    },

    #[error("lugc cannot tell whether {host} took the confirmation of push {id}: its reply was lost ({cause})")]
    #[diagnostic(
        code(lugc::push::confirm_unknown),
        help("`lugc status` reads it from {host} once it answers: confirmed (push again to record the push complete), or reverted at its deadline")
    )]
    ConfirmUnknown {
        host: String,
        id: String,
        cause: Box<PushError>,
    },

    #[error("{host} began to revert the push before lugc's confirmation reached it")]
    #[diagnostic(
        code(lugc::push::revert_began),
        help("{host} puts back the files the push replaced and runs their actions; give it longer with --confirm-timeout, then push again")
    )]
    RevertBegan { host: String },

    #[error("push {id} on {host} is not confirmed yet, and its revert is armed: it fires {when}")]
    #[diagnostic(
        code(lugc::push::revert_armed),
        help("{host} reverts that push on its own unless it is confirmed; wait for the revert (see /var/lib/lugc/backup/{id}/REVERT.log on the host), then push again")
    )]
    RevertArmed {
        host: String,
        id: String,
        when: String,
    },

    #[error("push {id} on {host} was not confirmed, and its revert process is gone: it will never run (its deadline: {when})")]
    #[diagnostic(
        code(lugc::push::revert_gone),
        help("{host} restarted, or its clock is behind; `lugc push {bundle} --force` (or `--rollback --force`) abandons the revert once a rollback could still put back everything the push replaced")
    )]
    RevertGone {
        host: String,
        id: String,
        when: String,
        bundle: String,
    },

    #[error("{path} is {size} bytes; pmxcfs takes at most 1 MiB per file under /etc/pve")]
    #[diagnostic(
        code(lugc::push::pmxcfs_size),
        help("keep large files outside /etc/pve")
    )]
    PmxcfsTooLarge { path: String, size: usize },

    #[error("the cluster bundle reaches no cluster member")]
    #[diagnostic(
        code(lugc::push::no_member),
        help("mark a host `cluster = true` in cluster.ncl, or pass --target")
    )]
    NoClusterMember,

    #[error(
        "{path} on {host} is not a regular file, or a directory on its path is a symbolic link"
    )]
    #[diagnostic(
        code(lugc::push::not_regular),
        help("lugc reads and writes regular files only, never through a symbolic link below the root; replace the link or the file on the host first")
    )]
    NotRegular { host: String, path: String },

    #[error("nothing to roll back on {host}: {reason}")]
    #[diagnostic(code(lugc::push::no_rollback))]
    NothingToRollBack { host: String, reason: String },

    #[error(
        "cannot roll back on {host}: {what} of push {id} is missing from /var/lib/lugc/backup/{id}"
    )]
    #[diagnostic(
        code(lugc::push::backup_missing),
        help("without it lugc cannot tell what to put back, so nothing was changed; push a bundle instead")
    )]
    BackupMissing {
        host: String,
        id: String,
        what: String,
    },

    #[error(
        "cannot roll back on {host}: no copy is left of what {} held before the push",
        list(paths)
    )]
    #[diagnostic(
        code(lugc::push::rollback_missing),
        help("neither the host's file nor a backup under /var/lib/lugc/backup has that content, so nothing was changed; push a bundle instead")
    )]
    RollbackMissing { host: String, paths: Vec<String> },

    #[error("{cause}")]
    #[diagnostic(code(lugc::push::cut_short), help("{state}"))]
    CutShort {
        cause: Box<PushError>,
        state: String,
    },

    #[error("action `{action}` failed on {host} ({status})")]
    #[diagnostic(code(lugc::push::action), help("{report}"))]
    ActionFailed {
        host: String,
        action: String,
        status: String,
        report: String,
    },

    #[error("action `{action}` on {host} was cut short: {cause}")]
    #[diagnostic(code(lugc::push::action_cut), help("{report}"))]
    ActionCut {
        host: String,
        action: String,
        cause: Box<PushError>,
        report: String,
    },

    #[error("cannot use {}: {source}", path.display())]
    #[diagnostic(code(lugc::push::env::io))]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    /// The host could not be reached, read or written.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Host(#[from] HostError),
}

impl PushError {
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> PushError {
        let path = path.into();
        move |source| PushError::Io { path, source }
    }
}

fn suggestion_help(suggestion: Option<&str>, known: &str) -> String {
    match suggestion {
        Some(name) => format!("did you mean `{name}`? (bundles: {known})"),
        None => format!("bundles: {known}"),
    }
}

/// At most five items, then how many more.
fn list(items: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut text = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        text.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    text
}

pub(crate) use crate::ui::plural as noun;

/// Some pushes of `push --all` failed; each one's diagnostic follows.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("the push failed on {names}")]
#[diagnostic(code(lugc::push::failed), help("{help}"))]
pub struct Failed {
    /// The failed bundles' labels, joined.
    pub names: String,
    pub help: String,
    #[related]
    pub errors: Vec<BundleFailure>,
}

/// A push's error, named by the bundle it stopped.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{label}: {error}")]
#[diagnostic(forward(error))]
pub struct BundleFailure {
    pub label: String,
    pub error: BoxedPushError,
}

/// A `PushError` on the heap, so that the top-level `Error` stays small.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct BoxedPushError(pub Box<PushError>);

impl From<PushError> for BoxedPushError {
    fn from(error: PushError) -> Self {
        BoxedPushError(Box::new(error))
    }
}

impl Diagnostic for BoxedPushError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.0.code()
    }
    fn severity(&self) -> Option<miette::Severity> {
        self.0.severity()
    }
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.0.help()
    }
    fn url<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.0.url()
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.0.source_code()
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.0.labels()
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        self.0.related()
    }
    fn diagnostic_source(&self) -> Option<&dyn Diagnostic> {
        self.0.diagnostic_source()
    }
}
