//! syntax: parse errors said as their likely causes, where the mistakes are,
//! every one the parser can get past.
//!
//! Nickel's parser reports the token where it gave up; the mistake is often
//! before it (a missing comma at the end of the line above, a brace left open
//! lines earlier). `scan` reads the text roughly (strings, comments,
//! brackets, and where the brackets disagree with the indentation); `cause`
//! finds the usual mistakes: a string left open on its line, a bracket never
//! closed, closed early, twice or by the wrong one, a missing `,` between
//! fields, `;` or `:` where Nickel wants `,` or `=` (JSON and YAML habits), a
//! field without a value, a `let` without `in`. Each cause that can be
//! mended (the `,` added, the `:` made `=`, the extra `}` blanked out) is,
//! and the mended text parsed again to find the next mistake, so that one
//! build reports every mistake the parser can get past. Takes Nickel's parse
//! errors and the sources; gives nothing when the first error has no likely
//! cause (the caller keeps Nickel's wording).

use std::ops::Range;

use nickel_lang_core::ast::AstAlloc;
use nickel_lang_core::error::ParseError;
use nickel_lang_core::files::{FileId, Files};
use nickel_lang_core::parser::{grammar::TermParser, lexer::Lexer, ErrorTolerantParser};

use super::{Place, Places};
use crate::diagnostic::SourceDiagnostic;
use cause::{Cause, Edit, Failure};

pub(super) use scan::Scan;

mod cause;
mod scan;

/// Syntax errors reported at most, the first one included.
const MAX_ERRORS: usize = 20;

/// Every syntax error that `errors` (Nickel's, for one file) starts, in
/// the order the parser meets them.
pub(super) fn explain(errors: &[ParseError], places: &Places) -> Vec<SourceDiagnostic> {
    let Some((file, first)) = errors
        .first()
        .and_then(|error| Some((file_of(error)?, failure_of(error)?)))
    else {
        return Vec::new();
    };
    let text = places.files.clone_source(file);
    let place = |range: Range<usize>| Place {
        name: places.name(file),
        text: text.clone(),
        range,
    };
    causes(&text, first)
        .iter()
        .map(|cause| diagnostic(cause, place))
        .collect()
}

/// The cause of `first` and of each failure after it that parsing the
/// text mended so far meets, their ranges in `text`.
fn causes(text: &str, first: Failure) -> Vec<Cause> {
    let mut mended = Mended::new(text);
    let mut found = Vec::new();
    let mut failure = Some(first);
    while let Some(now) = failure.take() {
        let Some(mut cause) = cause::cause(&mended.text, &now) else {
            break;
        };
        let mend = cause.mend.take();
        cause.at = mended.original(cause.at);
        cause.also = cause
            .also
            .map(|(range, label)| (mended.original(range), label));
        found.push(cause);
        let Some(edit) = mend.filter(|_| found.len() < MAX_ERRORS) else {
            break;
        };
        mended.apply(edit);
        failure = reparse(&mended.text);
    }
    found
}

/// Lines between a mistake and a second place it names, at most, for both
/// to show in one excerpt; a place further away is named in the message.
const NEAR: usize = 8;

fn diagnostic(cause: &Cause, place: impl Fn(Range<usize>) -> Place) -> SourceDiagnostic {
    let at = place(cause.at.clone());
    let mut diagnostic = at.diagnostic(cause.message.clone(), cause.label);
    if let Some((range, label)) = &cause.also {
        let also = place(range.clone());
        let lines = |place: &Place| cause::line_of(&place.text, place.range.start);
        if lines(&at).abs_diff(lines(&also)) <= NEAR {
            diagnostic = diagnostic.also(also.tight(), label);
        }
    }
    diagnostic.with_help(cause.help.clone())
}

/// A literal value applied to the value after it (`["iso" "vztmpl"]`
/// reads as "iso" applied to "vztmpl"): a `,` missing between the two.
pub(super) fn applied_value(head: &Place, next: &Place) -> Option<SourceDiagnostic> {
    let source = head.source();
    let literal = source.starts_with(['"', '[', '{', '\'', '-'])
        || source.starts_with(|c: char| c.is_ascii_digit())
        || source.starts_with("m%")
        || ["true", "false", "null"].contains(&source);
    let end = head.range.end;
    let adjacent = head.name == next.name
        && next.range.start > end
        && cause::code_before(&head.text, next.range.start).len() == end;
    if !(literal && adjacent) {
        return None;
    }
    let in_array = Scan::of(&head.text[..head.range.start], usize::MAX)
        .unclosed
        .last()
        .is_some_and(|&opener| head.text.as_bytes()[opener] == b'[');
    let message = if in_array {
        "missing `,` between two elements"
    } else {
        "missing `,` after this value"
    };
    let at = Place {
        range: end..end,
        ..head.clone()
    };
    Some(at.diagnostic(message, "add `,` here").with_help(
        "each element of an array, and each field of a record, ends with `,`; \
             without it Nickel reads `a b` as a applied to b",
    ))
}

