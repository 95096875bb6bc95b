//! lugc: compiles a Proxmox VE fleet described in Nickel into per-host bundles.
//!
//! [`compile`] is the whole pipeline on one screen; [`run`] is the CLI.

pub mod adopt;
pub mod assumed;
pub mod bundle;
pub mod cache;
pub mod changes;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod derive;
pub mod diagnostic;
pub mod diff;
pub mod error;
pub mod eval;
pub mod facts;
pub mod fleet;
pub mod freshness;
pub mod gather;
pub mod harm;
pub mod host;
pub mod interfaces_cfg;
pub mod manifest;
pub mod natural;
pub mod parallel;
pub mod plan;
pub mod push;
pub mod pve;
pub mod qemu_cfg;
pub mod render;
pub mod sanitise;
pub mod secret;
pub mod status;
pub mod storage_cfg;
pub mod ui;
pub mod validate;
pub mod write;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;

use crate::bundle::Bundle;
use crate::config::Config;
use crate::error::{Error, ERROR_EXIT};
use crate::fleet::Fleet;

/// The result of compiling a fleet: its description and its bundles, sorted by name.
#[derive(Debug)]
pub struct Compilation {
    pub fleet: Fleet,
    pub bundles: Vec<Bundle>,
    /// Where the description differs from the state the hosts' facts show.
    pub changes: Vec<changes::Change>,
    /// The main file's display name, for locating `changes`.
    pub main_name: String,
    /// Each bundle's sources key (`derive`), empty when not worked out.
    pub keys: std::collections::BTreeMap<String, String>,
    /// How many bundles were rendered rather than taken from out/.
    pub rendered: usize,
    /// Each host as the contracts gave it, as Nickel text (`derive`).
    pub checked: std::collections::BTreeMap<String, String>,
    /// How many hosts were taken as the last build checked them.
    pub known: usize,
    /// The key and checked Nickel text of the description without its hosts.
    pub rest: Option<(String, String)>,
}

/// eval → validate → render → bundle. Writing, diffing and pushing take the result.
pub fn compile(config: &Config) -> Result<Compilation, Error> {
    let evaluated = eval::evaluate_with(&config.file, config.detail, config.facts)?;
    let rendered = evaluated.fleet.hosts.len() + 1;
    let derived = derive::Derived {
        evaluated,
        keys: Default::default(),
        rendered,
        taken: Vec::new(),
        known: 0,
        rest: None,
    };
    finish(derived)
}

/// [`compile`] for `lugc build`: each bundle's sources key worked out and,
/// with `reuse`, each bundle whose sources did not change since the build
/// that wrote out/ taken from out/ (`derive`).
pub fn compile_derived(config: &Config, reuse: bool) -> Result<Compilation, Error> {
    finish(derive::evaluate(config, reuse)?)
}

fn finish(derived: derive::Derived) -> Result<Compilation, Error> {
    let mut evaluated = derived.evaluated;
    validate::validate(&evaluated)?;
    let checked = std::mem::take(&mut evaluated.checked);
    let taken: std::collections::HashSet<&str> = derived
        .taken
        .iter()
        .map(|bundle| bundle.name.as_str())
        .collect();
    let trees: Vec<render::BundleTree> = render::render(&evaluated.fleet)
        .into_iter()
        .filter(|tree| !taken.contains(tree.name.as_str()))
        .collect();
    let rendered = parallel::map_on_every_core(trees, bundle::bundle);
    let mut bundles: Vec<Bundle> = rendered.into_iter().chain(derived.taken).collect();
    bundles.sort_by(|a, b| a.name.cmp(&b.name));
    let changes = changes::of(&evaluated);
    Ok(Compilation {
        fleet: evaluated.fleet,
        bundles,
        changes,
        main_name: evaluated.main_name,
        keys: derived.keys,
        rendered: derived.rendered,
        checked,
        known: derived.known,
        rest: derived.rest,
    })
}

/// Parse the command line, run the command, report errors, and give the exit status.
pub fn run() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(ERROR_EXIT)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let color = config::use_color(cli.color);
    install_report_hook(color);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = cmd::run(cli.command, color, &mut out).and_then(|outcome| {
        out.flush()?;
        Ok(outcome)
    });
    match result {
        Ok(outcome) => outcome.into(),
        Err(Error::Output(error)) if error.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(Error::Source(diagnostics)) => {
            let _ = diagnostics.report(&mut std::io::stderr().lock());
            ExitCode::from(ERROR_EXIT)
        }
        Err(error) => {
            eprintln!("{:?}", miette::Report::new(error));
            ExitCode::from(ERROR_EXIT)
        }
    }
}

fn install_report_hook(color: bool) {
    let _ = miette::set_hook(Box::new(move |_| Box::new(report_handler(color))));
}

/// How every error but the fleet's is drawn: miette's graphical report,
/// over a sanitised copy of the error.
pub(crate) fn report_handler(color: bool) -> sanitise::ReportHandler {
    sanitise::ReportHandler(
        miette::MietteHandlerOpts::new()
            .force_graphical(true)
            .color(color)
            .unicode(color)
            .terminal_links(false)
            .wrap_lines(false)
            .build(),
    )
}
