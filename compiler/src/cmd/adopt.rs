//! `lugc adopt [HOST…]`: take into cluster.ncl what the hosts' facts
//! determine of its `# assumed` values, in place, and propose Nickel for
//! what the hosts have and it lacks. Shows the edit as a diff; writes
//! cluster.ncl, and nothing else, only with `--write`, and only once the
//! edited file builds.

use std::io::Write;
use std::path::Path;

use clap::Args;

use crate::adopt::{self, Adoption, Outcome};
use crate::config::{Config, InputArgs};
use crate::diagnostic::{Diagnostics, SourceDiagnostic};
use crate::error::{Error, Outcome as Exit};
use crate::eval::{self, FactsUse, Proposal};
use crate::facts;

#[derive(Debug, Args)]
pub struct AdoptArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Hosts whose facts to adopt [default: every host with facts]; a value that also concerns other hosts stays.
    #[arg(value_name = "HOST")]
    pub hosts: Vec<String>,

    /// Write the adopted cluster.ncl (once it builds); without it, show the edit as a unified diff.
    #[arg(long)]
    pub write: bool,
}

pub fn run(args: &AdoptArgs, out: &mut dyn Write) -> Result<Exit, Error> {
    let config = Config::from_args(&args.input)?;
    let root = config.root();
    require_facts(root, &args.hosts)?;
    // Stale or contradicting facts must not stop their own adoption.
    let evaluated = eval::evaluate_claims(&config.file, config.detail, FactsUse::Unchecked)?;
    let adoption = adopt::adopt(&evaluated.main_text, &evaluated.claims, &args.hosts);
    let name = &evaluated.main_name;
    let changed = adoption.text != *evaluated.main_text;
    if changed {
        check_builds(&config.file, &adoption.text, config.detail)?;
        if args.write {
            write_main(&config.file, &adoption.text)?;
        } else {
            let diff = similar::TextDiff::from_lines(&*evaluated.main_text, &adoption.text);
            let header = (format!("a/{name}"), format!("b/{name}"));
            write!(out, "{}", diff.unified_diff().header(&header.0, &header.1))?;
        }
    }
    account(name, &adoption, out)?;
    let proposals: Vec<&Proposal> = evaluated
        .proposals
        .iter()
        .filter(|p| args.hosts.is_empty() || args.hosts.contains(&p.host))
        .collect();
    propose(name, &proposals, out)?;
    let verdict = match (changed, args.write) {
        (false, _) => format!("{name} already holds what the facts tell"),
        (true, true) => format!("wrote {name}; review it, commit, then `lugc build`"),
        (true, false) => format!("{name} is unchanged: `lugc adopt --write` writes the edit above"),
    };
    writeln!(out, "{verdict}")?;
    Ok(Exit::Clean)
}

/// Each named host has a fact file, and without names some host has one.
fn require_facts(root: &Path, hosts: &[String]) -> Result<(), Error> {
    let missing: Vec<&str> = hosts
        .iter()
        .filter(|host| !facts::path(root, host).exists())
        .map(String::as_str)
        .collect();
    let problem = if !missing.is_empty() {
        format!("no facts of {}", crate::natural::list(&missing))
    } else if hosts.is_empty() && !facts::has_any(root) {
        "no host has facts".to_owned()
    } else {
        return Ok(());
    };
    let hosts = if missing.is_empty() {
        "HOST…".to_owned()
    } else {
        missing.join(" ")
    };
    let diagnostic = SourceDiagnostic::new(problem).with_help(format!(
        "run `lugc facts {hosts}` first: adopt takes values from facts/<host>.json"
    ));
    Err(Error::Source(Diagnostics::from(diagnostic)))
}

/// The edited main file builds as `lugc build` would build it: evaluated
/// beside the original (so its imports resolve), its facts checked. Where
/// the original already contradicts the facts (of hosts not adopted), the
/// edit must build with them unchecked, and the contradictions stay.
fn check_builds(file: &Path, text: &str, detail: eval::Detail) -> Result<(), Error> {
    let dir = file.parent().unwrap_or(Path::new("."));
    let copy = tempfile::Builder::new()
        .prefix(".adopted-")
        .suffix(".ncl")
        .tempfile_in(dir)
        .and_then(|mut copy| copy.write_all(text.as_bytes()).map(|()| copy))
        .map_err(|error| cannot("write a copy beside", file, error))?;
    let error = match builds(copy.path(), detail, FactsUse::Checked) {
        Ok(()) => return Ok(()),
        Err(error) => error,
    };
    let contradicted = builds(file, detail, FactsUse::Checked).is_err();
    if contradicted && builds(copy.path(), detail, FactsUse::Unchecked).is_ok() {
        eprintln!(
            "note: {} contradicts the facts before this edit and after it: `lugc build` shows where",
            file.display()
        );
        return Ok(());
    }
    eprintln!("the adopted file does not build, so lugc adopt writes nothing:");
    Err(error)
}

/// Whether `file` evaluates and validates, its facts used as `facts` says.
fn builds(file: &Path, detail: eval::Detail, facts: FactsUse) -> Result<(), Error> {
    let evaluated = eval::evaluate_with(file, detail, facts)?;
    Ok(crate::validate::validate(&evaluated)?)
}

/// Replace the main file with `text`, keeping its permissions.
fn write_main(file: &Path, text: &str) -> Result<(), Error> {
    let dir = file.parent().unwrap_or(Path::new("."));
    let written = tempfile::NamedTempFile::new_in(dir).and_then(|mut replacement| {
        replacement.write_all(text.as_bytes())?;
        let permissions = std::fs::metadata(file)?.permissions();
        replacement.as_file().set_permissions(permissions)?;
        replacement.persist(file).map_err(|error| error.error)
    });
    written
        .map(drop)
        .map_err(|error| cannot("write", file, error))
}

fn cannot(what: &str, file: &Path, error: std::io::Error) -> Error {
    SourceDiagnostic::new(format!("cannot {what} {}: {error}", file.display())).into()
}

/// What became of each marked value.
fn account(name: &str, adoption: &Adoption, out: &mut dyn Write) -> std::io::Result<()> {
    for value in &adoption.values {
        let at = format!("{name}:{}:{}", value.line, value.column);
        match &value.outcome {
            Outcome::Confirmed => writeln!(out, "{at}: confirmed: {}", value.text)?,
            Outcome::Taken { from, to } => writeln!(out, "{at}: taken: {from} -> {to}")?,
            Outcome::Stays(why) => writeln!(out, "{at}: stays a guess: {} ({why})", value.text)?,
        }
    }
    let count =
        |which: fn(&Outcome) -> bool| adoption.values.iter().filter(|v| which(&v.outcome)).count();
    writeln!(
        out,
        "{} taken from the facts, {} confirmed by them, {} still a guess",
        count(|o| matches!(o, Outcome::Taken { .. })),
        count(|o| matches!(o, Outcome::Confirmed)),
        count(|o| matches!(o, Outcome::Stays(_)))
    )
}

/// Nickel to paste for what the hosts have and the description lacks.
fn propose(name: &str, proposals: &[&Proposal], out: &mut dyn Write) -> std::io::Result<()> {
    if proposals.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\nThe hosts have what {name} does not describe; to manage it, paste:"
    )?;
    for proposal in proposals {
        writeln!(out, "  # {}", crate::sanitise::line(&proposal.what))?;
        writeln!(out, "  {}", crate::sanitise::line(&proposal.nickel))?;
    }
    Ok(())
}