/// The file a parse error is in.
fn file_of(error: &ParseError) -> Option<FileId> {
    match error {
        ParseError::UnexpectedToken(span, _)
        | ParseError::ExtraToken(span)
        | ParseError::UnmatchedCloseBrace(span)
        | ParseError::InvalidContract(span) => Some(span.src_id),
        ParseError::TypedFieldWithoutDefinition { field_span, .. } => Some(field_span.src_id),
        ParseError::UnexpectedEOF(file, _) => Some(*file),
        _ => None,
    }
}

/// Where and how the parser gave up.
fn failure_of(error: &ParseError) -> Option<Failure> {
    let range =
        |span: &nickel_lang_core::position::RawSpan| span.start.to_usize()..span.end.to_usize();
    match error {
        ParseError::UnexpectedToken(span, _)
        | ParseError::ExtraToken(span)
        | ParseError::UnmatchedCloseBrace(span) => Some(Failure::Token(range(span))),
        ParseError::InvalidContract(span) => Some(Failure::Annotation(range(span))),
        ParseError::TypedFieldWithoutDefinition { field_span, .. } => {
            Some(Failure::Annotation(range(field_span)))
        }
        ParseError::UnexpectedEOF(..) => Some(Failure::EndOfFile),
        _ => None,
    }
}

/// Parse `text` again; where it fails first, if it does.
fn reparse(text: &str) -> Option<Failure> {
    let mut files = Files::empty();
    let file = files.add("<mended>", text);
    let alloc = AstAlloc::new();
    let errors = TermParser::new()
        .parse_strict(&alloc, file, Lexer::new(text))
        .err()?;
    failure_of(errors.errors.first()?)
}

/// The source with the edits that mend its mistakes so far, and the way
/// back from its offsets to the source's.
struct Mended {
    text: String,
    /// Each edit as applied: (offset, bytes removed, bytes inserted).
    edits: Vec<(usize, usize, usize)>,
}

impl Mended {
    fn new(text: &str) -> Self {
        Mended {
            text: text.to_owned(),
            edits: Vec::new(),
        }
    }

    fn apply(&mut self, edit: Edit) {
        debug_assert!(!edit.with.contains('\n'));
        self.text.replace_range(edit.range.clone(), &edit.with);
        self.edits
            .push((edit.range.start, edit.range.len(), edit.with.len()));
    }

    /// The source's range for a range of the mended text (an inserted
    /// character maps to where it was inserted).
    fn original(&self, range: Range<usize>) -> Range<usize> {
        let back = |offset: usize| {
            self.edits
                .iter()
                .rev()
                .fold(offset, |offset, &(at, removed, inserted)| {
                    if offset >= at + inserted {
                        offset - inserted + removed
                    } else {
                        offset.min(at + removed.min(inserted))
                    }
                })
        };
        back(range.start)..back(range.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each cause's message and the line it points at.
    fn every_cause(text: &str) -> Vec<(String, usize)> {
        let first = reparse(text).expect("a syntax error");
        causes(text, first)
            .into_iter()
            .map(|cause| (cause.message, cause::line_of(text, cause.at.start)))
            .collect()
    }

    #[test]
    fn each_mistake_the_parser_can_get_past_is_reported() {
        let text = "{\n  a = 1\n  b = 2;\n  c = { d: 3 },\n  e = {\n    f = 4,\n  g = 5,\n}\n";
        let found = every_cause(text);
        let lines: Vec<usize> = found.iter().map(|(_, line)| *line).collect();
        assert_eq!(lines, [2, 3, 4, 6], "{found:#?}");
        assert_eq!(found[3].0, "the `{` of line 5 is not closed before line 7, which starts as far left as the line that opened it");
    }

    #[test]
    fn a_mistake_that_cannot_be_mended_ends_the_report() {
        let text = "{\n  a = [1, 2},\n  b = 2;\n}\n";
        let found = every_cause(text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].0, "`}` closes the `[` opened on line 2");
    }

    #[test]
    fn offsets_of_the_mended_text_map_back_to_the_source() {
        let mut mended = Mended::new("a b;c");
        mended.apply(Edit {
            range: 1..1,
            with: ",".into(),
        });
        mended.apply(Edit {
            range: 4..5,
            with: ",".into(),
        });
        assert_eq!(mended.text, "a, b,c");
        assert_eq!(mended.original(5..6), 4..5);
        assert_eq!(mended.original(1..2), 1..1);
        assert_eq!(mended.original(0..1), 0..1);
    }
}
