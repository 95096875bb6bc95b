//! diagnostic: source-located errors as plain, `Send` data that miette draws.
//!
//! [`SourceDiagnostic`] is one error; [`Diagnostics`] every error of a run,
//! deduplicated, sorted by position and capped. Nickel's errors are converted
//! into these in `eval`; `validate` builds them directly. Does no I/O but
//! [`Diagnostics::report`]'s writing, and knows nothing of Nickel.

use std::fmt;
use std::sync::Arc;

use miette::{LabeledSpan, NamedSource, SourceSpan};

/// At most this many errors are shown; the count still names them all.
pub const MAX_SHOWN: usize = 50;

/// One error (or note) with optional source excerpt, labels, help and related notes.
#[derive(Debug, Clone)]
pub struct SourceDiagnostic {
    pub message: String,
    pub help: Option<String>,
    /// The file the labels point into, under its display name.
    pub file: Option<Box<NamedSource<Arc<str>>>>,
    /// Byte ranges into `file` with their label text; the first is primary.
    pub labels: Vec<(std::ops::Range<usize>, String)>,
    /// Notes shown after the error (lib/ locations under `--verbose`).
    pub related: Vec<SourceDiagnostic>,
    /// Shown as advice rather than as an error (a related note).
    pub advice: bool,
}

impl SourceDiagnostic {
    pub fn new(message: impl Into<String>) -> Self {
        SourceDiagnostic {
            message: message.into(),
            help: None,
            file: None,
            labels: Vec::new(),
            related: Vec::new(),
            advice: false,
        }
    }

    /// Attach a file and a primary label on `range` of it.
    pub fn at(
        mut self,
        name: &str,
        text: &Arc<str>,
        range: std::ops::Range<usize>,
        label: &str,
    ) -> Self {
        self.file = Some(Box::new(NamedSource::new(name, Arc::clone(text))));
        self.labels = vec![(range, label.to_owned())];
        self
    }

    /// Add a secondary label on `range` of the file already attached.
    pub fn also(mut self, range: std::ops::Range<usize>, label: &str) -> Self {
        self.labels.push((range, label.to_owned()));
        self
    }

    /// Add `note` after the error, drawn as advice.
    pub fn with_related_note(mut self, mut note: SourceDiagnostic) -> Self {
        note.advice = true;
        self.related.push(note);
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `file:line:col` (1-based) of the primary label, if there is one.
    pub fn location(&self) -> Option<String> {
        let (name, offset) = self.anchor()?;
        let file = self.file.as_ref()?;
        let (line, column) = line_column(file.inner(), offset);
        Some(format!("{name}:{line}:{column}"))
    }

    /// File name and byte offset of the primary label.
    pub fn anchor(&self) -> Option<(&str, usize)> {
        self.place().map(|(name, range)| (name, range.start))
    }

    /// File name and byte range of the primary label.
    pub fn place(&self) -> Option<(&str, std::ops::Range<usize>)> {
        let file = self.file.as_ref()?;
        let (range, _) = self.labels.first()?;
        Some((file.name(), range.clone()))
    }
}

/// Every error of one run: distinct places, in the order of the sources,
/// at most [`MAX_SHOWN`] of them.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    pub shown: Vec<SourceDiagnostic>,
    /// How many distinct errors were found, shown or not.
    pub total: usize,
    /// The search stopped before the end: there may be more.
    pub incomplete: bool,
}

impl Diagnostics {
    /// One error per place (the first found wins; places that overlap are
    /// one place), sorted with `main` first, then by file name and position;
    /// errors without a place come last.
    pub fn new(found: Vec<SourceDiagnostic>, main: &str) -> Self {
        let mut kept: Vec<SourceDiagnostic> = Vec::new();
        for diagnostic in found {
            let duplicate = kept
                .iter()
                .any(|other| match (diagnostic.place(), other.place()) {
                    (Some((name, range)), Some((other_name, other_range))) => {
                        name == other_name
                            && range.start < other_range.end.max(other_range.start + 1)
                            && other_range.start < range.end.max(range.start + 1)
                    }
                    (None, None) => diagnostic.message == other.message,
                    _ => false,
                });
            if !duplicate {
                kept.push(diagnostic);
            }
        }
        kept.sort_by(|a, b| {
            let key = |diagnostic: &SourceDiagnostic| match diagnostic.anchor() {
                Some((name, offset)) => (0, name != main, name.to_owned(), offset),
                None => (1, false, String::new(), 0),
            };
            key(a).cmp(&key(b))
        });
        let total = kept.len();
        kept.truncate(MAX_SHOWN);
        Diagnostics {
            shown: kept,
            total,
            incomplete: false,
        }
    }

