//! explain: every error of a failed evaluation, each worded for the fleet's
//! author and placed where the mistake is written.
//!
//! Takes the failed program and its first error; gives [`Diagnostics`].
//! Worded here: contract errors (lib/'s own message at the offending value,
//! an unknown field at its name, a wrong type as "`cores` must be a number,
//! found the string \"4\"" with the field's doc), missing fields, a key
//! defined twice; syntax errors in `syntax`; anything else as Nickel words
//! it (`report`). Under `--verbose` Nickel's own report follows each error.

use nickel_lang_core::ast::MergeKind;
use nickel_lang_core::error::{
    Error, EvalErrorData, EvalErrorKind, ImportErrorKind, TypecheckErrorKind,
};
use nickel_lang_core::eval::cache::CacheImpl;
use nickel_lang_core::eval::value::{Container, NickelValue, ValueContentRef};
use nickel_lang_core::identifier::LocIdent;
use nickel_lang_core::label::ty_path::Elem;
use nickel_lang_core::label::Label;
use nickel_lang_core::position::{PosIdx, PosTable, TermPos};
use nickel_lang_core::program::Program;
use nickel_lang_core::term::record::FieldMetadata;

use super::suggest::{closest, let_names, names_field, suggest};
use super::{collect, report, source, syntax, words, Detail, Place, Places};
use crate::diagnostic::{Diagnostics, SourceDiagnostic};

/// What Nickel's own contracts for `Array`, records and functions say; the
/// value's type says it better.
const BUILTIN_TYPE_MESSAGES: [&str; 8] = [
    "expected an array",
    "expected a Record",
    "expected a record",
    "not a record",
    "expected a function",
    "expected an enum",
    "expected an enum variant",
    "tag not in the enum type",
];

/// Every error of `program`, whose export failed with `first`.
pub(super) fn every_error(
    program: &mut Program<CacheImpl>,
    first: Error,
    places: Places,
    detail: Detail,
) -> Diagnostics {
    let mut found = Vec::new();
    let mut cut_short = false;
    if matches!(first, Error::EvalError(_)) {
        cut_short = collect::every_error(program, &mut |error| {
            found.push(explain(error, &places, detail));
        });
    }
    if found.is_empty() {
        let mut syntax = syntax_errors(&first, &places);
        let worded = if syntax.is_empty() {
            worded(&first, &places)
        } else {
            Some(syntax.remove(0))
        };
        found.push(finish(first, worded, &places, detail));
        found.extend(syntax);
    }
    // An error only lib/ can place usually follows from one in the user's
    // files (a check reading a value already reported): fix those first.
    let placed_by_user = |diagnostic: &SourceDiagnostic| {
        diagnostic
            .anchor()
            .is_some_and(|(name, _)| places.is_user_file(name))
    };
    if detail == Detail::Brief && found.iter().any(placed_by_user) {
        found.retain(placed_by_user);
    }
    let mut diagnostics = Diagnostics::new(found, &places.main_name);
    diagnostics.incomplete = cut_short;
    diagnostics
}

fn explain(error: Error, places: &Places, detail: Detail) -> SourceDiagnostic {
    let worded = worded(&error, places);
    finish(error, worded, places, detail)
}

/// An error in lugc's words, if lugc has words for it.
fn worded(error: &Error, places: &Places) -> Option<SourceDiagnostic> {
    match error {
        Error::EvalError(data) => eval_error(data, places),
        Error::ImportError(kind) => import_error(kind, places),
        Error::TypecheckError(data) => match data.borrow_error() {
            TypecheckErrorKind::ImportError(kind) => import_error(kind, places),
            TypecheckErrorKind::UnboundIdentifier(id) => unbound(*id, places),
            _ => None,
        },
        _ => None,
    }
}

/// Every syntax error a parse error starts, in lugc's words (none when it
/// has no words for the first).
fn syntax_errors(error: &Error, places: &Places) -> Vec<SourceDiagnostic> {
    let errors = match error {
        Error::ParseErrors(errors) => errors,
        Error::ImportError(kind) => match &**kind {
            ImportErrorKind::ParseErrors(errors, _) => errors,
            _ => return Vec::new(),
        },
        Error::TypecheckError(data) => match data.borrow_error() {
            TypecheckErrorKind::ImportError(ImportErrorKind::ParseErrors(errors, _)) => errors,
            _ => return Vec::new(),
        },
        _ => return Vec::new(),
    };
    syntax::explain(&errors.errors, places)
}

/// `worded`, or Nickel's own report when it is `None`; under `--verbose`
/// Nickel's report follows lugc's words.
fn finish(
    error: Error,
    worded: Option<SourceDiagnostic>,
    places: &Places,
    detail: Detail,
) -> SourceDiagnostic {
    let Some(mut diagnostic) = worded else {
        return report::nickel_diagnostic(first_parse_error(error), places, detail);
    };
    if detail == Detail::Verbose {
        let mut nickel = report::nickel_diagnostic(error, places, detail);
        nickel.message = format!("as Nickel reports it: {}", nickel.message);
        nickel.advice = true;
        diagnostic.related.push(nickel);
    }
    diagnostic
}

