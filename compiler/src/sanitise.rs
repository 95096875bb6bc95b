//! sanitise: text that came from a host (file contents, command output,
//! records, paths, error messages), made safe to show on a terminal or to
//! hand to a JSON consumer that prints it. Every control character but a
//! tab (and, in multi-line text, a line break) is shown escaped, `\x1b`,
//! as are the Unicode marks that reorder or hide text (`\u{202e}`), so
//! nothing a host sends can move the cursor, recolour, retitle or clear the
//! operator's terminal, or make a line read other than it is.
//!
//! Where host text enters lugc (`push::remote`, `push::probe`, the facts),
//! where content becomes a diff (`diff::report`) and where every error is
//! drawn (the report handler of `lib.rs`, [`Diagnostic`]) use this module.
//! Pure.

use std::borrow::Cow;
use std::fmt;

use miette::{LabeledSpan, Severity, SourceCode};

/// `text` with line breaks and tabs kept, every other control character escaped.
pub fn text(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

/// `text` as one line: line breaks escaped too (`\n`, `\r`).
pub fn line(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// At most `limit` characters of `bytes` from a host, as one escaped line,
/// `…` where it was cut.
pub fn excerpt(bytes: &[u8], limit: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let cut: String = text.chars().take(limit).collect();
    let mut shown = line(&cut).into_owned();
    if text.chars().count() > limit {
        shown.push('…');
    }
    shown
}

/// Every string (and key) of a JSON value, as [`text`] leaves it.
pub fn json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(string) => {
            if let Cow::Owned(clean) = text(string) {
                *string = clean;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(json),
        serde_json::Value::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut item) in entries {
                json(&mut item);
                map.insert(text(&key).into_owned(), item);
            }
        }
        _ => {}
    }
}

fn escape(text: &str, keep_lines: bool) -> Cow<'_, str> {
    let shown = |c: char| (keep_lines && c == '\n') || c == '\t' || !unsafe_char(c);
    if text.chars().all(shown) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            c if shown(c) => escaped.push(c),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            c if u32::from(c) < 0x100 => escaped.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => escaped.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
        }
    }
    Cow::Owned(escaped)
}

/// A control character (C0, DEL, C1) or a mark that reorders or hides text.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// A diagnostic drawn with every text of it sanitised: its message, help,
/// labels and related diagnostics, whatever they quote. The report handler
/// draws every error through it.
pub struct Diagnostic<'a> {
    message: String,
    code: Option<String>,
    severity: Option<Severity>,
    help: Option<String>,
    url: Option<String>,
    source: Option<&'a dyn SourceCode>,
    labels: Vec<LabeledSpan>,
    related: Vec<Diagnostic<'a>>,
}

impl<'a> Diagnostic<'a> {
    pub fn new(inner: &'a dyn miette::Diagnostic) -> Self {
        let shown = |display: &dyn fmt::Display| text(&display.to_string()).into_owned();
        let labels = inner
            .labels()
            .into_iter()
            .flatten()
            .map(|label| {
                let name = label.label().map(|name| text(name).into_owned());
                if label.primary() {
                    LabeledSpan::new_primary_with_span(name, *label.inner())
                } else {
                    LabeledSpan::new_with_span(name, *label.inner())
                }
            })
            .collect();
        let mut related: Vec<Diagnostic<'a>> = inner
            .related()
            .into_iter()
            .flatten()
            .map(Diagnostic::new)
            .collect();
        related.extend(inner.diagnostic_source().map(Diagnostic::new));
        Diagnostic {
            message: shown(&inner),
            code: inner.code().map(|code| shown(&code)),
            severity: inner.severity(),
            help: inner.help().map(|help| shown(&help)),
            url: inner.url().map(|url| shown(&url)),
            source: inner.source_code(),
            labels,
            related,
        }
    }
}

impl fmt::Debug for Diagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Diagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic<'_> {}

impl miette::Diagnostic for Diagnostic<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.code
            .as_ref()
            .map(|code| Box::new(code) as Box<dyn fmt::Display>)
    }
    fn severity(&self) -> Option<Severity> {
        self.severity
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }
    fn url<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.url
            .as_ref()
            .map(|url| Box::new(url) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        (!self.labels.is_empty()).then(|| Box::new(self.labels.iter().cloned()) as Box<_>)
    }
    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn miette::Diagnostic> + 'b>> {
        (!self.related.is_empty()).then(|| {
            Box::new(
                self.related
                    .iter()
                    .map(|related| related as &dyn miette::Diagnostic),
            ) as Box<_>
        })
    }
}

/// miette's own handler, drawing each diagnostic sanitised.
pub struct ReportHandler(pub miette::MietteHandler);

impl miette::ReportHandler for ReportHandler {
    fn debug(
        &self,
        diagnostic: &dyn miette::Diagnostic,
        f: &mut fmt::Formatter<'_>,
    ) -> fmt::Result {
        self.0.debug(&Diagnostic::new(diagnostic), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_escaped() {
        assert_eq!(text("plain\ttext\n"), "plain\ttext\n");
        assert!(matches!(text("plain"), Cow::Borrowed(_)));
        assert_eq!(
            text("a\x1b[2J\x1b]0;title\x07b\r\n"),
            "a\\x1b[2J\\x1b]0;title\\x07b\\r\n"
        );
        assert_eq!(
            line("a\nb\u{9b}c\u{202e}d\u{7f}"),
            "a\\nb\\x9bc\\u{202e}d\\x7f"
        );
        assert_eq!(excerpt(b"a\nb\x1b[31m", 10), "a\\nb\\x1b[31m");
        assert_eq!(excerpt("x".repeat(100).as_bytes(), 3), "xxx…");
        let mut value = serde_json::json!({ "e\u{1b}th0": ["\u{1b}[31m", 1], "ok": "fine" });
        json(&mut value);
        assert_eq!(
            value,
            serde_json::json!({ "e\\x1bth0": ["\\x1b[31m", 1], "ok": "fine" })
        );
    }

    #[test]
    fn a_drawn_diagnostic_carries_no_control_character() {
        #[derive(Debug, thiserror::Error, miette::Diagnostic)]
        #[error("busy: {holder}")]
        #[diagnostic(code(lugc::test), help("held by {holder}"))]
        struct Hostile {
            holder: String,
            #[related]
            related: Vec<Hostile>,
        }
        let error = Hostile {
            holder: "\x1b]0;pwned\x07".into(),
            related: vec![Hostile {
                holder: "\x1b[2J".into(),
                related: Vec::new(),
            }],
        };
        let handler = ReportHandler(miette::MietteHandlerOpts::new().color(false).build());
        struct Drawn<'a>(&'a ReportHandler, &'a Hostile);
        impl fmt::Display for Drawn<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                miette::ReportHandler::debug(self.0, self.1, f)
            }
        }
        let drawn = Drawn(&handler, &error).to_string();
        assert!(drawn.contains("busy: \\x1b]0;pwned\\x07"), "{drawn}");
        assert!(drawn.contains("\\x1b[2J"), "{drawn}");
        assert!(
            !drawn.contains('\x1b') && !drawn.contains('\x07'),
            "{drawn}"
        );
    }
}
