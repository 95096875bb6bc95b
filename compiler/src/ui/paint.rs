//! Terminal styles from anstyle, or none when colour is off.

use anstyle::{AnsiColor, Style};

/// Styles text for a terminal when `on`, leaves it plain otherwise.
#[derive(Debug, Clone, Copy)]
pub struct Paint(pub bool);

impl Paint {
    /// `text` in `style`, reset after it.
    pub fn style(self, style: Style, text: &str) -> String {
        if self.0 {
            format!("{style}{text}{style:#}")
        } else {
            text.to_owned()
        }
    }

    pub fn bold(self, text: &str) -> String {
        self.style(Style::new().bold(), text)
    }

    pub fn red(self, text: &str) -> String {
        self.style(AnsiColor::Red.on_default(), text)
    }

    pub fn green(self, text: &str) -> String {
        self.style(AnsiColor::Green.on_default(), text)
    }

    pub fn yellow(self, text: &str) -> String {
        self.style(AnsiColor::Yellow.on_default(), text)
    }

    pub fn cyan(self, text: &str) -> String {
        self.style(AnsiColor::Cyan.on_default(), text)
    }
}

#[cfg(test)]
mod tests {
    use super::Paint;

    #[test]
    fn styles_are_ansi_sequences_or_nothing() {
        assert_eq!(Paint(true).red("x"), "\x1b[31mx\x1b[0m");
        assert_eq!(Paint(true).bold("x"), "\x1b[1mx\x1b[0m");
        assert_eq!(Paint(false).green("x"), "x");
    }
}
