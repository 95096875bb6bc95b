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
    use super::line_column;

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("é\nx", 1), (1, 1));
        assert_eq!(line_column("ab", 99), (1, 3));
    }
}
