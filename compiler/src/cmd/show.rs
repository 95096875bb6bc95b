//! `lugc show HOST [PATH]`: a host's rendered files, from out/ or
//! (`--rebuild`) from cluster.ncl built in memory, without writing anything.
//!
//! Input: a host (or `cluster`) and optionally a path on it. Output: one
//! file's bytes exactly, or each file under a directory (all of them without
//! PATH) after a `==> path (mode owner) <==` line, or with `--list` the
//! files as their MANIFEST lines describe them. The files pmxcfs replicates
//! to the host come from the cluster bundle. out/ must be what cluster.ncl
//! builds, and each file read must match its MANIFEST line (exit 2 if not).

use std::io::Write;

use clap::Args;

use crate::config::{Config, InputArgs};
use crate::diff::source::parse_manifest;
use crate::diff::{DiffError, DirTree, MemTree, OutTree};
use crate::error::{Error, Outcome};
use crate::manifest::Entry;
use crate::natural;
use crate::render::CLUSTER_BUNDLE;

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// The host, or `cluster` for the files pmxcfs replicates.
    #[arg(value_name = "HOST")]
    pub host: String,

    /// A file on the host (printed exactly as it is), or a directory (each file under it).
    #[arg(value_name = "PATH")]
    pub path: Option<String>,

    /// Show cluster.ncl built in memory instead of out/.
    #[arg(long)]
    pub rebuild: bool,

    /// Only list the files: mode, owner, path, and the action run when it changes.
    #[arg(long)]
    pub list: bool,
}

pub fn run(args: &ShowArgs, out: &mut dyn Write) -> Result<Outcome, Error> {
    let config = Config::from_args(&args.input)?;
    let tree: Box<dyn OutTree> = if args.rebuild {
        let compilation = crate::compile(&config)?;
        let label = format!("{} (rebuilt)", config.file.display());
        Box::new(MemTree::new(label, compilation.bundles))
    } else {
        let tree = DirTree::open(&config.out)?;
        crate::freshness::require_current(&config)?;
        Box::new(tree)
    };
    let place = if args.rebuild {
        tree.label().to_owned()
    } else {
        format!("{}/", config.out.display())
    };
    let files = files_of(tree.as_ref(), &args.host, &place)?;
    let shown = selected(&files, args, &place)?;
    let single =
        matches!((&args.path, shown.as_slice()), (Some(path), [(_, entry)]) if entry.path == *path);
    for (number, (bundle, entry)) in shown.iter().enumerate() {
        let from = if bundle == &args.host {
            String::new()
        } else {
            format!(", {bundle} bundle")
        };
        if args.list {
            writeln!(out, "{}", list_line(bundle, entry, &args.host))?;
            continue;
        }
        let bytes = checked_file(tree.as_ref(), &config, bundle, entry)?;
        if single {
            out.write_all(&bytes)?;
            continue;
        }
        if number > 0 {
            writeln!(out)?;
        }
        writeln!(
            out,
            "==> {} ({:04o} {}{from}) <==",
            entry.path, entry.mode, entry.owner
        )?;
        out.write_all(&bytes)?;
        if !bytes.ends_with(b"\n") && !bytes.is_empty() {
            writeln!(out)?;
        }
    }
    Ok(Outcome::Clean)
}

/// The files under `args.path` (all without one); an error when none is.
fn selected<'a>(
    files: &'a [(String, Entry)],
    args: &ShowArgs,
    place: &str,
) -> Result<Vec<&'a (String, Entry)>, Error> {
    let Some(path) = &args.path else {
        return Ok(files.iter().collect());
    };
    let dir = format!("{}/", path.trim_end_matches('/'));
    let shown: Vec<_> = files
        .iter()
        .filter(|(_, entry)| entry.path == *path || entry.path.starts_with(&dir))
        .collect();
    if shown.is_empty() {
        return Err(Error::usage(
            format!("{} has no file {path} in {place}", args.host),
            Some(format!("`lugc show {} --list` lists its files", args.host)),
        ));
    }
    Ok(shown)
}

/// `--list`: mode, owner, path, the action, and the bundle when not the host's.
fn list_line(bundle: &str, entry: &Entry, host: &str) -> String {
    let action = entry
        .action
        .as_ref()
        .map_or_else(String::new, |action| format!("  ({action})"));
    let from = if bundle == host {
        String::new()
    } else {
        format!("  [{bundle}]")
    };
    format!(
        "{:04o} {} {}{action}{from}",
        entry.mode, entry.owner, entry.path
    )
}

/// The files on `host`: its bundle's and, for a cluster member, the cluster
/// bundle's, each with the bundle it comes from, by path. Each MANIFEST is
/// checked against its INDEX id.
fn files_of(tree: &dyn OutTree, host: &str, place: &str) -> Result<Vec<(String, Entry)>, Error> {
    let index = tree.index()?;
    let Some(id) = index.get(host) else {
        let mut known: Vec<&str> = index.keys().map(String::as_str).collect();
        natural::sort(&mut known);
        let help = match crate::eval::suggest::closest(host, &known) {
            Some(name) => format!("did you mean `{name}`? (known: {})", natural::list(&known)),
            None => format!("known: {}", natural::list(&known)),
        };
        return Err(Error::usage(
            format!("no host or bundle `{host}` in {place}"),
            Some(help),
        ));
    };
    let manifest = |name: &str, id: &str| -> Result<_, Error> {
        let bytes = tree.manifest(name)?;
        let location = format!("{name}/MANIFEST");
        if crate::manifest::bundle_id(&bytes) != id {
            return Err(DiffError::HandEdited {
                out: place.trim_end_matches('/').into(),
                files: vec![format!(
                    "{place}{location} (does not hash to the bundle id in INDEX)"
                )],
            }
            .into());
        }
        Ok(parse_manifest(&bytes, &location)?)
    };
    let mut files: Vec<(String, Entry)> = manifest(host, id)?
        .entries
        .into_iter()
        .map(|entry| (host.to_owned(), entry))
        .collect();
    if let Some(cluster_id) = index.get(CLUSTER_BUNDLE).filter(|_| host != CLUSTER_BUNDLE) {
        let cluster = manifest(CLUSTER_BUNDLE, cluster_id)?;
        if cluster.reaches.iter().any(|reached| reached == host) {
            files.extend(
                cluster
                    .entries
                    .into_iter()
                    .map(|entry| (CLUSTER_BUNDLE.to_owned(), entry)),
            );
        }
    }
    files.sort_by(|a, b| a.1.path.cmp(&b.1.path));
    Ok(files)
}

/// A file's bytes, which must hash to its MANIFEST line.
fn checked_file(
    tree: &dyn OutTree,
    config: &Config,
    bundle: &str,
    entry: &Entry,
) -> Result<Vec<u8>, Error> {
    let bytes = tree.file(bundle, &entry.path)?;
    if blake3::hash(&bytes).to_hex().as_str() != entry.blake3 {
        return Err(DiffError::HandEdited {
            out: config.out.clone(),
            files: vec![format!(
                "{}/{bundle}{} (does not match its MANIFEST line)",
                config.out.display(),
                entry.path
            )],
        }
        .into());
    }
    Ok(bytes)
}