/// Of several parse errors only the first: Nickel's parser goes on after an
/// error, and what it finds next mostly follows from it.
fn first_parse_error(error: Error) -> Error {
    match error {
        Error::ParseErrors(mut errors) if errors.errors.len() > 1 => {
            errors.errors.truncate(1);
            Error::ParseErrors(errors)
        }
        other => other,
    }
}

fn eval_error(data: &EvalErrorData, places: &Places) -> Option<SourceDiagnostic> {
    let table = &data.ctxt.pos_table;
    match &data.error {
        EvalErrorKind::BlameError {
            evaluated_arg,
            label,
        } => blame(label, evaluated_arg.as_ref(), table, places),
        EvalErrorKind::MissingFieldDef {
            id,
            metadata,
            pos_record,
            pos_access,
        } => missing_definition(*id, metadata, &[*pos_record, *pos_access], table, places),
        EvalErrorKind::UnboundIdentifier(id, _) => unbound(*id, places),
        EvalErrorKind::NotAFunc(head, next, _) => {
            let place = |value: &NickelValue| places.place(table.get(value.pos_idx()).into_opt()?);
            let head = place(head).filter(|head| places.is_user_place(head))?;
            syntax::applied_value(&head, &place(next)?)
        }
        EvalErrorKind::MergeIncompatibleArgs {
            left_arg,
            right_arg,
            merge_label,
        } if merge_label.kind == MergeKind::PiecewiseDef => {
            defined_twice(merge_label.span, left_arg, right_arg, table, places)
        }
        _ => None,
    }
}

/// A file that could not be imported: an unreadable one, or a syntax error in it.
fn import_error(kind: &ImportErrorKind, places: &Places) -> Option<SourceDiagnostic> {
    match kind {
        ImportErrorKind::IOError(path, _, pos) => unreadable_import(path, *pos, places),
        _ => None,
    }
}

/// An import Nickel could not read although the file is there: a file that
/// is not UTF-8 (at its first bad byte), or one lugc may not read. Nickel
/// calls both "could not find import".
fn unreadable_import(path: &str, pos: TermPos, places: &Places) -> Option<SourceDiagnostic> {
    let span = pos.into_opt()?;
    let importer = std::path::PathBuf::from(places.files.name(span.src_id));
    let file = importer.parent()?.join(path);
    if !file.is_file() {
        return None;
    }
    let name = super::display_name(&places.base, &file.to_string_lossy());
    let diagnostic = match std::fs::read(&file) {
        Ok(bytes) => source::utf8(&name, bytes).err()?,
        Err(error) => SourceDiagnostic::new(format!("cannot read {name}: {error}")),
    };
    let imported = places.place(span)?;
    Some(diagnostic.with_related_note(imported.diagnostic("imported here", "")))
}

/// The best place among `positions`: the first in a user's file, else the
/// first outside Nickel's std.
fn best_place(positions: &[PosIdx], table: &PosTable, places: &Places) -> Option<Place> {
    let candidates: Vec<Place> = positions
        .iter()
        .filter_map(|&pos| table.get(pos).into_opt())
        .filter(|span| !places.in_std(*span))
        .filter_map(|span| places.place(span))
        .collect();
    let user = candidates
        .iter()
        .position(|place| places.is_user_place(place));
    candidates.into_iter().nth(user.unwrap_or(0))
}

/// A contract broken: its own message at the value, or a wrong type in words.
fn blame(
    label: &Label,
    arg: Option<&NickelValue>,
    table: &PosTable,
    places: &Places,
) -> Option<SourceDiagnostic> {
    let arg_pos = arg.map_or(PosIdx::NONE, NickelValue::pos_idx);
    let place = best_place(&[label.arg_pos, arg_pos], table, places);
    let head = label
        .diagnostics
        .iter()
        .rev()
        .find(|diagnostic| diagnostic.message.is_some());
    let message = head.and_then(|diagnostic| diagnostic.message.as_deref());
    let Some(message) = message.filter(|message| !BUILTIN_TYPE_MESSAGES.contains(message)) else {
        return wrong_type(label, arg, place?, table, places);
    };
    if message.starts_with("extra field") {
        return unknown_fields_of(message, arg?, places);
    }
    let place = match (place, unknown_field_name(message)) {
        (Some(place), Some(name)) => key_before(&place, name).unwrap_or(place),
        // A record's key checked as a value: at the name, not its record.
        (Some(place), None) if places.is_user_place(&place) => {
            named_key(&place, message).unwrap_or(place)
        }
        // The value lost its position on the way (a record's key checked as
        // a value, a record rebuilt by a contract): find what the message names.
        (place, _) => places.mentioned(message).or(place)?,
    };
    let notes = head.map_or(&[][..], |diagnostic| diagnostic.notes.as_slice());
    let (mut message, notes) = suggest(message, notes);
    // Name the field the value was given for, unless the message does.
    if let Some(field) = label.field_name {
        if !names_field(&message, field.label()) {
            message = format!("`{field}`: {message}");
        }
    }
    let diagnostic = place.diagnostic(message, "");
    Some(if notes.is_empty() {
        diagnostic
    } else {
        diagnostic.with_help(notes.join("\n"))
    })
}

