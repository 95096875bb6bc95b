//! ui::live: a few live lines at the bottom of a terminal, drawn by
//! indicatif (one bar whose message is the lines), and text printed above
//! them as it comes. Each line is cut to the terminal's width so that none
//! wraps.

use std::io::{self, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The live lines, redrawn in place.
#[derive(Debug)]
pub struct Live {
    bar: ProgressBar,
}

impl Live {
    /// Live lines on standard output; none unless it is a terminal that
    /// can move its cursor (`TERM` set, and not `dumb`).
    pub fn stdout() -> Option<Live> {
        let target = ProgressDrawTarget::stdout();
        (!target.is_hidden()).then(|| Live::on(target))
    }

    /// Live lines drawn on `target`.
    pub fn on(target: ProgressDrawTarget) -> Live {
        let bar = ProgressBar::with_draw_target(None, target);
        bar.set_style(ProgressStyle::with_template("{msg}").expect("a valid template"));
        Live { bar }
    }

    /// How many lines fit: the terminal's height less a line for the cursor.
    pub fn room() -> usize {
        size().1 - 1
    }

    /// Replace the live lines with `lines`; none clears them.
    pub fn draw(&mut self, lines: &[String]) {
        if lines.is_empty() {
            self.bar.finish_and_clear();
            return;
        }
        let width = size().0.saturating_sub(1);
        let shown: Vec<String> = lines.iter().map(|line| cut(line, width)).collect();
        // Drawn now, not at indicatif's rate: the caller draws at most a few times a second.
        self.bar.set_message(shown.join("\n"));
        self.bar.force_draw();
    }

    /// Print `text` where the live lines were; they are drawn again after it.
    pub fn above(&mut self, out: &mut dyn Write, text: &[u8], lines: &[String]) -> io::Result<()> {
        self.bar.suspend(|| {
            out.write_all(text)?;
            out.flush()
        })?;
        self.draw(lines);
        Ok(())
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

/// At most `width` terminal columns of `line`, control characters dropped.
fn cut(line: &str, width: usize) -> String {
    let mut cut = String::new();
    for c in line.chars().filter(|c| !c.is_control()) {
        if super::width(&cut) + super::width(c.encode_utf8(&mut [0; 4])) > width {
            break;
        }
        cut.push(c);
    }
    cut
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use indicatif::{ProgressDrawTarget, TermLike};

    use super::*;

    /// A terminal that keeps what it is sent, cursor moves as `^N` and `vN`.
    #[derive(Debug, Clone, Default)]
    struct Screen(Arc<Mutex<String>>);

    impl Screen {
        fn put(&self, text: &str) -> io::Result<()> {
            self.0.lock().unwrap().push_str(text);
            Ok(())
        }
    }

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            80
        }
        fn move_cursor_up(&self, n: usize) -> io::Result<()> {
            self.put(&format!("^{n}"))
        }
        fn move_cursor_down(&self, n: usize) -> io::Result<()> {
            self.put(&format!("v{n}"))
        }
        fn move_cursor_right(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn write_line(&self, line: &str) -> io::Result<()> {
            self.put(&format!("{line}\n"))
        }
        fn write_str(&self, text: &str) -> io::Result<()> {
            self.put(text)
        }
        fn clear_line(&self) -> io::Result<()> {
            self.put("~")
        }
        fn flush(&self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_are_redrawn_in_place_below_the_text_above() {
        let screen = Screen::default();
        let taken = || std::mem::take(&mut *screen.0.lock().unwrap());
        let mut live = Live::on(ProgressDrawTarget::term_like(Box::new(screen.clone())));
        live.draw(&["a".into(), "b\x07".into()]);
        let drawn = taken();
        // The last frame: the lines, one a terminal row.
        let last: Vec<&str> = drawn
            .rsplit('^')
            .next()
            .unwrap()
            .split_whitespace()
            .collect();
        assert_eq!(last[1..], ["b"], "{drawn:?}");
        assert!(last[0].ends_with('a'), "{drawn:?}");
        let mut above = Vec::new();
        live.above(&mut above, b"block\n", &["c".into()]).unwrap();
        assert_eq!(above, b"block\n");
        // The two lines are cleared for the text above, then one is drawn.
        let drawn = taken();
        assert!(drawn.starts_with("^1~v1~^1"), "{drawn:?}");
        assert!(drawn.trim_end().ends_with('c'), "{drawn:?}");
        live.draw(&[]);
        let drawn = taken();
        assert!(drawn.contains('~') && !drawn.contains('c'), "{drawn:?}");
    }

    #[test]
    fn lines_are_cut_to_terminal_columns() {
        assert_eq!(cut("日本語", 4), "日本");
        assert_eq!(cut("a\tb", 5), "ab");
    }
}
