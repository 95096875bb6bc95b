//! error: the top-level error and the exit status convention.
//!
//! Exit 0: success. Exit 1: a difference was found (`build --check` on a
//! stale out/, `diff` with changes), like diff(1). Exit 2: an error.

use std::process::ExitCode;

use crate::diagnostic::{Diagnostics, SourceDiagnostic};
use crate::diff::DiffError;
use crate::push::{BoxedPushError, PushError};
use crate::write::WriteError;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    /// Bad fleet source: Nickel errors and failed validation, every one found.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Source(#[from] Diagnostics),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Write(#[from] WriteError),

    /// `lugc diff` could not read a revision or an out/ tree.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Diff(#[from] DiffError),

    /// `lugc push` could not deliver (boxed: `PushError` is large).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Push(#[from] BoxedPushError),

    /// `lugc status` or `lugc facts` could not work on this machine (ssh missing…).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Host(#[from] crate::host::HostError),

    /// `lugc facts` could not gather or write a host's facts.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Facts(#[from] crate::facts::FactsError),

    /// `lugc push --all` failed on some hosts.
    #[error(transparent)]
    #[diagnostic(transparent)]
    PushAll(#[from] crate::push::Failed),

    /// `lugc push --all --yes` found changes that can lose data or cut service.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Harmful(#[from] crate::harm::Refused),

    /// A mistake on the command line that clap cannot see.
    #[error("{message}")]
    #[diagnostic(code(lugc::usage))]
    Usage {
        message: String,
        #[help]
        help: Option<String>,
    },

    /// Writing normal output failed (a closed pipe ends the command quietly).
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

impl Error {
    pub fn usage(message: impl Into<String>, help: Option<String>) -> Self {
        Error::Usage {
            message: message.into(),
            help,
        }
    }
}

impl From<SourceDiagnostic> for Error {
    fn from(diagnostic: SourceDiagnostic) -> Self {
        Error::Source(diagnostic.into())
    }
}

impl From<PushError> for Error {
    fn from(error: PushError) -> Self {
        Error::Push(error.into())
    }
}

/// How a command that succeeded ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to report: exit 0.
    Clean,
    /// A difference was found: exit 1.
    Differs,
    /// Part of the work failed (a host unreachable), and the output says so: exit 2.
    Failed,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Clean => ExitCode::SUCCESS,
            Outcome::Differs => ExitCode::from(1),
            Outcome::Failed => ExitCode::from(ERROR_EXIT),
        }
    }
}

/// Exit status for any error.
pub const ERROR_EXIT: u8 = 2;

#[cfg(test)]
mod tests {
    use std::fmt;

    use super::Error;
    use crate::diff::DiffError;
    use crate::push::PushError;

    /// `error` as lugc prints it to stderr, without colour.
    fn drawn(error: Error) -> String {
        struct Drawn(Error);
        impl fmt::Display for Drawn {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                miette::ReportHandler::debug(&crate::report_handler(false), &self.0, f)
            }
        }
        Drawn(error).to_string()
    }

    #[test]
    fn errors_are_drawn_whole() {
        let drift = PushError::Drift {
            host: "pve-5".into(),
            paths: vec!["/etc/hosts".into(), "/etc/chrony/chrony.conf".into()],
        };
        insta::assert_snapshot!("drift", drawn(Error::Push(drift.into())));
        let unknown = DiffError::UnknownHost {
            host: "pve-66".into(),
            suggestion: "did you mean `pve-6`? ".into(),
            old: "main".into(),
            new: "HEAD".into(),
        };
        insta::assert_snapshot!("unknown_host", drawn(unknown.into()));
        let refused = crate::harm::Refused {
            count: crate::ui::plural(2, "change"),
            bundles: "pve-5, cluster".into(),
            refused: "disk-removed".into(),
            allow: "disk-removed,storage-removed".into(),
        };
        insta::assert_snapshot!("harm_refused", drawn(refused.into()));
        let usage = Error::usage(
            "no host or bundle `pve-66` in out/",
            Some("did you mean `pve-6`?".into()),
        );
        insta::assert_snapshot!("usage", drawn(usage));
    }
}
