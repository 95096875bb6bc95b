//! eval: `cluster.ncl` → [`Fleet`], the only module that touches nickel-lang-core.
//!
//! Evaluates in-process like `nickel export`, on a thread with a large stack
//! (deep data overflows the default one), then goes through JSON into the
//! typed [`Fleet`]. Nickel errors leave this module as [`SourceDiagnostic`]s
//! whose file names are relative to the directory of the main file.

use std::path::{Path, PathBuf};

use codespan_reporting::diagnostic::{Diagnostic, LabelStyle, Severity};
use codespan_reporting::files::Files as CodespanFiles;
use nickel_lang_core::error::IntoDiagnostics;
use nickel_lang_core::eval::cache::CacheImpl;
use nickel_lang_core::files::{FileId, Files};
use nickel_lang_core::program::{Program, ProgramBuilder};

use crate::diagnostic::SourceDiagnostic;
use crate::fleet::Fleet;

/// Stack for the evaluation thread: deep records recurse in the evaluator.
const EVAL_STACK_BYTES: usize = 256 << 20;

/// What `eval` hands to the next stage: the typed fleet and the main source.
#[derive(Debug)]
pub struct Evaluated {
    pub fleet: Fleet,
    /// Display name and text of the main file, for locating later errors.
    pub main_name: String,
    pub main_text: String,
}

/// Evaluate `file` and read the result as a [`Fleet`].
pub fn evaluate(file: &Path) -> Result<Evaluated, SourceDiagnostic> {
    let file = file.to_path_buf();
    std::thread::Builder::new()
        .name("nickel-eval".into())
        .stack_size(EVAL_STACK_BYTES)
        .spawn(move || evaluate_on_this_thread(&file))
        .map_err(|error| SourceDiagnostic::new(format!("cannot start evaluation: {error}")))?
        .join()
        .unwrap_or_else(|_| {
            Err(SourceDiagnostic::new(
                "internal error: Nickel evaluation panicked (a lugc bug)",
            ))
        })
}

fn evaluate_on_this_thread(file: &Path) -> Result<Evaluated, SourceDiagnostic> {
    let base = display_base(file);
    let main_name = display_name(&base, &file.to_string_lossy());
    let main_text = read_main(file, &main_name)?;
    let mut program: Program<CacheImpl> = ProgramBuilder::new()
        .add_path(file)
        .build()
        .map_err(|error| SourceDiagnostic::new(format!("cannot read {main_name}: {error}")))?;
    let value = program
        .eval_full_for_export()
        .map_err(|error| convert(error, program.files(), &base, &main_name))?;
    let json = serde_json::to_value(&value).map_err(|error| {
        SourceDiagnostic::new(format!("{main_name} does not export to data: {error}"))
    })?;
    let fleet = serde_json::from_value(json).map_err(|error| {
        SourceDiagnostic::new(format!(
            "{main_name} does not evaluate to a lugc fleet: {error}"
        ))
        .with_help("the main file must end with `lugc.build { … }` from lib/lugc.ncl")
    })?;
    Ok(Evaluated {
        fleet,
        main_name,
        main_text,
    })
}

/// Read the main file ourselves first: a clear error for a missing or non-UTF-8 file.
fn read_main(file: &Path, name: &str) -> Result<String, SourceDiagnostic> {
    let bytes = std::fs::read(file)
        .map_err(|error| SourceDiagnostic::new(format!("cannot read {name}: {error}")))?;
    String::from_utf8(bytes).map_err(|error| {
        let offset = error.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
        SourceDiagnostic::new(format!("{name} is not valid UTF-8")).at(
            name,
            &text,
            offset..offset + 1,
            "invalid byte here",
        )
    })
}

/// Directory that diagnostics name files relative to.
fn display_base(file: &Path) -> PathBuf {
    let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    absolute.parent().map(Path::to_path_buf).unwrap_or_default()
}

fn display_name(base: &Path, name: &str) -> String {
    let absolute = std::path::absolute(name).unwrap_or_else(|_| PathBuf::from(name));
    match absolute.strip_prefix(base) {
        Ok(relative) if !name.starts_with('<') => relative.to_string_lossy().into_owned(),
        _ => name.to_owned(),
    }
}

/// Nickel error → one diagnostic: the first of Nickel's is the error, later
/// ones with a message become related notes, empty call-stack notes are dropped.
/// Where a diagnostic points into the main file, that excerpt comes first.
fn convert(
    error: nickel_lang_core::error::Error,
    mut files: Files,
    base: &Path,
    main_name: &str,
) -> SourceDiagnostic {
    let diagnostics = error.into_diagnostics(&mut files);
    let mut converted = diagnostics
        .iter()
        .filter(|diagnostic| {
            !diagnostic.message.is_empty() || diagnostic.severity >= Severity::Error
        })
        .flat_map(|diagnostic| split_per_file(diagnostic, &files, base, main_name));
    let Some(mut main) = converted.next() else {
        return SourceDiagnostic::new("Nickel evaluation failed without a diagnostic");
    };
    main.related.extend(converted);
    main
}

/// One codespan diagnostic → one diagnostic per file its labels point into.
fn split_per_file(
    diagnostic: &Diagnostic<FileId>,
    files: &Files,
    base: &Path,
    main_name: &str,
) -> Vec<SourceDiagnostic> {
    let mut labels = diagnostic.labels.clone();
    // Primary labels first, so each part's first label is its anchor.
    labels.sort_by_key(|label| label.style != LabelStyle::Primary);
    let mut file_order: Vec<FileId> = Vec::new();
    for label in &labels {
        if !file_order.contains(&label.file_id) {
            file_order.push(label.file_id);
        }
    }
    let help = (!diagnostic.notes.is_empty()).then(|| diagnostic.notes.join("\n"));
    let mut named: Vec<(FileId, String, &str)> = file_order
        .into_iter()
        .filter_map(|id| {
            let name = CodespanFiles::name(files, id).ok()?;
            Some((
                id,
                display_name(base, &name),
                CodespanFiles::source(files, id).ok()?,
            ))
        })
        .collect();
    // The main file first; a generated snippet only when nothing else is left.
    named.sort_by_key(|(_, name, _)| (name != main_name, name.starts_with('<')));
    if named.iter().any(|(_, name, _)| !name.starts_with('<')) {
        named.retain(|(_, name, _)| !name.starts_with('<'));
    }
    let mut parts: Vec<SourceDiagnostic> = Vec::new();
    for (file_id, name, text) in named {
        let mut part = SourceDiagnostic::new(if parts.is_empty() {
            diagnostic.message.clone()
        } else {
            "related location".to_owned()
        });
        part.file = Some(Box::new(miette::NamedSource::new(name, text.to_owned())));
        part.labels = labels
            .iter()
            .filter(|label| label.file_id == file_id)
            .map(|label| (label.range.clone(), label.message.clone()))
            .collect();
        parts.push(part);
    }
    if parts.is_empty() {
        parts.push(SourceDiagnostic::new(diagnostic.message.clone()));
    }
    parts[0].help = help;
    parts
}
