//! cause: where the parser gave up, said as the likely mistake: what went
//! wrong, where it is written, and the edit that mends it so that parsing
//! can go on (none where the author's intent cannot be told).

use std::ops::Range;

use super::scan::{closing, Scan};
use crate::diagnostic::comment_start;

/// Where the parser gave up.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Failure {
    /// At a token it did not expect.
    Token(Range<usize>),
    /// At the end of the text.
    EndOfFile,
    /// At a value written as a contract (`name : value`, or `name : {` for
    /// a field): the `:` before it is a field's `=`.
    Annotation(Range<usize>),
}

/// What went wrong, in words, and where.
pub(super) struct Cause {
    pub(super) message: String,
    pub(super) label: &'static str,
    pub(super) help: String,
    pub(super) at: Range<usize>,
    pub(super) also: Option<(Range<usize>, &'static str)>,
    /// The text as it was likely meant, for parsing on.
    pub(super) mend: Option<Edit>,
}

/// Replace `range` by `with` (which holds no line break).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Edit {
    pub(super) range: Range<usize>,
    pub(super) with: String,
}

impl Edit {
    fn new(range: Range<usize>, with: &str) -> Self {
        Edit {
            range,
            with: with.to_owned(),
        }
    }

    /// `range` blanked out: spaces instead, so that nothing else moves.
    fn blank(range: Range<usize>) -> Self {
        let with = " ".repeat(range.len());
        Edit { range, with }
    }
}

impl Cause {
    fn new(
        message: impl Into<String>,
        label: &'static str,
        help: impl Into<String>,
        at: Range<usize>,
    ) -> Self {
        Cause {
            message: message.into(),
            label,
            help: help.into(),
            at,
            also: None,
            mend: None,
        }
    }

    fn also(mut self, range: Range<usize>, label: &'static str) -> Self {
        self.also = Some((range, label));
        self
    }

    fn mend(mut self, edit: Edit) -> Self {
        self.mend = Some(edit);
        self
    }
}

/// The likely cause of `failure` in `text`.
pub(super) fn cause(text: &str, failure: &Failure) -> Option<Cause> {
    match failure {
        Failure::Token(at) => structure(text, Some(at.start)).or_else(|| token(text, at)),
        Failure::EndOfFile => structure(text, None).or_else(|| end_of_file(text)),
        Failure::Annotation(at) => colon_before(text, at.start)
            .or_else(|| structure(text, Some(at.start)))
            .or_else(|| token(text, at)),
    }
}

/// A string or bracket left open, closed twice or by the wrong bracket,
/// before `before` (anywhere when `None`): the earliest.
fn structure(text: &str, before: Option<usize>) -> Option<Cause> {
    let scan = Scan::of(text, usize::MAX);
    let seen = |offset: usize| before.is_none_or(|at| offset <= at);
    if let Some(start) = scan.string_over_lines.filter(|&start| seen(start)) {
        return Some(unclosed_string(text, start));
    }
    let mut found: Vec<(usize, Cause)> = Vec::new();
    if let Some((opener, line)) = scan.missing {
        found.push((line, missing_closer(text, opener, line)));
    }
    if let Some((opener, closer)) = scan.premature {
        found.push((closer, early_closer(text, opener, closer)));
    }
    if let Some((opener, closer)) = scan.mismatch {
        found.push((closer, wrong_closer(text, opener, closer)));
    }
    if let Some(closer) = scan.unopened {
        found.push((closer, closes_nothing(text, closer)));
    }
    found
        .into_iter()
        .filter(|(at, _)| seen(*at))
        .min_by_key(|(at, _)| *at)
        .map(|(_, cause)| cause)
}

fn unclosed_string(text: &str, start: usize) -> Cause {
    // A neutral value and the comma the line likely ended with.
    let end = start + text[start..].find('\n').unwrap_or(text.len() - start);
    let with = if end - start >= 2 { "0," } else { "0" };
    Cause::new(
        "this string is not closed on its line",
        "the string starts here",
        "close it with `\"` on the same line; text over several lines is written m%\"…\"%",
        start..start + 1,
    )
    .mend(Edit::new(
        start..end,
        &format!("{with:<width$}", width = end - start),
    ))
}

