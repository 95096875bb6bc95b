//! ui: how lugc draws for people, in one place: styles ([`Paint`]), live
//! lines ([`live`]), and the small formatting rules every command shares
//! (short bundle ids, counted nouns, display width).
//!
//! Input: values already decided elsewhere; output: text. Decides nothing
//! about what a command does, and never writes to a terminal itself except
//! through the writer it is given.

pub mod live;
mod paint;
mod table;

pub use paint::Paint;
pub use table::table;

/// How many digits of a bundle id people read (JSON has them whole).
pub const SHORT_ID: usize = 12;

/// What a missing bundle id reads as: a host never pushed, a bundle removed.
pub const NO_ID: &str = "none";

/// A bundle id as people read it: its first [`SHORT_ID`] digits, [`NO_ID`] for none.
pub fn short_id(id: Option<&str>) -> &str {
    id.map_or(NO_ID, |id| id.get(..SHORT_ID).unwrap_or(id))
}

/// `1 file`, `2 files`, `2 pushes`: a count and its noun, in English.
pub fn plural(count: usize, word: &str) -> String {
    if count == 1 {
        format!("1 {word}")
    } else if ["s", "x", "z", "ch", "sh"]
        .iter()
        .any(|end| word.ends_with(end))
    {
        format!("{count} {word}es")
    } else {
        format!("{count} {word}s")
    }
}

/// The columns `text` takes on a terminal: wide characters count two.
pub fn width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

/// `text` padded with spaces to `columns` terminal columns.
pub fn pad(text: &str, columns: usize) -> String {
    format!("{text}{}", " ".repeat(columns.saturating_sub(width(text))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_cut_and_none_is_spelled_once() {
        assert_eq!(short_id(Some("0123456789abcdef")), "0123456789ab");
        assert_eq!(short_id(Some("abc")), "abc");
        assert_eq!(short_id(None), "none");
    }

    #[test]
    fn nouns_are_counted() {
        assert_eq!(plural(1, "push"), "1 push");
        assert_eq!(plural(2, "push"), "2 pushes");
        assert_eq!(plural(0, "replaced file"), "0 replaced files");
        assert_eq!(plural(3, "host"), "3 hosts");
    }

    #[test]
    fn wide_characters_take_two_columns() {
        assert_eq!(width("ab"), 2);
        assert_eq!(width("日本"), 4);
        assert_eq!(pad("日", 4), "日  ");
        assert_eq!(pad("long", 2), "long");
    }
}
