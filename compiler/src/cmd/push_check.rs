//! `lugc push --all --yes`: the harm check of every bundle before any push
//! writes, so that a change that can lose data or cut service on one host
//! stops the whole run while nothing has changed anywhere (Terraform plans
//! everything before it applies anything). Each bundle gets a dry run, `-j N`
//! at once, its lines kept back; the harms no `--allow` lets through are
//! listed bundle by bundle and refuse the run (nothing is said when there
//! are none). Each push checks again as it goes, against what the host has
//! then, and lists its harms in its own lines.

use std::io::Write;
use std::path::Path;

use super::connect::label;
use crate::error::Error;
use crate::harm::{self, Harm, Kind, Refused};
use crate::host::Remote;
use crate::parallel::{Event, Pool};
use crate::push::error::noun;
use crate::push::{self, Options};

/// One bundle to check, and where it lands.
pub struct Check<'a> {
    pub bundle: &'a str,
    pub host: &'a str,
    pub remote: &'a Remote,
}

impl<'a> Check<'a> {
    pub fn new(bundle: &'a str, host: &'a str, remote: &'a Remote) -> Check<'a> {
        Check {
            bundle,
            host,
            remote,
        }
    }
}

/// Check every bundle; list and refuse what `options.allow` does not let through.
pub fn first(
    out: &Path,
    checks: &[Check<'_>],
    options: &Options,
    width: usize,
    progress: &mut dyn Write,
) -> Result<(), Error> {
    let dry = Options {
        apply: false,
        ..options.clone()
    };
    let unordered = vec![Vec::new(); checks.len()];
    let pool = Pool {
        width,
        after: &unordered,
        tick: None,
    };
    let mut found: Vec<Vec<Harm>> = vec![Vec::new(); checks.len()];
    pool.run(
        checks,
        |_, check, _: &dyn Fn(())| dry_run(out, check, &dry),
        |_| false,
        |event| {
            if let Event::Finished(index, harms) = event {
                found[index] = harms;
            }
            Ok::<(), Error>(())
        },
    )?;
    let mut refused = Vec::new();
    let mut count = 0;
    let mut bundles = Vec::new();
    for (check, harms) in checks.iter().zip(&found) {
        let kinds = harm::refused(harms, &options.allow);
        if kinds.is_empty() {
            continue;
        }
        let name = label(check.bundle, check.host);
        write!(progress, "{name}\n{}", harm::render(harms, &options.allow))?;
        count += harms
            .iter()
            .filter(|harm| !options.allow.contains(&harm.kind))
            .count();
        bundles.push(name);
        refused.extend(kinds);
    }
    if bundles.is_empty() {
        return Ok(());
    }
    // The command to run allows what was allowed already, too.
    let needed: Vec<Kind> = found.iter().flatten().map(|harm| harm.kind).collect();
    Err(Refused {
        count: noun(count, "change"),
        bundles: bundles.join(", "),
        refused: harm::allow_list(&refused),
        allow: harm::allow_list(&needed),
    }
    .into())
}

/// A dry run of one bundle, for its harms alone; a push that fails (an
/// unreachable host, drift) fails again, and says so, when it is pushed.
fn dry_run(out: &Path, check: &Check<'_>, dry: &Options) -> Vec<Harm> {
    push::from_out(
        out,
        check.remote,
        check.host,
        check.bundle,
        dry,
        &mut std::io::sink(),
    )
    .harms
}
