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

/// Deepest bracket nesting accepted in the main file. Nickel's typechecker
/// recurses once per level of literal nesting: about 20 000 levels overflow
/// even the evaluation stack (debug build) and abort the process, which no
/// error handling can catch. Fleets nest a few dozen levels; data built by
/// Nickel functions at run time is not limited by this.
const MAX_NESTING: usize = 1000;

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
    check_nesting(&main_name, &main_text)?;
    let mut program: Program<CacheImpl> = ProgramBuilder::new()
        .add_path(file)
        .build()
        .map_err(|error| SourceDiagnostic::new(format!("cannot read {main_name}: {error}")))?;
    let value = program
        .eval_full_for_export()
        .map_err(|error| convert(error, program.files(), &base, &main_name, &main_text))?;
    let json = serde_json::to_value(&value).map_err(|error| {
        SourceDiagnostic::new(format!("{main_name} does not export to data: {error}"))
    })?;
    let fleet = serde_json::from_value(json).map_err(|error| {
        let message = error.to_string();
        let (range, label) = shape_error_location(&main_text, &message);
        SourceDiagnostic::new(format!(
            "{main_name} does not evaluate to a lugc fleet: {message}"
        ))
        .at(&main_name, &main_text, range, label)
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

/// Refuse source nested deeper than [`MAX_NESTING`] brackets, located at the
/// first bracket past the limit. A rough lexer: strings and comments are
/// skipped, and anything it misreads is left for Nickel's parser to report.
fn check_nesting(name: &str, text: &str) -> Result<(), SourceDiagnostic> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'#' => {
                index += bytes[index..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .unwrap_or(bytes.len() - index);
            }
            b'"' => {
                // `m%"…"%` (any number of `%`) or a plain `"…"` with escapes.
                let percents = bytes[..index]
                    .iter()
                    .rev()
                    .take_while(|&&b| b == b'%')
                    .count();
                index += 1;
                while index < bytes.len() {
                    if percents == 0 && bytes[index] == b'\\' {
                        index += 2;
                        continue;
                    }
                    if bytes[index] == b'"'
                        && bytes[index + 1..]
                            .iter()
                            .take(percents)
                            .filter(|&&b| b == b'%')
                            .count()
                            == percents
                    {
                        index += percents;
                        break;
                    }
                    index += 1;
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(SourceDiagnostic::new(format!(
                        "{name} nests deeper than {MAX_NESTING} levels"
                    ))
                    .at(name, text, index..index + 1, "too deep from here")
                    .with_help(
                        "flatten the data, or build it with a Nickel function: \
                         lugc refuses such input rather than overflow its stack",
                    ));
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        index += 1;
    }
    Ok(())
}

/// Where to point when the evaluated value does not have the fleet's shape.
/// serde's message names no position, but often a field (`unknown field
/// `x``) or a value (`invalid type: string "x"`): point at it in the main
/// file if it is written there, else at the file's first line of code.
fn shape_error_location(text: &str, message: &str) -> (std::ops::Range<usize>, &'static str) {
    let named = ['`', '"'].into_iter().find_map(|quote| {
        let (_, rest) = message.split_once(quote)?;
        let (name, _) = rest.split_once(quote)?;
        crate::diagnostic::locate(text, name)
    });
    if let Some(range) = named {
        return (range, "this does not fit the fleet's shape");
    }
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let code = line.trim_start();
        if !code.is_empty() && !code.starts_with('#') {
            let start = offset + line.len() - code.len();
            return (start..start + 1, "this file evaluates to something else");
        }
        offset += line.len();
    }
    (0..0, "this file evaluates to something else")
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
    main_text: &str,
) -> SourceDiagnostic {
    let mut diagnostics = error.into_diagnostics(&mut files);
    // Nickel names files by absolute path in some messages (an empty file,
    // a failed import); show them relative, like the excerpts' file names.
    for diagnostic in &mut diagnostics {
        diagnostic.message = relative_paths(&diagnostic.message, base);
        for note in &mut diagnostic.notes {
            *note = relative_paths(note, base);
        }
        for label in &mut diagnostic.labels {
            label.message = relative_paths(&label.message, base);
        }
    }
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
    let in_main = |part: &SourceDiagnostic| {
        part.file
            .as_ref()
            .is_some_and(|file| file.name() == main_name)
    };
    if in_main(&main) || main.related.iter().any(in_main) {
        return main;
    }
    // Nickel placed the error only in lib/ (a check on a value that lost its
    // position on the way, e.g. through std.record.to_array). Point at the
    // value the message names in the main file, and keep lib/'s place after it.
    let messages: Vec<&str> = diagnostics
        .iter()
        .flat_map(|diagnostic| {
            std::iter::once(diagnostic.message.as_str())
                .chain(diagnostic.notes.iter().map(String::as_str))
        })
        .collect();
    let Some(range) = crate::diagnostic::locate_mentioned(main_text, &messages) else {
        return main;
    };
    let mut located = SourceDiagnostic::new(main.message.clone()).at(
        main_name,
        main_text,
        range,
        "the value this message names",
    );
    located.help = main.help.take();
    main.message = "related location".to_owned();
    let rest = std::mem::take(&mut main.related);
    located.related.push(main);
    located.related.extend(rest);
    located
}

/// `text` with `base/` removed and `base` itself written as `.`.
fn relative_paths(text: &str, base: &Path) -> String {
    let base = base.to_string_lossy();
    if base.len() <= 1 {
        return text.to_owned();
    }
    text.replace(&format!("{base}/"), "").replace(&*base, ".")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_past_the_limit_is_refused_where_it_happens() {
        let deep = format!(
            "{}1{}",
            "[".repeat(MAX_NESTING + 1),
            "]".repeat(MAX_NESTING + 1)
        );
        let error = check_nesting("cluster.ncl", &deep).unwrap_err();
        let limit = MAX_NESTING + 1;
        assert_eq!(
            error.location().as_deref(),
            Some(format!("cluster.ncl:1:{limit}").as_str())
        );
        let ok = format!(
            "{}1{}",
            "{ a = ".repeat(MAX_NESTING),
            "}".repeat(MAX_NESTING)
        );
        assert!(check_nesting("cluster.ncl", &ok).is_ok());
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let noise = "[".repeat(MAX_NESTING + 1);
        for text in [
            format!("# {noise}\n1"),
            format!("\"{noise}\""),
            format!("\"\\\" {noise}\""),
            format!("m%\"{noise}\"%"),
            format!("m%%\" \"% {noise}\"%%"),
        ] {
            assert!(check_nesting("cluster.ncl", &text).is_ok(), "{text}");
        }
    }

    #[test]
    fn a_shape_error_points_at_the_field_or_the_first_line_of_code() {
        let text = "# a comment\n{ hosts = {}, clusters = {} }\n";
        let (range, _) = shape_error_location(text, "unknown field `clusters`, expected `hosts`");
        assert_eq!(&text[range], "clusters");
        let (range, _) = shape_error_location(text, "missing field `cluster`");
        assert_eq!(range, 12..13);
    }

    #[test]
    fn messages_name_files_relative_to_the_main_directory() {
        let base = Path::new("/tmp/fleet");
        assert_eq!(
            relative_paths("could not find import (looked in [/tmp/fleet])", base),
            "could not find import (looked in [.])"
        );
        assert_eq!(
            relative_paths("when parsing /tmp/fleet/cluster.ncl", base),
            "when parsing cluster.ncl"
        );
        assert_eq!(relative_paths("/etc/x", Path::new("/")), "/etc/x");
    }
}
