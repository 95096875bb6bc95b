//! freshness: is out/ what cluster.ncl builds now? For commands that read
//! out/ as the fleet's truth (`diff` against the working tree, `show`).
//!
//! The cache's record answers without evaluating when nothing the last build
//! read has changed and out/INDEX is what it wrote; otherwise the fleet is
//! built in memory and out/ compared with it as `build --check` does. Input:
//! the config; output: a [`Freshness`]. Writes nothing.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::diff::DiffError;
use crate::error::Error;
use crate::write::{self, Staleness};
use crate::Compilation;

/// How out/ stands against the sources.
#[derive(Debug)]
pub enum Freshness {
    /// out/ was built from the sources as they are (files other than INDEX
    /// unchecked when the cache answered).
    Current,
    /// The sources build another out/: these files differ.
    Stale(Vec<(PathBuf, Staleness)>),
    /// The sources build this out/'s INDEX and MANIFESTs, but these files
    /// differ from what they list: out/ was edited by hand.
    HandEdited(Vec<(PathBuf, Staleness)>),
}

/// Check out/ against the sources; the build in memory, when one was made,
/// comes back for a caller that needs the bundles anyway.
pub fn check(config: &Config) -> Result<(Freshness, Option<Compilation>), Error> {
    let index = crate::write::read_below(&config.out, Path::new("INDEX"))
        .ok()
        .and_then(|(bytes, _)| String::from_utf8(bytes).ok());
    if let (Some(key), Some(index)) = (crate::cache::key(config), &index) {
        if crate::cache::built_with(config, &key, index) {
            return Ok((Freshness::Current, None));
        }
    }
    let compilation = crate::compile(config)?;
    let stale = write::check(&config.out, &compilation.bundles)?;
    let freshness = if stale.is_empty() {
        Freshness::Current
    } else if stale
        .iter()
        .all(|(path, _)| path != Path::new("INDEX") && !path.ends_with("MANIFEST"))
    {
        Freshness::HandEdited(stale)
    } else {
        Freshness::Stale(stale)
    };
    Ok((freshness, Some(compilation)))
}

/// Fail (exit 2) unless out/ is what the sources build: for a command that
/// reads out/ as the fleet's truth and offers `--rebuild` instead.
pub fn require_current(config: &Config) -> Result<(), Error> {
    let error = match check(config)?.0 {
        Freshness::Current => return Ok(()),
        Freshness::Stale(files) => DiffError::StaleOut {
            out: config.out.clone(),
            files: describe(&config.out, &files),
        },
        Freshness::HandEdited(files) => DiffError::HandEdited {
            out: config.out.clone(),
            files: describe(&config.out, &files),
        },
    };
    Err(error.into())
}

/// `out/pve-5/etc/hosts (modified)`, for messages.
pub fn describe(out: &Path, files: &[(PathBuf, Staleness)]) -> Vec<String> {
    files
        .iter()
        .map(|(path, how)| format!("{} ({})", out.join(path).display(), how.as_str()))
        .collect()
}