fn missing_closer(text: &str, opener: usize, line: usize) -> Cause {
    let open = char::from(text.as_bytes()[opener]);
    let close = closing(open);
    let end = code_before(text, line).len();
    let (opened, next) = (line_of(text, opener), line_of(text, line));
    let message = if text[line..].trim_start().starts_with(['}', ']', ')']) {
        format!("the `{open}` of line {opened} is not closed: the closing bracket on line {next} is indented for an outer one")
    } else {
        format!("the `{open}` of line {opened} is not closed before line {next}, which starts as far left as the line that opened it")
    };
    Cause::new(
        message,
        match close {
            '}' => "`}` missing here",
            ']' => "`]` missing here",
            _ => "`)` missing here",
        },
        format!("close it with `{close}` after its last element"),
        end..end,
    )
    .also(opener..opener + 1, "opened here")
    .mend(Edit::new(end..end, &format!("{close},")))
}

fn early_closer(text: &str, opener: usize, closer: usize) -> Cause {
    let open = char::from(text.as_bytes()[opener]);
    let close = char::from(text.as_bytes()[closer]);
    let comma = usize::from(text[closer + 1..].starts_with(','));
    Cause::new(
        format!(
            "this `{close}` closes the `{open}` of line {} early: the lines after it are indented as that `{open}`'s own",
            line_of(text, opener)
        ),
        "closes too early",
        format!("remove it, or move it after the last line that belongs inside `{open}…{close}`"),
        closer..closer + 1,
    )
    .also(opener..opener + 1, "opened here")
    .mend(Edit::blank(closer..closer + 1 + comma))
}

fn wrong_closer(text: &str, opener: usize, closer: usize) -> Cause {
    let open = char::from(text.as_bytes()[opener]);
    Cause::new(
        format!(
            "`{}` closes the `{open}` opened on line {}",
            char::from(text.as_bytes()[closer]),
            line_of(text, opener)
        ),
        "this closes the wrong bracket",
        format!("close the `{open}` with `{}` first", closing(open)),
        closer..closer + 1,
    )
    .also(opener..opener + 1, "opened here")
}

fn closes_nothing(text: &str, closer: usize) -> Cause {
    let close = char::from(text.as_bytes()[closer]);
    let comma = usize::from(text[closer + 1..].starts_with(','));
    Cause::new(
        format!("this `{close}` closes nothing: every bracket before it is closed already"),
        "nothing is open here",
        "remove it, or the bracket that closes too early before it",
        closer..closer + 1,
    )
    .mend(Edit::blank(closer..closer + 1 + comma))
}

/// At the end of the text: a bracket never closed, a `let` without `in`.
fn end_of_file(text: &str) -> Option<Cause> {
    let scan = Scan::of(text, usize::MAX);
    if let Some(&opener) = scan.unclosed.last() {
        let open = char::from(text.as_bytes()[opener]);
        return Some(Cause::new(
            format!("this `{open}` is never closed"),
            "opened here",
            format!("add `{}` where it ends", closing(open)),
            opener..opener + 1,
        ));
    }
    let start = let_without_in(text)?;
    Some(Cause::new(
        "this `let` has no `in`",
        "the binding starts here",
        "write `let name = value in` before the expression that uses the name",
        start..start + 3,
    ))
}

/// At a token: a JSON or YAML habit, a field without a value or a name, a
/// missing comma.
fn token(text: &str, at: &Range<usize>) -> Option<Cause> {
    let token = text.get(at.clone())?;
    let line_start = text[..at.start].rfind('\n').map_or(0, |index| index + 1);
    semicolon(text, token, at.start, line_start)
        .or_else(|| colon_for_equals(&text[line_start..]).map(|colon| equals(line_start + colon)))
        .or_else(|| field_without_value(text, token, at.start))
        .or_else(|| value_without_name(text, at, line_start))
        .or_else(|| missing_comma(text, at, line_start))
}

/// `;` where Nickel wants `,`: at the token, or ending the line before it.
fn semicolon(text: &str, token: &str, at: usize, line_start: usize) -> Option<Cause> {
    let semicolon = if token == ";" {
        at
    } else {
        let before = code_before(text, line_start);
        (token == "=" && before.ends_with(';')).then(|| before.len() - 1)?
    };
    Some(
        Cause::new(
            "Nickel separates fields and elements with `,`, not `;`",
            "write `,` here",
            "records are written { name = value, other = value }",
            semicolon..semicolon + 1,
        )
        .mend(Edit::new(semicolon..semicolon + 1, ",")),
    )
}

/// `name: value` (YAML) or `"name": value` (JSON) for `name = value`.
fn equals(colon: usize) -> Cause {
    Cause::new(
        "Nickel gives a field its value with `=`, not `:`",
        "write `=` here",
        "records are written { name = value }; `name : Type` is a type annotation",
        colon..colon + 1,
    )
    .mend(Edit::new(colon..colon + 1, "="))
}