    /// Draw each error with miette, then the count.
    pub fn report(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        for diagnostic in &self.shown {
            writeln!(out, "{:?}", miette::Report::new(diagnostic.clone()))?;
        }
        writeln!(out, "{self}")
    }
}

impl From<SourceDiagnostic> for Diagnostics {
    fn from(diagnostic: SourceDiagnostic) -> Self {
        Diagnostics {
            shown: vec![diagnostic],
            total: 1,
            incomplete: false,
        }
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at_least = if self.incomplete { "at least " } else { "" };
        let errors = crate::ui::plural(self.total, "error");
        write!(f, "found {at_least}{errors}")?;
        if self.shown.len() < self.total {
            write!(f, "; the first {} are shown", self.shown.len())?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl miette::Diagnostic for Diagnostics {}

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

/// Whether `offset` follows a `#` that starts a comment on its line.
fn in_comment(text: &str, offset: usize) -> bool {
    let line_start = text[..offset].rfind('\n').map_or(0, |index| index + 1);
    comment_start(&text[line_start..offset]).is_some()
}

/// Offset of a `#` comment in one line of Nickel, outside double-quoted
/// strings (a `\"` in one does not end it). The one reading of comments that
/// locating problems, syntax hints and `# assumed` marks share.
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

impl fmt::Display for SourceDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SourceDiagnostic {}

impl miette::Diagnostic for SourceDiagnostic {
    fn severity(&self) -> Option<miette::Severity> {
        self.advice.then_some(miette::Severity::Advice)
    }

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
    use std::sync::Arc;

    use super::{line_column, locate, locate_mentioned, Diagnostics, SourceDiagnostic, MAX_SHOWN};

    #[test]
    fn every_place_once_in_order_then_the_count() {
        let main: Arc<str> = Arc::from("a = 1,\nb = 2,\nc = 3,\n");
        let lib: Arc<str> = Arc::from("x\n");
        let at = |name: &str, text: &Arc<str>, range: std::ops::Range<usize>, message: &str| {
            SourceDiagnostic::new(message).at(name, text, range, "")
        };
        let diagnostics = Diagnostics::new(
            vec![
                at("lib/x.ncl", &lib, 0..1, "in lib"),
                at("cluster.ncl", &main, 14..15, "c"),
                at("cluster.ncl", &main, 0..5, "a"),
                at(
                    "cluster.ncl",
                    &main,
                    4..5,
                    "a again, inside the first place",
                ),
                SourceDiagnostic::new("nowhere"),
                SourceDiagnostic::new("nowhere"),
            ],
            "cluster.ncl",
        );
        let messages: Vec<&str> = diagnostics
            .shown
            .iter()
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(messages, ["a", "c", "in lib", "nowhere"]);
        assert_eq!(diagnostics.to_string(), "found 4 errors");
        let many = (0..MAX_SHOWN + 7)
            .map(|n| SourceDiagnostic::new(format!("error {n}")))
            .collect();
        let diagnostics = Diagnostics::new(many, "cluster.ncl");
        assert_eq!(diagnostics.shown.len(), MAX_SHOWN);
        assert_eq!(
            diagnostics.to_string(),
            format!(
                "found {} errors; the first {MAX_SHOWN} are shown",
                MAX_SHOWN + 7
            )
        );
    }

    #[test]
    fn problems_are_located_outside_comments() {
        let text = "# cluster is special\n{ hosts = { cluster = { s = \"a#b\", t = \"x\" } } }\n";
        let range = locate(text, "cluster").unwrap();
        assert_eq!(&text[..range.start], "# cluster is special\n{ hosts = { ");
        let range = locate(text, "x").unwrap();
        assert_eq!(&text[range.clone()], "x");
        assert_eq!(&text[range.start - 1..range.start], "\"");
        assert_eq!(locate("# pve-5\npve-50 = 1\n", "pve-5"), None);
        // An escaped quote does not end the string: the `#` after it is text.
        let text = "{ s = \"a\\\"#\", x = 1 }\n";
        assert_eq!(&text[locate(text, "x").unwrap()], "x");
    }

    #[test]
    fn comments_start_outside_strings() {
        use super::comment_start;
        assert_eq!(comment_start("a = 1 # one"), Some(6));
        assert_eq!(comment_start(r##"a = "#" # one"##), Some(8));
        assert_eq!(comment_start(r##"a = "\"#" # one"##), Some(10));
        assert_eq!(comment_start(r#"a = "x""#), None);
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
