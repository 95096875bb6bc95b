//! scan: a rough pass over Nickel source: strings, comments, brackets, and
//! where the brackets disagree with the indentation.
//!
//! A missing `}` lets the parser read on until the end of the file, and an
//! extra one until the last line: the parser's error says nothing of where
//! the brace was meant to be. The indentation does. A bracket is meant to
//! close before the first line indented as far left as the line that opened
//! it (a missing closer), and a line that starts with a closer is followed
//! by lines no deeper than it (else that closer came early). Each is taken
//! as the cause only when the brackets really disagree with the indentation
//! later on (a closer at another indentation than its opener's line, one
//! that closes nothing, or a bracket never closed), so that a file that is
//! merely indented oddly is not blamed for it.

/// What a rough pass over the text finds about its strings and brackets.
#[derive(Debug, Default, PartialEq)]
pub(in crate::eval) struct Scan {
    /// The opening quote of the first plain string that runs over a line.
    pub(super) string_over_lines: Option<usize>,
    /// The first closing bracket that does not match the open one: (opener, closer).
    pub(super) mismatch: Option<(usize, usize)>,
    /// Brackets still open at the end of the text, outermost first.
    pub(super) unclosed: Vec<usize>,
    /// The first bracket nested deeper than the limit the scan was given.
    pub(in crate::eval) too_deep: Option<usize>,
    /// The first closing bracket with no bracket open.
    pub(super) unopened: Option<usize>,
    /// The first bracket evidently never closed: (opener, the start of the
    /// line it was meant to close before).
    pub(super) missing: Option<(usize, usize)>,
    /// The first closing bracket that evidently closes its bracket too
    /// early: (opener, closer).
    pub(super) premature: Option<(usize, usize)>,
}

impl Scan {
    /// Scan `text`, noting the first bracket nested more than `limit` deep.
    pub(in crate::eval) fn of(text: &str, limit: usize) -> Scan {
        let mut walker = Walker::new(text.as_bytes(), limit);
        while walker.index < walker.bytes.len() && walker.scan.mismatch.is_none() {
            walker.step();
            walker.index += 1;
        }
        walker.finish()
    }
}

/// Where the scan is: in code (inside brackets, or a `%{…}` of a string),
/// or in a string.
enum Frame {
    /// An open bracket, with the indentation of the line that opened it.
    Bracket {
        opener: usize,
        indent: usize,
    },
    Interpolation,
    Plain(usize),
    /// A multi-line string `m%"…"%`, with its count of `%`.
    Multi(usize),
}

/// A line of code that starts with a closing bracket.
struct ClosingLine {
    opener: usize,
    closer: usize,
    indent: usize,
}

struct Walker<'a> {
    bytes: &'a [u8],
    index: usize,
    limit: usize,
    frames: Vec<Frame>,
    scan: Scan,
    line_start: usize,
    /// The current line's indentation, once its first character is read
    /// (`None` before); a line that starts inside a string has none.
    indent: Option<Option<usize>>,
    /// The previous line of code, when it starts with a closing bracket.
    closing_line: Option<ClosingLine>,
    /// Open brackets whose indentation says they should have closed: (opener, line start).
    suspects: Vec<(usize, usize)>,
    /// A closing bracket the indentation says came early: (opener, closer).
    early: Option<(usize, usize)>,
}

impl<'a> Walker<'a> {
    fn new(bytes: &'a [u8], limit: usize) -> Self {
        Walker {
            bytes,
            index: 0,
            limit,
            frames: Vec::new(),
            scan: Scan::default(),
            line_start: 0,
            indent: None,
            closing_line: None,
            suspects: Vec::new(),
            early: None,
        }
    }

    fn step(&mut self) {
        let byte = self.bytes[self.index];
        match self.frames.last() {
            Some(Frame::Plain(start)) => {
                let start = *start;
                self.in_plain(byte, start);
            }
            Some(Frame::Multi(percents)) => {
                let percents = *percents;
                self.in_multi(byte, percents);
            }
            _ => self.in_code(byte),
        }
    }

