//! diagnostic: a source-located error as plain, `Send` data that miette draws.
//!
//! Nickel's diagnostics are converted into this in `eval`; `validate` builds
//! them directly. Owns no I/O and knows nothing of Nickel.

use std::fmt;

use miette::{LabeledSpan, NamedSource, SourceSpan};

/// One error (or note) with optional source excerpt, labels, help and related notes.
#[derive(Debug, Clone)]
pub struct SourceDiagnostic {
    pub message: String,
    pub help: Option<String>,
    /// The file the labels point into, under its display name.
    pub file: Option<Box<NamedSource<String>>>,
    /// Byte ranges into `file` with their label text; the first is primary.
    pub labels: Vec<(std::ops::Range<usize>, String)>,
    pub related: Vec<SourceDiagnostic>,
}

impl SourceDiagnostic {
    pub fn new(message: impl Into<String>) -> Self {
        SourceDiagnostic {
            message: message.into(),
            help: None,
            file: None,
            labels: Vec::new(),
            related: Vec::new(),
        }
    }

    /// Attach a file and a primary label on `range` of it.
    pub fn at(
        mut self,
        name: &str,
        text: &str,
        range: std::ops::Range<usize>,
        label: &str,
    ) -> Self {
        self.file = Some(Box::new(NamedSource::new(name, text.to_owned())));
        self.labels = vec![(range, label.to_owned())];
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `file:line:col` (1-based) of the primary label, if there is one.
    pub fn location(&self) -> Option<String> {
        let file = self.file.as_ref()?;
        let (range, _) = self.labels.first()?;
        let (line, column) = line_column(file.inner(), range.start);
        Some(format!("{}:{line}:{column}", file.name()))
    }
}

/// 1-based line and column (in characters) of a byte offset, clamped to the text.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Where a value found in evaluated data is written in `text`: the first
/// `"needle"`, or else the first bare `needle` as a whole word, outside `#`
/// comments (a comment that mentions a host is not where it is defined).
pub fn locate(text: &str, needle: &str) -> Option<std::ops::Range<usize>> {
    locate_quoted(text, needle).or_else(|| locate_word(text, needle))
}

/// The first `"needle"` outside comments; the range covers `needle` only.
pub fn locate_quoted(text: &str, needle: &str) -> Option<std::ops::Range<usize>> {
    if needle.is_empty() {
        return None;
    }
    text.match_indices(&format!("\"{needle}\""))
        .map(|(start, _)| start)
        .find(|&start| !in_comment(text, start))
        .map(|start| start + 1..start + 1 + needle.len())
}

/// The first bare `needle` outside comments that is not part of a longer word.
pub fn locate_word(text: &str, needle: &str) -> Option<std::ops::Range<usize>> {
    if needle.is_empty() {
        return None;
    }
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    let bounded = |start: usize| {
        let end = start + needle.len();
        let before = start.checked_sub(1).map(|index| text.as_bytes()[index]);
        let after = text.as_bytes().get(end).copied();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    };
    text.match_indices(needle)
        .map(|(start, _)| start)
        .find(|&start| !in_comment(text, start) && bounded(start))
        .map(|start| start..start + needle.len())
}

/// Where in `text` a message most likely points, for an error that carries
/// no position in `text`. Each word of `messages` is looked up as a string
/// (`"10.38.95.115"`) or, if it looks like a value rather than prose (holds a
/// digit, `-`, `.` or `/`), as a bare word; the longest word found wins, as
/// the most specific, then a string over a bare word, then the earliest.
pub fn locate_mentioned(text: &str, messages: &[&str]) -> Option<std::ops::Range<usize>> {
    let value_like = |word: &str| {
        word.len() >= 3 && word.contains(|c: char| c.is_ascii_digit() || "-./".contains(c))
    };
    messages
        .iter()
        .flat_map(|message| message.split_whitespace())
        .map(|word| {
            word.trim_matches(|c: char| "`'\"()[]{},;:".contains(c))
                .trim_end_matches('.')
        })
        .filter(|word| word.len() >= 2)
        .filter_map(|word| {
            let quoted = locate_quoted(text, word).map(|range| (true, range));
            quoted
                .or_else(|| {
                    value_like(word)
                        .then(|| locate_word(text, word))
                        .flatten()
                        .map(|range| (false, range))
                })
                .map(|(quoted, range)| (word.len(), quoted, std::cmp::Reverse(range.start), range))
        })
        .max_by_key(|(len, quoted, start, _)| (*len, *quoted, *start))
        .map(|(_, _, _, range)| range)
}

/// Whether `offset` follows a `#` that starts a comment on its line (a `#`
/// after an even number of quotes on the line, so not inside a string).
fn in_comment(text: &str, offset: usize) -> bool {
    let line_start = text[..offset].rfind('\n').map_or(0, |index| index + 1);
    let mut quotes = 0;
    for byte in text[line_start..offset].bytes() {
        match byte {
            b'"' => quotes += 1,
            b'#' if quotes % 2 == 0 => return true,
            _ => {}
        }
    }
    false
}

impl fmt::Display for SourceDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SourceDiagnostic {}

impl miette::Diagnostic for SourceDiagnostic {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.file
            .as_ref()
            .map(|file| file.as_ref() as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let file = self.file.as_ref()?;
        let len = file.inner().len();
        let labels = self
            .labels
            .iter()
            .enumerate()
            .map(move |(index, (range, text))| {
                let start = range.start.min(len);
                let span = SourceSpan::new(start.into(), range.end.min(len).saturating_sub(start));
                let text = (!text.is_empty()).then(|| text.clone());
                if index == 0 {
                    LabeledSpan::new_primary_with_span(text, span)
                } else {
                    LabeledSpan::new_with_span(text, span)
                }
            });
        Some(Box::new(labels))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|d| d as &dyn miette::Diagnostic),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::{line_column, locate, locate_mentioned};

    #[test]
    fn problems_are_located_outside_comments() {
        let text = "# cluster is special\n{ hosts = { cluster = { s = \"a#b\", t = \"x\" } } }\n";
        let range = locate(text, "cluster").unwrap();
        assert_eq!(&text[..range.start], "# cluster is special\n{ hosts = { ");
        let range = locate(text, "x").unwrap();
        assert_eq!(&text[range.clone()], "x");
        assert_eq!(&text[range.start - 1..range.start], "\"");
        assert_eq!(locate("# pve-5\npve-50 = 1\n", "pve-5"), None);
    }

    #[test]
    fn a_message_is_located_at_the_value_it_names() {
        let text = "{\n  pve-5 = { address = \"10.38.95.115\", roles = [\"pbs\"] },\n  Local-ZFS = {},\n}\n";
        let at = |messages: &[&str]| locate_mentioned(text, messages).map(|range| &text[range]);
        assert_eq!(
            at(&["host pve-5: address 10.38.95.115 is already used by host esxi-5"]),
            Some("10.38.95.115")
        );
        assert_eq!(
            at(&["contract broken", "storage id `Local-ZFS` does not match"]),
            Some("Local-ZFS")
        );
        assert_eq!(
            at(&["host pve-5: a pbs host must be a member"]),
            Some("pve-5"),
            "the longest word found wins"
        );
        assert_eq!(at(&["a pbs host must be a member"]), Some("pbs"));
        assert_eq!(at(&["nothing here is named"]), None);
    }

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("é\nx", 1), (1, 1));
        assert_eq!(line_column("ab", 99), (1, 3));
    }
}