/// The `:` right before a value that Nickel took for a contract (`carries:
/// "x"`, `vm_policy: {`), when a field name precedes it.
fn colon_before(text: &str, at: usize) -> Option<Cause> {
    let before = text[..at].trim_end();
    let colon = if before.ends_with(':') {
        before.len() - 1
    } else {
        // A field without definition: Nickel points at the name.
        let rest = &text[at..];
        let name_end = at + rest.find(|c: char| !is_name_char(c))?;
        let after = text[name_end..].trim_start();
        after.strip_prefix(':')?;
        text.len() - after.len()
    };
    let value = text[colon + 1..].trim_start();
    let is_field = text[..colon]
        .trim_end()
        .chars()
        .next_back()
        .is_some_and(|c| is_name_char(c) || c == '"');
    (is_field && looks_like_value(value)).then(|| equals(colon))
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

/// Whether `text` starts with a value rather than a type or contract.
fn looks_like_value(text: &str) -> bool {
    text.starts_with(['"', '[', '{', '\''])
        || text.starts_with(|c: char| c.is_ascii_digit())
        || ["true", "false", "null"]
            .iter()
            .any(|word| text.starts_with(word))
}

/// `name = ,`: a field without a value, removed to parse on.
fn field_without_value(text: &str, token: &str, at: usize) -> Option<Cause> {
    let before = code_before(text, at);
    if !(matches!(token, "," | "}" | "]") && before.ends_with('=')) {
        return None;
    }
    let equals = before.len() - 1;
    let name = text[..equals].trim_end();
    let start = name.len()
        - name
            .chars()
            .rev()
            .take_while(|&c| is_name_char(c) || c == '"')
            .map(char::len_utf8)
            .sum::<usize>();
    let end = if token == "," { at + 1 } else { equals + 1 };
    Some(
        Cause::new(
            "a field has no value",
            "a value is missing after this `=`",
            "give the field a value, or remove it",
            equals..equals + 1,
        )
        .mend(Edit::blank(start..end)),
    )
}

/// A bare value where a record wants a field (`vms = { { id = 230 } }`):
/// the error is at a value (`{`, `[`, `"`) that starts its line right after
/// the record opens or after a `,`.
fn value_without_name(text: &str, at: &Range<usize>, line_start: usize) -> Option<Cause> {
    let token = text.get(at.clone())?;
    let starts_value = token.starts_with(['{', '[', '"']);
    let first_on_line = text[line_start..at.start].trim().is_empty();
    let after = code_before(text, line_start).chars().next_back();
    let record = *Scan::of(&text[..at.start], usize::MAX).unclosed.last()?;
    let in_record = starts_value
        && first_on_line
        && matches!(after, Some('{' | ','))
        && text.as_bytes()[record] == b'{';
    in_record.then(|| {
        Cause::new(
            "a value without a field name inside a record",
            "this needs a name: `name = …`",
            "a record holds `name = value` fields; a list of values is written [ … ]",
            at.start..at.start + 1,
        )
        .also(record..record + 1, "the record opens here")
    })
}

/// Where a `,` is missing: the end of the previous line, when the error is
/// at the `=` of a field that starts its line and that line ends a value.
fn missing_comma(text: &str, at: &Range<usize>, line_start: usize) -> Option<Cause> {
    if text.get(at.clone())? != "=" {
        return None;
    }
    let name = text[line_start..at.start].trim();
    let is_name = !name.is_empty()
        && name
            .trim_matches('"')
            .chars()
            .all(|c| is_name_char(c) || c == '.');
    let previous = code_before(text, line_start);
    let last = previous.chars().next_back()?;
    let end = previous.len();
    (is_name && !",{[(=;:".contains(last)).then(|| {
        Cause::new(
            "missing `,` between two fields",
            "add `,` here",
            "each field of a record, and each element of an array, ends with `,`",
            end..end,
        )
        .mend(Edit::new(end..end, ","))
    })
}

/// `text` before `offset` without trailing blanks and `#` comments: where
/// the previous piece of code ends.
pub(super) fn code_before(text: &str, offset: usize) -> &str {
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

/// The `:` of a line written `name: value` or `"name": value` (YAML, JSON),
/// not a type annotation `name : Type`.
fn colon_for_equals(line: &str) -> Option<usize> {
    let line = line.split('\n').next()?;
    let code = line.trim_start();
    let indent = line.len() - code.len();
    let name_end = if let Some(rest) = code.strip_prefix('"') {
        rest.find('"')? + 2
    } else {
        code.find(|c: char| !is_name_char(c))?
    };
    if name_end == 0 {
        return None;
    }
    let rest = &code[name_end..];
    let colon = rest.find(|c: char| c != ' ')?;
    if !rest[colon..].starts_with(':') || rest[colon..].starts_with("::") {
        return None;
    }
    looks_like_value(rest[colon + 1..].trim_start()).then_some(indent + name_end + colon)
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

pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cause of a parse error at the first character of the first
    /// `marker` (or at the end), as (message, the text the label points at).
    fn cause_at(text: &str, marker: Option<&str>) -> (String, String) {
        let failure = match marker {
            Some(marker) => {
                let start = text.find(marker).unwrap();
                Failure::Token(start..start + 1)
            }
            None => Failure::EndOfFile,
        };
        let cause = cause(text, &failure).expect("a cause");
        let pointed = if cause.at.is_empty() {
            format!(
                "end of `{}`",
                text[..cause.at.start].lines().last().unwrap().trim()
            )
        } else {
            text[cause.at].to_owned()
        };
        (cause.message, pointed)
    }

    /// `text` with the mend of the cause at `marker` applied.
    fn mended(text: &str, failure: Failure) -> String {
        let edit = cause(text, &failure)
            .and_then(|cause| cause.mend)
            .expect("a mend");
        let mut text = text.to_owned();
        text.replace_range(edit.range, &edit.with);
        text
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
        let at = text.find("= [").unwrap();
        assert!(mended(text, Failure::Token(at..at + 1)).contains("\"x\", # the domain"));
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
    fn a_colon_before_a_value_taken_for_a_contract_is_an_equals() {
        for (text, value) in [
            ("{ b = { carries: \"telecom\" } }", "\"telecom\""),
            ("{\n  vm_policy: {\n    a = 1,\n  },\n}", "vm_policy"),
        ] {
            let at = text.find(value).unwrap();
            let failure = Failure::Annotation(at..at + value.len());
            let cause = cause(text, &failure).unwrap();
            assert_eq!(&text[cause.at.clone()], ":");
            assert!(!mended(text, failure).contains(':'));
        }
        let text = "{ port : Number }";
        let at = text.find("Number").unwrap();
        assert!(colon_before(text, at).is_none());
    }

    #[test]
    fn an_unclosed_string_or_bracket_is_placed_where_it_opens() {
        let text = "{\n  domain = \"x,\n  mirror = [\"y\"],\n}\n";
        assert_eq!(
            cause_at(text, None),
            ("this string is not closed on its line".into(), "\"".into())
        );
        assert!(mended(text, Failure::EndOfFile).contains("domain = 0, \n"));
        let text = "{\n  sites = {\n    NIC = { a = \"%{b}\" },\n";
        let (message, pointed) = cause_at(text, None);
        assert_eq!(
            (message.as_str(), pointed.as_str()),
            ("this `{` is never closed", "{")
        );
        let cause = cause(text, &Failure::EndOfFile).unwrap();
        assert_eq!(cause.at.start, text.find("{\n    NIC").unwrap());
        let text = "{\n  a = [1, 2},\n}\n";
        assert_eq!(
            cause_at(text, Some("},")).0,
            "`}` closes the `[` opened on line 2"
        );
    }

    #[test]
    fn a_brace_left_out_is_added_where_the_indentation_says() {
        let text = "{\n  a = {\n    b = 1,\n  c = 2,\n}\n";
        assert_eq!(
            cause_at(text, None),
            (
                "the `{` of line 2 is not closed before line 4, which starts as far left as the line that opened it".into(),
                "end of `b = 1,`".into()
            )
        );
        assert_eq!(
            mended(text, Failure::EndOfFile),
            "{\n  a = {\n    b = 1,},\n  c = 2,\n}\n"
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
        let text = "{\n  domain = ,\n  b = 1,\n}\n";
        assert_eq!(
            cause_at(text, Some(",")),
            ("a field has no value".into(), "=".into())
        );
        let at = text.find(',').unwrap();
        assert_eq!(
            mended(text, Failure::Token(at..at + 1)),
            "{\n            \n  b = 1,\n}\n"
        );
        let text = "let a = 1 in\nlet b = \"x\"\n{ b = b }\n";
        assert_eq!(
            cause_at(text, None),
            ("this `let` has no `in`".into(), "let".into())
        );
    }
}
