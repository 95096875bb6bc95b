//! ui::live: a few live lines at the bottom of a terminal, redrawn in place
//! with plain ANSI sequences, and text printed above them as it comes. Each
//! line is cut to the terminal's width so that none wraps (a wrapped line
//! would throw off the count of lines to redraw).

use std::io::{self, Write};

/// The live lines last drawn.
#[derive(Debug, Default)]
pub struct Live {
    drawn: usize,
}

impl Live {
    /// How many lines fit: the terminal's height less a line for the cursor.
    pub fn room() -> usize {
        size().1 - 1
    }

    /// Replace the live lines with `lines`.
    pub fn draw(&mut self, out: &mut dyn Write, lines: &[String]) -> io::Result<()> {
        let width = size().0;
        let mut text = self.erase();
        for line in lines {
            text.push_str(&cut(line, width.saturating_sub(1)));
            text.push('\n');
        }
        self.drawn = lines.len();
        out.write_all(text.as_bytes())?;
        out.flush()
    }

    /// Print `text` where the live lines were; they are drawn again after it.
    pub fn above(&mut self, out: &mut dyn Write, text: &[u8], lines: &[String]) -> io::Result<()> {
        out.write_all(self.erase().as_bytes())?;
        self.drawn = 0;
        out.write_all(text)?;
        self.draw(out, lines)
    }

    /// Cursor up to the first live line, erasing to the end of the screen.
    fn erase(&self) -> String {
        if self.drawn == 0 {
            String::new()
        } else {
            format!("\x1b[{}A\r\x1b[J", self.drawn)
        }
    }
}

/// The terminal's columns and lines; 80 by 24 when it does not say.
fn size() -> (usize, usize) {
    match terminal_size::terminal_size() {
        Some((width, height)) if width.0 > 1 && height.0 > 1 => {
            (usize::from(width.0), usize::from(height.0))
        }
        _ => (80, 24),
    }
}

/// At most `width` characters of `line`, control characters dropped.
fn cut(line: &str, width: usize) -> String {
    line.chars()
        .filter(|c| !c.is_control())
        .take(width)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_redrawn_in_place() {
        let mut live = Live::default();
        let mut out = Vec::new();
        live.draw(&mut out, &["a".into(), "b".into()]).unwrap();
        live.above(&mut out, b"block\n", &["c".into()]).unwrap();
        live.draw(&mut out, &["d\x07".into()]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a\nb\n\x1b[2A\r\x1b[Jblock\nc\n\x1b[1A\r\x1b[Jd\n"
        );
    }
}
