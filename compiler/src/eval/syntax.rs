//! syntax: a parse error said as its likely cause, where the mistake is.
//!
//! Nickel's parser reports the token where it gave up; the mistake is often
//! before it (a missing comma at the end of the line above, a brace left open
//! lines earlier). A rough scan of the text (strings, comments, brackets)
//! finds the usual causes: a string left open on its line, a bracket closed
//! by the wrong one or never closed, a missing `,` between fields, `;` or `:`
//! where Nickel wants `,` or `=` (JSON and YAML habits), a field without a
//! value, a `let` without `in`. Takes Nickel's parse errors and the sources;
//! anything else keeps Nickel's wording (`None`).

use std::ops::Range;

use nickel_lang_core::error::ParseError;

use super::{Place, Places};
use crate::diagnostic::SourceDiagnostic;

pub(super) fn explain(errors: &[ParseError], places: &Places) -> Option<SourceDiagnostic> {
    let (file, at, eof) = match errors.first()? {
        ParseError::UnexpectedToken(span, _) | ParseError::ExtraToken(span) => (
            span.src_id,
            span.start.to_usize()..span.end.to_usize(),
            false,
        ),
        ParseError::UnmatchedCloseBrace(span) | ParseError::InvalidContract(span) => (
            span.src_id,
            span.start.to_usize()..span.end.to_usize(),
            false,
        ),
        ParseError::UnexpectedEOF(file, _) => {
            let len = places.files.clone_source(*file).len();
            (*file, len..len, true)
        }
        _ => return None,
    };
    let text = places.files.clone_source(file);
    let place = |range: Range<usize>| Place {
        name: places.name(file),
        text: text.clone(),
        range,
    };
    let (cause, range) = cause(&text, at, eof)?;
    let mut diagnostic = place(range).diagnostic(cause.message, cause.label);
    if let Some((range, label)) = cause.also {
        diagnostic = diagnostic.also(range, label);
    }
    Some(diagnostic.with_help(cause.help))
}