    fn new_line(&mut self, in_code: bool) {
        self.line_start = self.index + 1;
        self.indent = if in_code { None } else { Some(None) };
    }

    fn in_plain(&mut self, byte: u8, start: usize) {
        match byte {
            b'\\' => self.index += 1,
            b'"' => {
                self.frames.pop();
            }
            b'\n' => {
                self.scan.string_over_lines.get_or_insert(start);
                self.new_line(false);
            }
            b'%' if self.bytes.get(self.index + 1) == Some(&b'{') => {
                self.frames.push(Frame::Interpolation);
                self.index += 1;
            }
            _ => {}
        }
    }

    fn in_multi(&mut self, byte: u8, percents: usize) {
        let run = |at: usize| self.bytes[at..].iter().take_while(|&&b| b == b'%').count();
        if byte == b'"' && run(self.index + 1) >= percents {
            self.frames.pop();
            self.index += percents;
        } else if byte == b'%'
            && run(self.index) == percents
            && self.bytes.get(self.index + percents) == Some(&b'{')
        {
            self.frames.push(Frame::Interpolation);
            self.index += percents;
        } else if byte == b'\n' {
            self.new_line(false);
        }
    }

    fn in_code(&mut self, byte: u8) {
        if byte == b'\n' {
            self.new_line(true);
            return;
        }
        if self.indent.is_none() && !matches!(byte, b' ' | b'\t' | b'\r') {
            let indent = self.index - self.line_start;
            self.indent = Some(Some(indent));
            if byte != b'#' {
                self.begin_line(byte, indent);
            }
        }
        match byte {
            b'#' => {
                while self.index + 1 < self.bytes.len() && self.bytes[self.index + 1] != b'\n' {
                    self.index += 1;
                }
            }
            b'"' => self.open_string(),
            b'{' | b'[' | b'(' => {
                let indent = self.indent.flatten().unwrap_or(0);
                self.frames.push(Frame::Bracket {
                    opener: self.index,
                    indent,
                });
                if self.frames.len() > self.limit {
                    self.scan.too_deep.get_or_insert(self.index);
                }
            }
            b'}' if matches!(self.frames.last(), Some(Frame::Interpolation)) => {
                self.frames.pop();
            }
            b'}' | b']' | b')' => self.close(byte),
            _ => {}
        }
    }

    fn open_string(&mut self) {
        let before = &self.bytes[..self.index];
        let percents = before.iter().rev().take_while(|&&b| b == b'%').count();
        let multi =
            percents > 0 && self.index > percents && before[self.index - percents - 1] == b'm';
        self.frames.push(if multi {
            Frame::Multi(percents)
        } else {
            Frame::Plain(self.index)
        });
    }

    /// The innermost open bracket: (opener, indentation of its line).
    fn innermost(&self) -> Option<(usize, usize)> {
        match self.frames.last() {
            Some(Frame::Bracket { opener, indent }) => Some((*opener, *indent)),
            _ => None,
        }
    }

    /// The first character of a line of code, at `indent`.
    fn begin_line(&mut self, byte: u8, indent: usize) {
        let closer = matches!(byte, b'}' | b']' | b')');
        if let Some(closing) = self.closing_line.take() {
            let opened_since = self
                .innermost()
                .is_some_and(|(opener, _)| opener > closing.closer);
            if !closer && indent > closing.indent && !opened_since {
                self.early.get_or_insert((closing.opener, closing.closer));
            }
        }
        if closer {
            return;
        }
        if let Some((opener, opened_at)) = self.innermost() {
            let suspected = self.suspects.iter().any(|(o, _)| *o == opener);
            if indent <= opened_at && opener < self.line_start && !suspected {
                self.suspects.push((opener, self.line_start));
            }
        }
    }

    fn close(&mut self, byte: u8) {
        let first_on_line = self.indent.flatten() == Some(self.index - self.line_start);
        match self.frames.pop() {
            Some(Frame::Bracket { opener, indent })
                if closing(char::from(self.bytes[opener])) == char::from(byte) =>
            {
                if first_on_line {
                    self.judge_indentation(opener, indent);
                } else {
                    self.suspects.retain(|(o, _)| *o != opener);
                }
            }
            Some(Frame::Bracket { opener, indent }) => {
                self.scan.mismatch = Some((opener, self.index));
                self.frames.push(Frame::Bracket { opener, indent });
            }
            _ => {
                self.scan.unopened.get_or_insert(self.index);
                self.confirm_early();
            }
        }
    }

