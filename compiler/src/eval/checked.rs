//! checked: the hosts an evaluation took through the contracts, as Nickel
//! text that a later build passes back as lib/lugc.ncl's `known_hosts`.
//!
//! The build result's `checked_hosts` (when `export_checked` asks for it)
//! holds each checked host's plain copy after the contracts. Each is written
//! as one line of Nickel that evaluates to the same value: enum tags and
//! their arguments kept, every string escaped, numbers exact. A host that is
//! not plain data is left out (its next build checks it again).

use std::collections::BTreeMap;

use nickel_lang_core::eval::value::{Container, EnumVariantData, NickelValue, ValueContentRef};

use super::sources::{elements, field, record, sorted};

/// The build result's fields that hold the checked hosts and the checked
/// description without its hosts.
pub(super) const CHECKED_HOSTS_FIELD: &str = "checked_hosts";
pub(super) const CHECKED_REST_FIELD: &str = "checked_rest";

/// Each host of the main value's `checked_hosts` as one line of Nickel, by
/// name; none when the field is null or absent.
pub(super) fn hosts(main: &NickelValue) -> BTreeMap<String, String> {
    let Some(hosts) = record(main)
        .and_then(|main| field(main, CHECKED_HOSTS_FIELD))
        .and_then(record)
        .and_then(sorted)
    else {
        return BTreeMap::new();
    };
    hosts
        .into_iter()
        .filter_map(|(name, host)| Some((name, text(host)?)))
        .collect()
}

/// The main value's `checked_rest` as one line of Nickel, if it has one.
pub(super) fn rest(main: &NickelValue) -> Option<String> {
    let rest = field(record(main)?, CHECKED_REST_FIELD)?;
    record(rest)?;
    text(rest)
}

/// The Nickel record `{ "<name>" = <text>, … }` of hosts given as text.
pub fn record_of<'a>(hosts: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut text = String::from("{");
    for (name, host) in hosts {
        string(&mut text, name);
        text.push_str(" = ");
        text.push_str(host);
        text.push(',');
    }
    text.push('}');
    text
}

/// `value` as Nickel source on one line, which evaluates to the same value
/// and differs from every other value's; `None` for what is not plain data
/// (a function, a value not evaluated).
pub(super) fn text(value: &NickelValue) -> Option<String> {
    let mut text = String::new();
    write(&mut text, value)?;
    Some(text)
}

/// The blake3 of [`text`], hashed as it is written (what `sources` digests).
pub(super) fn digest(value: &NickelValue) -> Option<blake3::Hash> {
    let mut hasher = blake3::Hasher::new();
    write(&mut hasher, value)?;
    Some(hasher.finalize())
}

/// Where [`write`] puts the text: a string, or a hasher.
trait Sink {
    fn put(&mut self, text: &str);
}

impl Sink for String {
    fn put(&mut self, text: &str) {
        self.push_str(text);
    }
}

impl Sink for blake3::Hasher {
    fn put(&mut self, text: &str) {
        self.update(text.as_bytes());
    }
}

fn write(out: &mut impl Sink, value: &NickelValue) -> Option<()> {
    match value.content_ref() {
        ValueContentRef::Null => out.put("null"),
        ValueContentRef::Bool(flag) => out.put(if flag { "true" } else { "false" }),
        // A fraction or a negative number in parentheses: `1/3`, `-2`.
        ValueContentRef::Number(number) => {
            let shown = number.to_string();
            if shown.contains(['/', '-']) {
                out.put("(");
                out.put(&shown);
                out.put(")");
            } else {
                out.put(&shown);
            }
        }
        ValueContentRef::String(text) => string(out, text.as_str()),
        ValueContentRef::EnumVariant(EnumVariantData { tag, arg }) => {
            out.put("('");
            string(out, tag.label());
            if let Some(arg) = arg {
                out.put(" (");
                write(out, arg)?;
                out.put(")");
            }
            out.put(")");
        }
        ValueContentRef::Array(Container::Empty) => out.put("[]"),
        ValueContentRef::Array(Container::Alloc(data)) => {
            out.put("[");
            for item in elements(data)? {
                write(out, item)?;
                out.put(",");
            }
            out.put("]");
        }
        ValueContentRef::Record(Container::Empty) => out.put("{}"),
        ValueContentRef::Record(Container::Alloc(fields)) => {
            out.put("{");
            for (name, value) in sorted(fields)? {
                string(out, &name);
                out.put("=");
                write(out, value)?;
                out.put(",");
            }
            out.put("}");
        }
        _ => return None,
    }
    Some(())
}

/// `text` as a Nickel string literal on one line ([`string`]).
pub fn literal(text: &str) -> String {
    let mut out = String::new();
    string(&mut out, text);
    out
}

/// `text` as a Nickel string literal: quotes, backslashes, `%` and every
/// control character escaped, so the literal is one line.
fn string(out: &mut impl Sink, text: &str) {
    out.put("\"");
    let mut plain = 0;
    for (at, c) in text.char_indices() {
        let escaped = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '%' => "\\%",
            '\n' => "\\n",
            c if c.is_control() => "",
            _ => continue,
        };
        out.put(&text[plain..at]);
        if escaped.is_empty() {
            out.put(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.put(escaped);
        }
        plain = at + c.len_utf8();
    }
    out.put(&text[plain..]);
    out.put("\"");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_is_one_escaped_line() {
        let mut out = String::new();
        string(&mut out, "a \"b\"\\ %{c}\n\t\u{7f}é");
        assert_eq!(out, r#""a \"b\"\\ \%{c}\n\u{9}\u{7f}é""#);
    }

    fn value(source: &str) -> NickelValue {
        let mut program: nickel_lang_core::program::Program<
            nickel_lang_core::eval::cache::CacheImpl,
        > = nickel_lang_core::program::ProgramBuilder::new()
            .add_source_string(source.to_owned(), "test.ncl")
            .build()
            .unwrap();
        program.eval_full_for_export().unwrap()
    }

    #[test]
    fn a_value_is_written_as_nickel_that_gives_it_back_and_hashed_as_written() {
        let values = [
            r#"{ a = 1, b = "1", c = 'x, d = 'y "a,b", e = ["a", "b"], f = null, g = -1/3 }"#,
            r#"{ a = 1, b = "1", c = 'x, d = 'y "a,b", e = ["a,b"], f = null, g = -1/3 }"#,
            r#"{ a = "1", b = 1, c = "x", d = 'y "a,b", e = ["a", "b"], f = null, g = -1/3 }"#,
        ];
        let texts: Vec<String> = values.iter().map(|v| text(&value(v)).unwrap()).collect();
        for (source, written) in values.iter().zip(&texts) {
            let again = text(&value(written)).unwrap();
            assert_eq!(&again, written, "{source}");
            assert_eq!(
                digest(&value(source)),
                Some(blake3::hash(written.as_bytes()))
            );
        }
        assert_ne!(texts[0], texts[1]);
        assert_ne!(texts[0], texts[2]);
    }

    #[test]
    fn hosts_make_a_record() {
        assert_eq!(
            record_of([("h-1", "{}"), ("a\"b", "1")]),
            r#"{"h-1" = {},"a\"b" = 1,}"#
        );
    }
}