/// "`cores` must be a number, found the string \"4\"", with the field's doc.
fn wrong_type(
    label: &Label,
    arg: Option<&NickelValue>,
    place: Place,
    table: &PosTable,
    places: &Places,
) -> Option<SourceDiagnostic> {
    let expected = words::expected(words::subtype(&label.typ, label.path.iter())?)?;
    let found = arg.map_or_else(|| "something else".to_owned(), words::found);
    let field = label
        .field_name
        .map_or_else(|| "this value".to_owned(), |name| format!("`{name}`"));
    let subject = match label.path.iter().last() {
        Some(Elem::Array) => format!("each element of {field}"),
        Some(Elem::Dict) => format!("each value of {field}"),
        _ => field,
    };
    let diagnostic = place.diagnostic(format!("{subject} must be {expected}, found {found}"), "");
    let doc = table
        .get(label.span)
        .into_opt()
        .and_then(|span| places.place(span))
        .and_then(|contract| words::field_doc(&contract.text, contract.range.start));
    Some(match (doc, label.field_name) {
        (Some(doc), Some(name)) => diagnostic.with_help(format!("`{name}`: {doc}")),
        _ => diagnostic,
    })
}

/// The name in "… unknown field `name` …" (or key), lib/'s message for a
/// field its contract does not know (util.ncl's `Record`, a storage's keys).
fn unknown_field_name(message: &str) -> Option<&str> {
    let (_, rest) = message
        .split_once("unknown field `")
        .or_else(|| message.split_once("unknown key `"))?;
    Some(rest.split_once('`')?.0)
}

/// The key before a record value that the message names in backticks (a
/// host's name, a bridge's): where a check of the key fails.
fn named_key(place: &Place, message: &str) -> Option<Place> {
    if !place.source().starts_with('{') {
        return None;
    }
    message
        .split('`')
        .skip(1)
        .step_by(2)
        .find_map(|name| key_before(place, name))
}

/// The field name written just before the value at `place` (`name = value`).
fn key_before(place: &Place, name: &str) -> Option<Place> {
    let before = place.text[..place.range.start].trim_end();
    let before = before.strip_suffix('=')?.trim_end();
    let start = if let Some(quoted) = before.strip_suffix(&format!("\"{name}\"")) {
        quoted.len() + 1
    } else {
        let bare = before.strip_suffix(name)?;
        let boundary = bare
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '\''));
        boundary.then_some(bare.len())?
    };
    Some(Place {
        range: start..start + name.len(),
        ..place.clone()
    })
}

/// Nickel's own "extra field" error, from a record contract written without
/// lib/'s `Record` (one in the user's files): the first unknown field at its
/// name.
fn unknown_fields_of(
    message: &str,
    record: &NickelValue,
    places: &Places,
) -> Option<SourceDiagnostic> {
    let ValueContentRef::Record(Container::Alloc(data)) = record.content_ref() else {
        return None;
    };
    let names: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let first = *names.first()?;
    let key = data.fields.keys().find(|id| id.label() == first)?;
    let place = places.place(key.pos.into_opt()?)?;
    let listed: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    let message = match listed.as_slice() {
        [one] => format!("unknown field {one}"),
        _ => format!("unknown fields {}", listed.join(", ")),
    };
    Some(
        place
            .diagnostic(message, "")
            .with_help("the contract applied to this record does not declare it"),
    )
}

/// A name used but never defined: a misspelt `let` name of the same file
/// (the closest is suggested), or a value written without its quotes
/// (`host = pve-5`).
fn unbound(id: LocIdent, places: &Places) -> Option<SourceDiagnostic> {
    let place = places.place(id.pos.into_opt()?)?;
    let bound = let_names(&place.text);
    let message = format!("`{id}` is not defined");
    Some(match closest(id.label(), &bound) {
        Some(name) => place.diagnostic(format!("{message}; did you mean `{name}`?"), ""),
        None => place.diagnostic(message, "").with_help(format!(
            "text is written in quotes: \"{id}\"; a bare name must be bound by a `let` first"
        )),
    })
}