/// What went wrong, in words, and where.
struct Cause {
    message: String,
    label: &'static str,
    help: String,
    also: Option<(Range<usize>, &'static str)>,
}

impl Cause {
    fn new(message: impl Into<String>, label: &'static str, help: impl Into<String>) -> Self {
        Cause {
            message: message.into(),
            label,
            help: help.into(),
            also: None,
        }
    }
}

/// The likely cause of a parse error at `at` (the end of the text when `eof`).
fn cause(text: &str, at: Range<usize>, eof: bool) -> Option<(Cause, Range<usize>)> {
    let scan = Scan::of(text, usize::MAX);
    if let Some(start) = scan.string_over_lines.filter(|&start| start <= at.start) {
        let cause = Cause::new(
            "this string is not closed on its line",
            "the string starts here",
            "close it with `\"` on the same line; text over several lines is written m%\"…\"%",
        );
        return Some((cause, start..start + 1));
    }
    if let Some((opener, closer)) = scan.mismatch.filter(|(_, closer)| *closer <= at.start) {
        let open = char::from(text.as_bytes()[opener]);
        let mut cause = Cause::new(
            format!(
                "`{}` closes the `{open}` opened on line {}",
                char::from(text.as_bytes()[closer]),
                line_of(text, opener)
            ),
            "this closes the wrong bracket",
            format!("close the `{open}` with `{}` first", closing(open)),
        );
        cause.also = Some((opener..opener + 1, "opened here"));
        return Some((cause, closer..closer + 1));
    }
    if eof {
        if let Some(&opener) = scan.unclosed.last() {
            let open = char::from(text.as_bytes()[opener]);
            let cause = Cause::new(
                format!("this `{open}` is never closed"),
                "opened here",
                format!("add `{}` where it ends", closing(open)),
            );
            return Some((cause, opener..opener + 1));
        }
        if let Some(start) = let_without_in(text) {
            let cause = Cause::new(
                "this `let` has no `in`",
                "the binding starts here",
                "write `let name = value in` before the expression that uses the name",
            );
            return Some((cause, start..start + 3));
        }
        return None;
    }
    let token = text.get(at.clone())?;
    let line_start = text[..at.start].rfind('\n').map_or(0, |index| index + 1);
    let line = &text[line_start..];
    let semicolon = if token == ";" {
        Some(at.start)
    } else {
        let before = code_before(text, line_start);
        (token == "=" && before.ends_with(';')).then(|| before.len() - 1)
    };
    if let Some(semicolon) = semicolon {
        let cause = Cause::new(
            "Nickel separates fields and elements with `,`, not `;`",
            "write `,` here",
            "records are written { name = value, other = value }",
        );
        return Some((cause, semicolon..semicolon + 1));
    }
    if let Some(colon) = colon_for_equals(line) {
        let colon = line_start + colon;
        let cause = Cause::new(
            "Nickel gives a field its value with `=`, not `:`",
            "write `=` here",
            "records are written { name = value }; `name : Type` is a type annotation",
        );
        return Some((cause, colon..colon + 1));
    }
    let before = code_before(text, at.start);
    if (token == "," || token == "}" || token == "]") && before.ends_with('=') {
        let equals = before.len() - 1;
        let cause = Cause::new(
            "a field has no value",
            "a value is missing after this `=`",
            "give the field a value, or remove it",
        );
        return Some((cause, equals..equals + 1));
    }
    if let Some(record) = value_without_name(text, &at, line_start) {
        let mut cause = Cause::new(
            "a value without a field name inside a record",
            "this needs a name: `name = …`",
            "a record holds `name = value` fields; a list of values is written [ … ]",
        );
        cause.also = Some((record..record + 1, "the record opens here"));
        return Some((cause, at.start..at.start + 1));
    }
    if let Some(end) = missing_comma(text, &at, line_start) {
        let cause = Cause::new(
            "missing `,` between two fields",
            "add `,` here",
            "each field of a record, and each element of an array, ends with `,`",
        );
        return Some((cause, end..end));
    }
    None
}

/// The `{` of the record that holds a bare value where a field should be:
/// the error is at a value (`{`, `[`, `"`) that starts its line right after
/// the record opens or after a `,`.
fn value_without_name(text: &str, at: &Range<usize>, line_start: usize) -> Option<usize> {
    let token = text.get(at.clone())?;
    let starts_value = token.starts_with(['{', '[', '"']);
    let first_on_line = text[line_start..at.start].trim().is_empty();
    let after = code_before(text, line_start).chars().next_back();
    let opener = *Scan::of(&text[..at.start], usize::MAX).unclosed.last()?;
    (starts_value
        && first_on_line
        && matches!(after, Some('{' | ','))
        && text.as_bytes()[opener] == b'{')
        .then_some(opener)
}

/// Where a `,` is missing: the end of the previous line, when the error is
/// at the `=` of a field that starts its line and that line ends a value.
fn missing_comma(text: &str, at: &Range<usize>, line_start: usize) -> Option<usize> {
    if text.get(at.clone())? != "=" {
        return None;
    }
    let name = text[line_start..at.start].trim();
    let is_name = !name.is_empty()
        && name
            .trim_matches('"')
            .chars()
            .all(|c| c.is_alphanumeric() || "_-.".contains(c));
    if !is_name {
        return None;
    }
    let previous = code_before(text, line_start);
    let last = previous.chars().next_back()?;
    (!",{[(=;:".contains(last)).then_some(previous.len())
}

/// `text` before `offset` without trailing blanks and `#` comments: where
/// the previous piece of code ends.
fn code_before(text: &str, offset: usize) -> &str {
    let mut end = offset;
    loop {
        let before = text[..end].trim_end();
        let line_start = before.rfind('\n').map_or(0, |index| index + 1);
        match comment_start(&before[line_start..]) {
            Some(comment) => end = line_start + comment,
            None => return before,
        }
    }
}

/// Offset of a `#` comment in one line, outside double-quoted strings.
pub(crate) fn comment_start(line: &str) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    for (index, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '#' if !in_string => return Some(index),
            _ => {}
        }
    }
    None
}