    /// A closer that starts its line, for the bracket opened at `opener` on
    /// a line indented `opened_at`.
    fn judge_indentation(&mut self, opener: usize, opened_at: usize) {
        let indent = self.index - self.line_start;
        let suspect = self.suspects.iter().position(|(o, _)| *o == opener);
        if indent == opened_at {
            if let Some(index) = suspect {
                self.suspects.remove(index);
            }
        } else {
            if let Some(index) = suspect {
                let (_, line) = self.suspects.remove(index);
                self.confirm_missing(opener, line);
            } else if indent < opened_at {
                // This closer was meant for an outer bracket.
                self.confirm_missing(opener, self.line_start);
            }
            self.confirm_early();
        }
        self.closing_line = Some(ClosingLine {
            opener,
            closer: self.index,
            indent,
        });
    }

    fn confirm_missing(&mut self, opener: usize, line: usize) {
        if self.scan.missing.is_none_or(|(_, first)| line < first) {
            self.scan.missing = Some((opener, line));
        }
    }

    fn confirm_early(&mut self) {
        if self.scan.premature.is_none() {
            self.scan.premature = self.early;
        }
    }

    fn finish(mut self) -> Scan {
        let open: Vec<usize> = self
            .frames
            .iter()
            .filter_map(|frame| match frame {
                Frame::Bracket { opener, .. } => Some(*opener),
                _ => None,
            })
            .collect();
        for (opener, line) in std::mem::take(&mut self.suspects) {
            if open.contains(&opener) {
                self.confirm_missing(opener, line);
            }
        }
        if !open.is_empty() {
            self.confirm_early();
        }
        if self.scan.mismatch.is_none() {
            self.scan.unclosed = open;
        }
        self.scan
    }
}

pub(super) fn closing(open: char) -> char {
    match open {
        '{' => '}',
        '[' => ']',
        _ => ')',
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_of(text: &str, offset: usize) -> usize {
        text[..offset].matches('\n').count() + 1
    }

    #[test]
    fn multi_line_strings_and_comments_are_skipped() {
        let scan = Scan::of(
            "{ a = m%\"\n  { [ %{x}\n\"%, # }\n b = \"}\" }\n",
            usize::MAX,
        );
        assert_eq!(scan, Scan::default());
    }

    #[test]
    fn a_missing_brace_is_where_the_next_line_is_indented_as_its_own() {
        let text =
            "{\n  hosts = {\n    a = {\n      x = 1,\n    b = {\n      x = 2,\n    },\n  },\n}\n";
        let (opener, line) = Scan::of(text, usize::MAX).missing.unwrap();
        assert_eq!((line_of(text, opener), line_of(text, line)), (3, 5));
        // The last member of a record, its closer written at the outer indentation.
        let text = "{\n  hosts = {\n    a = {\n      x = 1,\n  },\n  b = 2,\n}\n";
        let (opener, line) = Scan::of(text, usize::MAX).missing.unwrap();
        assert_eq!((line_of(text, opener), line_of(text, line)), (3, 5));
    }

    #[test]
    fn an_extra_brace_is_the_one_followed_by_deeper_lines() {
        let text =
            "{\n  hosts = {\n    a = {\n      x = 1,\n    },\n      y = 2,\n    },\n  },\n}\n";
        let (opener, closer) = Scan::of(text, usize::MAX).premature.unwrap();
        assert_eq!((line_of(text, opener), line_of(text, closer)), (3, 5));
    }

    #[test]
    fn odd_but_balanced_indentation_is_no_mistake() {
        let text = "{\n  a = {\n  x = 1,\n  },\n  b = [\n      1,\n    ]\n    @ [2],\n}\n";
        let scan = Scan::of(text, usize::MAX);
        assert_eq!((scan.missing, scan.premature), (None, None));
    }
}
