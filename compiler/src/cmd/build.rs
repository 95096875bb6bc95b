//! `lugc build`: compile and write out/, or with `--check` report a stale
//! out/, or with `--assumed` list the values marked `# assumed` and whether
//! the hosts' facts back them.

use std::io::Write;

use clap::Args;

use crate::cache;
use crate::config::{Config, InputArgs};
use crate::error::{Error, Outcome};
use crate::natural;
use crate::write::{self, Staleness};

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Build in memory and compare with out/: exit 1 and name the differing files when it is stale.
    #[arg(long)]
    pub check: bool,

    /// List each value marked `# assumed` and whether facts/<host>.json backs it or it is still a guess; writes nothing.
    #[arg(long, conflicts_with = "check")]
    pub assumed: bool,

    /// With --assumed: one `lugc-assumed 1` JSON document instead of the list.
    #[arg(long, requires = "assumed")]
    pub json: bool,
}

pub fn run(args: &BuildArgs, out: &mut dyn Write) -> Result<Outcome, Error> {
    let config = Config::from_args(&args.input)?;
    if args.assumed {
        return assumed(&config, args.json, out);
    }
    // Nothing read since the last build changed and out/ is intact: done.
    // `--check` never trusts it, but records a current out/ as a build would.
    let key = cache::key(&config);
    // Checked under out/'s lock, so that no other build swaps out/ meanwhile.
    if let Some(key) = key.as_ref().filter(|_| !args.check && config.out.is_dir()) {
        let _lock = write::lock_and_clean(&config.out)?;
        if let Some(index) = cache::lookup(&config, key) {
            print_index(&index, out)?;
            return Ok(Outcome::Clean);
        }
    }
    let compilation = crate::compile_derived(&config, !args.check)?;
    if config.detail == crate::eval::Detail::Verbose {
        eprintln!(
            "rendered {} of {} bundles",
            compilation.rendered,
            compilation.bundles.len()
        );
        eprintln!(
            "checked {} of {} hosts",
            compilation.fleet.hosts.len() - compilation.known,
            compilation.fleet.hosts.len()
        );
    }
    warn(&compilation.fleet.warnings);
    // Facts are not the description: where the state they show differs,
    // the next push changes it. Said on stderr, as warnings are.
    crate::changes::write(
        &compilation.main_name,
        &compilation.changes,
        &mut std::io::stderr().lock(),
    )?;
    let shown = config.out.display();
    if args.check {
        let mut stale = write::check(&config.out, &compilation.bundles)?;
        stale.sort_by(|(a, _), (b, _)| natural::cmp(&a.to_string_lossy(), &b.to_string_lossy()));
        for (path, how) in &stale {
            let how = match how {
                Staleness::Missing => "missing",
                Staleness::Modified => "modified",
                Staleness::Extra => "not generated",
            };
            writeln!(out, "stale: {}: {how}", config.out.join(path).display())?;
        }
        if stale.is_empty() {
            if let Some(key) = &key {
                let index = crate::bundle::index(&compilation.bundles);
                cache::record_current(&config, key, &index, &compilation);
            }
            writeln!(out, "{shown} is current")?;
            return Ok(Outcome::Clean);
        }
        writeln!(
            out,
            "{shown} is stale: run `lugc build` and commit the result"
        )?;
        return Ok(Outcome::Differs);
    }
    write::write(&config.out, &compilation.bundles)?;
    let index = crate::bundle::index(&compilation.bundles);
    if let Some(key) = &key {
        cache::record_current(&config, key, &index, &compilation);
    }
    print_index(&index, out)?;
    Ok(Outcome::Clean)
}

/// Each `<id> <bundle>` line of an INDEX text, in natural order of the bundles.
fn print_index(index: &str, out: &mut dyn Write) -> std::io::Result<()> {
    let mut lines: Vec<(&str, &str)> = index
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(' '))
        .collect();
    lines.sort_by(|(_, a), (_, b)| natural::cmp(a, b));
    for (id, bundle) in lines {
        writeln!(out, "{id} {bundle}")?;
    }
    Ok(())
}

/// The build's warnings on stderr; they may quote the hosts' facts.
fn warn(warnings: &[String]) {
    for warning in warnings {
        eprintln!("warning: {}", crate::sanitise::text(warning));
    }
}

/// `--assumed`: a report, so exit 0 whatever it finds.
fn assumed(config: &Config, json: bool, out: &mut dyn Write) -> Result<Outcome, Error> {
    let evaluated = crate::eval::evaluate_claims(&config.file, config.detail, config.facts)?;
    crate::validate::validate(&evaluated)?;
    warn(&evaluated.fleet.warnings);
    let values = crate::assumed::assess(&evaluated.main_text, &evaluated.claims);
    if json {
        crate::assumed::write_json(&evaluated.main_name, &values, out)?;
    } else {
        crate::assumed::write(&evaluated.main_name, &values, out)?;
    }
    Ok(Outcome::Clean)
}