/// The `:` of a line written `name: value` or `"name": value` (YAML, JSON),
/// not a type annotation `name : Type`.
fn colon_for_equals(line: &str) -> Option<usize> {
    let line = line.split('\n').next()?;
    let code = line.trim_start();
    let indent = line.len() - code.len();
    let name_end = if let Some(rest) = code.strip_prefix('"') {
        rest.find('"')? + 2
    } else {
        code.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))?
    };
    if name_end == 0 {
        return None;
    }
    let rest = &code[name_end..];
    let colon = rest.find(|c: char| c != ' ')?;
    if !rest[colon..].starts_with(':') || rest[colon..].starts_with("::") {
        return None;
    }
    let value = rest[colon + 1..].trim_start();
    let looks_like_value = value.starts_with(['"', '[', '{', '\''])
        || value.starts_with(|c: char| c.is_ascii_digit())
        || ["true", "false", "null"]
            .iter()
            .any(|word| value.starts_with(word));
    looks_like_value.then_some(indent + name_end + colon)
}

/// The last `let` at the start of a line that no `in` follows on the lines
/// of its binding.
fn let_without_in(text: &str) -> Option<usize> {
    let mut offset = 0;
    let mut open = None;
    for line in text.split_inclusive('\n') {
        let code = line.trim_start();
        let code_only = &code[..comment_start(code).unwrap_or(code.len())];
        if code.starts_with("let ") {
            open = Some(offset + line.len() - code.len());
        }
        if code_only.trim_end().ends_with(" in") || code_only.contains(" in ") {
            open = None;
        }
        offset += line.len();
    }
    open
}

