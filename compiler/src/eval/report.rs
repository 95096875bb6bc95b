//! report: a Nickel error as Nickel itself describes it, for the errors that
//! `explain` does not word itself (and for `--verbose`).
//!
//! Takes a Nickel error and the program's sources; gives one
//! [`SourceDiagnostic`]: the first of Nickel's diagnostics is the error, later
//! ones with a message are related notes, empty call-stack notes are dropped.
//! The user's files come first; lib/ and std appear only under `--verbose`,
//! or when nothing else locates the error.

use codespan_reporting::diagnostic::{Diagnostic, LabelStyle, Severity};
use codespan_reporting::files::Files as CodespanFiles;
use nickel_lang_core::error::{Error, IntoDiagnostics};
use nickel_lang_core::files::FileId;

use super::{tighten, Detail, Places};
use crate::diagnostic::SourceDiagnostic;

pub(super) fn nickel_diagnostic(error: Error, places: &Places, detail: Detail) -> SourceDiagnostic {
    let mut files = places.files.clone();
    let mut diagnostics = error.into_diagnostics(&mut files);
    // Nickel names files by absolute path in some messages (an empty file,
    // a failed import); show them relative, like the excerpts' file names.
    for diagnostic in &mut diagnostics {
        diagnostic.message = places.relative(&diagnostic.message);
        for note in &mut diagnostic.notes {
            *note = places.relative(note);
        }
        for label in &mut diagnostic.labels {
            label.message = places.relative(&label.message);
        }
    }
    let mut converted = diagnostics
        .iter()
        .filter(|diagnostic| {
            !diagnostic.message.is_empty() || diagnostic.severity >= Severity::Error
        })
        .flat_map(|diagnostic| split_per_file(diagnostic, &files, places));
    let Some(mut main) = converted.next() else {
        return SourceDiagnostic::new("Nickel evaluation failed without a diagnostic");
    };
    main.related.extend(converted.map(|mut part| {
        part.advice = true;
        part
    }));
    let in_user_file = |part: &SourceDiagnostic| {
        part.file
            .as_ref()
            .is_some_and(|file| places.is_user_file(file.name()))
    };
    if !in_user_file(&main) {
        if let Some(index) = main.related.iter().position(in_user_file) {
            // The user's file first, Nickel's first place after it.
            let user = main.related.remove(index);
            main = lead_with(user, main);
        } else if let Some(range) = locate_named(&diagnostics, places) {
            // Nickel placed the error only in lib/ (a check on a value that
            // lost its position on the way): point at the value the message
            // names in the main file.
            let located = SourceDiagnostic::new("").at(
                &places.main_name,
                &places.main_text,
                range,
                "the value this message names",
            );
            main = lead_with(located, main);
        }
    }
    if detail == Detail::Brief && in_user_file(&main) {
        main.related.retain(in_user_file);
    }
    main
}

/// `place` as the error, with `main`'s message and help; `main` (Nickel's
/// own first place) and its notes follow as related locations.
fn lead_with(mut place: SourceDiagnostic, mut main: SourceDiagnostic) -> SourceDiagnostic {
    place.message = std::mem::take(&mut main.message);
    place.help = main.help.take().or(place.help);
    place.advice = false;
    main.message = "related location".to_owned();
    main.advice = true;
    let rest = std::mem::take(&mut main.related);
    place.related.push(main);
    place.related.extend(rest);
    place
}

/// The value in the main file that Nickel's messages name, if any.
fn locate_named(
    diagnostics: &[Diagnostic<FileId>],
    places: &Places,
) -> Option<std::ops::Range<usize>> {
    let messages: Vec<&str> = diagnostics
        .iter()
        .flat_map(|diagnostic| {
            std::iter::once(diagnostic.message.as_str())
                .chain(diagnostic.notes.iter().map(String::as_str))
        })
        .collect();
    crate::diagnostic::locate_mentioned(&places.main_text, &messages)
}

/// One codespan diagnostic → one diagnostic per file its labels point into.
fn split_per_file(
    diagnostic: &Diagnostic<FileId>,
    files: &nickel_lang_core::files::Files,
    places: &Places,
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
    let mut named: Vec<(FileId, String)> = file_order
        .into_iter()
        .filter_map(|id| {
            let name = CodespanFiles::name(files, id).ok()?;
            Some((id, super::display_name(&places.base, &name)))
        })
        .collect();
    // The main file first; a generated snippet only when nothing else is left.
    named.sort_by_key(|(_, name)| (*name != places.main_name, name.starts_with('<')));
    if named.iter().any(|(_, name)| !name.starts_with('<')) {
        named.retain(|(_, name)| !name.starts_with('<'));
    }
    let mut parts: Vec<SourceDiagnostic> = Vec::new();
    for (file_id, name) in named {
        let text = files.clone_source(file_id);
        let mut part = SourceDiagnostic::new(if parts.is_empty() {
            diagnostic.message.clone()
        } else {
            "related location".to_owned()
        });
        part.advice = !parts.is_empty();
        part.labels = labels
            .iter()
            .filter(|label| label.file_id == file_id)
            .map(|label| (tighten(&text, label.range.clone()), label.message.clone()))
            .collect();
        part.file = Some(Box::new(miette::NamedSource::new(name, text)));
        parts.push(part);
    }
    if parts.is_empty() {
        parts.push(SourceDiagnostic::new(diagnostic.message.clone()));
    }
    parts[0].help = help;
    parts
}
