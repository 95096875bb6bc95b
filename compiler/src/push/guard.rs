//! push::guard: what must hold before anything reaches a host. out/ is
//! current against cluster.ncl (`write::check`, as `build --check`), out/ is
//! committed in git (git2 status restricted to out/), and the named bundle
//! exists (with the closest name suggested when it does not). Reads only.

use std::path::Path;

use crate::bundle::Bundle;
use crate::config::Config;
use crate::push::error::PushError;
use crate::write::{self, Staleness};

/// Fail when out/ is not what cluster.ncl builds.
pub fn current(config: &Config, bundles: &[Bundle]) -> Result<(), crate::error::Error> {
    let stale = write::check(&config.out, bundles)?;
    if stale.is_empty() {
        return Ok(());
    }
    let files = stale
        .iter()
        .map(|(path, how)| {
            let how = match how {
                Staleness::Missing => "missing",
                Staleness::Modified => "modified",
                Staleness::Extra => "not generated",
            };
            format!("{} ({how})", path.display())
        })
        .collect();
    Err(PushError::StaleOut {
        out: config.out.clone(),
        file: config.file.clone(),
        files,
    }
    .into())
}

/// Fail when out/ has changes that git does not have in HEAD (untracked files included).
pub fn committed(out: &Path) -> Result<(), PushError> {
    let no_repository = |reason: String| PushError::NoRepository {
        out: out.to_path_buf(),
        reason,
    };
    let absolute = std::fs::canonicalize(out).map_err(PushError::io(out))?;
    let repository = git2::Repository::discover(&absolute)
        .map_err(|error| no_repository(error.message().to_owned()))?;
    let workdir = repository
        .workdir()
        .and_then(|dir| std::fs::canonicalize(dir).ok())
        .ok_or_else(|| no_repository("the repository has no working tree".to_owned()))?;
    let relative = absolute
        .strip_prefix(&workdir)
        .map_err(|_| no_repository("out/ is outside the working tree".to_owned()))?;
    let mut options = git2::StatusOptions::new();
    options
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false);
    if !relative.as_os_str().is_empty() {
        options.pathspec(relative);
    }
    let statuses = repository
        .statuses(Some(&mut options))
        .map_err(|error| no_repository(error.message().to_owned()))?;
    let files: Vec<String> = statuses
        .iter()
        .filter(|entry| entry.status() != git2::Status::CURRENT)
        .filter_map(|entry| entry.path().map(str::to_owned))
        .collect();
    if files.is_empty() {
        Ok(())
    } else {
        Err(PushError::DirtyOut {
            out: out.to_path_buf(),
            files,
        })
    }
}

/// The bundle called `name`, or an error suggesting the closest name.
pub fn find<'a>(bundles: &'a [Bundle], name: &str) -> Result<&'a Bundle, PushError> {
    if let Some(bundle) = bundles.iter().find(|bundle| bundle.name == name) {
        return Ok(bundle);
    }
    let mut names: Vec<&str> = bundles.iter().map(|bundle| bundle.name.as_str()).collect();
    crate::natural::sort(&mut names);
    let suggestion = crate::eval::suggest::closest(name, &names).map(str::to_owned);
    Err(PushError::UnknownHost {
        host: name.to_owned(),
        suggestion,
        known: crate::natural::list(&names),
    })
}