fn closing(open: char) -> char {
    match open {
        '{' => '}',
        '[' => ']',
        _ => ')',
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

/// What a rough pass over the text finds about its strings and brackets.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Scan {
    /// The opening quote of the first plain string that runs over a line.
    string_over_lines: Option<usize>,
    /// The first closing bracket that does not match the open one: (opener, closer).
    mismatch: Option<(usize, usize)>,
    /// Brackets still open at the end of the text, outermost first.
    unclosed: Vec<usize>,
    /// The first bracket nested deeper than the limit the scan was given.
    pub(super) too_deep: Option<usize>,
}

/// Where the scan is: in code (inside brackets, or a `%{…}` of a string),
/// or in a string.
enum Frame {
    Bracket(usize),
    Interpolation,
    Plain(usize),
    /// A multi-line string `m%"…"%`, with its count of `%`.
    Multi(usize),
}

impl Scan {
    /// Scan `text`, noting the first bracket nested more than `limit` deep.
    pub(super) fn of(text: &str, limit: usize) -> Scan {
        let bytes = text.as_bytes();
        let mut scan = Scan::default();
        let mut frames: Vec<Frame> = Vec::new();
        let mut index = 0;
        while index < bytes.len() {
            let byte = bytes[index];
            match frames.last() {
                Some(Frame::Plain(start)) => match byte {
                    b'\\' => index += 1,
                    b'"' => {
                        frames.pop();
                    }
                    b'\n' => {
                        scan.string_over_lines.get_or_insert(*start);
                    }
                    b'%' if bytes.get(index + 1) == Some(&b'{') => {
                        frames.push(Frame::Interpolation);
                        index += 1;
                    }
                    _ => {}
                },
                Some(Frame::Multi(percents)) => {
                    let percents = *percents;
                    let run = |at: usize| bytes[at..].iter().take_while(|&&b| b == b'%').count();
                    if byte == b'"' && run(index + 1) >= percents {
                        frames.pop();
                        index += percents;
                    } else if byte == b'%'
                        && run(index) == percents
                        && bytes.get(index + percents) == Some(&b'{')
                    {
                        frames.push(Frame::Interpolation);
                        index += percents;
                    }
                }
                _ => match byte {
                    b'#' => {
                        while index < bytes.len() && bytes[index] != b'\n' {
                            index += 1;
                        }
                    }
                    b'"' => {
                        let percents = bytes[..index]
                            .iter()
                            .rev()
                            .take_while(|&&b| b == b'%')
                            .count();
                        let multi =
                            percents > 0 && index > percents && bytes[index - percents - 1] == b'm';
                        frames.push(if multi {
                            Frame::Multi(percents)
                        } else {
                            Frame::Plain(index)
                        });
                    }
                    b'{' | b'[' | b'(' => {
                        frames.push(Frame::Bracket(index));
                        if frames.len() > limit {
                            scan.too_deep.get_or_insert(index);
                        }
                    }
                    b'}' if matches!(frames.last(), Some(Frame::Interpolation)) => {
                        frames.pop();
                    }
                    b'}' | b']' | b')' => match frames.pop() {
                        Some(Frame::Bracket(opener))
                            if closing(char::from(bytes[opener])) == char::from(byte) => {}
                        Some(Frame::Bracket(opener)) => {
                            scan.mismatch.get_or_insert((opener, index));
                            return scan;
                        }
                        _ => {}
                    },
                    _ => {}
                },
            }
            index += 1;
        }
        scan.unclosed = frames
            .iter()
            .filter_map(|frame| match frame {
                Frame::Bracket(opener) => Some(*opener),
                _ => None,
            })
            .collect();
        scan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cause of a parse error at the first character of the first
    /// `marker` (or at the end), as
    /// (message, the text the label points at).
    fn cause_at(text: &str, marker: Option<&str>) -> (String, String) {
        let (at, eof) = match marker {
            Some(marker) => {
                let start = text.find(marker).unwrap();
                (start..start + 1, false)
            }
            None => (text.len()..text.len(), true),
        };
        let (cause, range) = cause(text, at, eof).expect("a cause");
        let pointed = if range.is_empty() {
            format!(
                "end of `{}`",
                text[..range.start].lines().last().unwrap().trim()
            )
        } else {
            text[range].to_owned()
        };
        (cause.message, pointed)
    }

    #[test]
    fn a_missing_comma_is_placed_at_the_end_of_the_line_before() {
        let text = "{\n  domain = \"x\" # the domain\n  ntp_servers = [],\n}\n";
        assert_eq!(
            cause_at(text, Some("= [")),
            (
                "missing `,` between two fields".into(),
                "end of `domain = \"x\"`".into()
            )
        );
    }

    #[test]
    fn json_and_yaml_habits_are_named() {
        let text = "{\n  domain: \"x\",\n}\n";
        assert_eq!(
            cause_at(text, Some(",")).0,
            "Nickel gives a field its value with `=`, not `:`"
        );
        let text = "{\n  domain = \"x\";\n  mirror = \"y\",\n}\n";
        let semicolon = (
            "Nickel separates fields and elements with `,`, not `;`".into(),
            ";".into(),
        );
        assert_eq!(cause_at(text, Some(";")), semicolon);
        assert_eq!(cause_at(text, Some("= \"y")), semicolon);
    }

    #[test]
    fn an_unclosed_string_or_bracket_is_placed_where_it_opens() {
        let text = "{\n  domain = \"x,\n  mirror = [\"y\"],\n}\n";
        assert_eq!(
            cause_at(text, None),
            ("this string is not closed on its line".into(), "\"".into())
        );
        let text = "{\n  sites = {\n    NIC = { a = \"%{b}\" },\n";
        let (message, _) = cause_at(text, None);
        assert_eq!(message, "this `{` is never closed");
        let (cause, range) = cause(text, text.len()..text.len(), true).unwrap();
        assert_eq!(
            range.start,
            text.find("{\n    NIC").unwrap(),
            "{}",
            cause.message
        );
        let text = "{\n  a = [1, 2},\n}\n";
        assert_eq!(
            cause_at(text, Some("},")).0,
            "`}` closes the `[` opened on line 2"
        );
    }

    #[test]
    fn a_list_written_as_a_record_is_named() {
        let text = "{\n  vms = {\n    { id = 230 },\n  },\n}\n";
        assert_eq!(
            cause_at(text, Some("{ id")),
            (
                "a value without a field name inside a record".into(),
                "{".into()
            )
        );
    }

    #[test]
    fn a_field_without_value_and_a_let_without_in() {
        let text = "{\n  domain = ,\n}\n";
        assert_eq!(
            cause_at(text, Some(",")),
            ("a field has no value".into(), "=".into())
        );
        let text = "let a = 1 in\nlet b = \"x\"\n{ b = b }\n";
        assert_eq!(
            cause_at(text, None),
            ("this `let` has no `in`".into(), "let".into())
        );
    }

    #[test]
    fn multi_line_strings_and_comments_are_skipped() {
        let scan = Scan::of(
            "{ a = m%\"\n  { [ %{x}\n\"%, # }\n b = \"}\" }\n",
            usize::MAX,
        );
        assert_eq!(scan, Scan::default());
    }
}