/// A field that a contract requires and the record does not define.
fn missing_definition(
    id: LocIdent,
    metadata: &FieldMetadata,
    positions: &[PosIdx],
    table: &PosTable,
    places: &Places,
) -> Option<SourceDiagnostic> {
    let place = best_place(positions, table, places)?;
    let help = match &metadata.doc {
        Some(doc) => format!(
            "add `{id} = …`: {}",
            doc.split_whitespace().collect::<Vec<_>>().join(" ")
        ),
        None => format!("add `{id} = …`"),
    };
    Some(
        place
            .diagnostic(format!("missing field `{id}`"), "in this record")
            .with_help(help),
    )
}

/// A key written twice whose two definitions cannot be merged: both keys,
/// and the field inside on which they disagree.
fn defined_twice(
    key: PosIdx,
    left: &NickelValue,
    right: &NickelValue,
    table: &PosTable,
    places: &Places,
) -> Option<SourceDiagnostic> {
    // Nickel places the merge at the second key.
    let again = best_place(&[key], table, places)?;
    let name = again.source().trim_matches('"').to_owned();
    let mut values: Vec<Place> = [left.pos_idx(), right.pos_idx()]
        .iter()
        .filter_map(|&pos| best_place(&[pos], table, places))
        .filter(|place| place.name == again.name)
        .collect();
    values.sort_by_key(|place| place.range.start);
    let message = format!("`{name}` is defined twice");
    let Some(first_value) = values.first() else {
        return Some(again.diagnostic(message, "defined again here"));
    };
    // The first key: the nearest `name =` before the first definition's value.
    let first = place_of_key_before(first_value, &name)
        .filter(|first| first.range.start < again.range.start);
    let inner = values
        .iter()
        .filter_map(key_at)
        .find(|field| *field != name);
    let help = match inner {
        Some(field) => format!(
            "the two definitions disagree on `{field}`: keep one (Nickel merges both into one record)"
        ),
        None => "keep one definition: Nickel merges both, and they disagree".to_owned(),
    };
    let diagnostic = match first {
        Some(first) => first
            .diagnostic(message, "first defined here")
            .also(again.tight(), "defined again here"),
        None => again.diagnostic(message, "defined again here"),
    };
    Some(diagnostic.with_help(help))
}

/// The nearest `name =` (or `"name" =`) before `place`, as a place.
fn place_of_key_before(place: &Place, name: &str) -> Option<Place> {
    let before = &place.text[..place.range.start];
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '-' || c == '\'';
    before
        .rmatch_indices(name)
        .map(|(start, _)| start)
        .find(|&start| {
            let end = start + name.len();
            let quoted = before[..start].ends_with('"') && before[end..].starts_with('"');
            let bounded = !before[..start].chars().next_back().is_some_and(is_word)
                && !before[end..].chars().next().is_some_and(is_word);
            let rest = before[end + usize::from(quoted)..].trim_start();
            (quoted || bounded) && rest.starts_with('=') && !rest.starts_with("==")
        })
        .map(|start| Place {
            range: start..start + name.len(),
            ..place.clone()
        })
}

/// The field name a value is written under (`field = value`), if any.
fn key_at(value: &Place) -> Option<String> {
    let before = value.text[..value.range.start]
        .trim_end()
        .strip_suffix('=')?
        .trim_end();
    let start = before
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '"'))
        .map_or(0, |index| index + 1);
    let field = before[start..].trim_matches('"');
    (!field.is_empty()).then(|| field.to_owned())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn place(text: &str, value: &str) -> Place {
        let start = text.find(value).unwrap();
        Place {
            name: "cluster.ncl".into(),
            text: Arc::from(text),
            range: start..start + value.len(),
        }
    }

    #[test]
    fn an_unknown_field_is_placed_at_its_name() {
        let text = "{ address = 1, adress = \"10.0.0.1\", \"odd key\" = 2 }";
        let at = key_before(&place(text, "\"10.0.0.1\""), "adress").unwrap();
        assert_eq!(at.source(), "adress");
        let at = key_before(&place(text, "2 }"), "odd key").unwrap();
        assert_eq!(at.source(), "odd key");
        assert!(key_before(&place(text, "\"10.0.0.1\""), "dress").is_none());
        assert_eq!(
            unknown_field_name("unknown field `adress` in a host"),
            Some("adress")
        );
    }

    #[test]
    fn a_key_checked_as_a_name_is_placed_at_the_key() {
        let text = "{ pve_10 = { site = \"EL\" }, ports = [1] }";
        let record = place(text, "{ site");
        let at = named_key(&record, "host name `pve_10` is not valid").unwrap();
        assert_eq!(at.source(), "pve_10");
        assert!(named_key(&place(text, "[1]"), "`ports` is empty").is_none());
        assert!(named_key(&record, "`site` is unknown").is_none());
    }
}
