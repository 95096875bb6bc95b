//! checked: the hosts an evaluation took through the contracts, as text
//! that a later build passes back as lib/lugc.ncl's `known_hosts`.
//!
//! The build result's `checked_hosts` (when `export_checked` asks for it)
//! holds each checked host's plain copy after the contracts. Each is written
//! as one line of JSON where JSON holds it exactly, else of Nickel, that
//! evaluates to the same value: enum tags and their arguments kept, every
//! string escaped, numbers exact. A host that is not plain data is left out
//! (its next build checks it again).

use std::collections::BTreeMap;

use nickel_lang_core::eval::value::{Container, EnumVariantData, NickelValue, ValueContentRef};

use super::sources::{elements, field, record, sorted};

/// The build result's fields that hold the checked hosts and the checked
/// description without its hosts.
pub(super) const CHECKED_HOSTS_FIELD: &str = "checked_hosts";
pub(super) const CHECKED_REST_FIELD: &str = "checked_rest";

/// What marks a recorded host written as JSON: it has no enum tag and no
/// number but integers, so Nickel reads it back by `%deserialize%`, which
/// costs a fraction of parsing, typechecking and transforming Nickel source.
const JSON_MARK: &str = "json ";

/// Each host of the main value's `checked_hosts` as recorded text, by name:
/// JSON after [`JSON_MARK`] where JSON holds it, else one line of Nickel;
/// none when the field is null or absent.
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
        .filter_map(|(name, host)| {
            let mut json = String::from(JSON_MARK);
            match write_json(&mut json, host) {
                Some(()) => Some((name, json)),
                None => Some((name, text(host)?)),
            }
        })
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

/// The Nickel value `{ "<name>" = <host>, … }` of hosts recorded by
/// [`hosts`]: those written as JSON read back by one `%deserialize%`, merged
/// with those written as Nickel.
pub fn known_hosts<'a>(hosts: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let (mut json, mut nickel) = (String::from("{"), Vec::new());
    for (name, host) in hosts {
        match host.strip_prefix(JSON_MARK) {
            Some(host) => {
                if json.len() > 1 {
                    json.push(',');
                }
                json_string(&mut json, name);
                json.push(':');
                json.push_str(host);
            }
            None => nickel.push((name, host)),
        }
    }
    json.push('}');
    let mut value = String::from("(%deserialize% 'Json ");
    string(&mut value, &json);
    value.push(')');
    if !nickel.is_empty() {
        value.push_str(" & ");
        value.push_str(&record_of(nickel));
    }
    value
}

/// `value` as compact JSON; `None` for what JSON does not hold exactly (an
/// enum tag, a number that is no integer of 64 bits) or what is not plain data.
fn write_json(out: &mut String, value: &NickelValue) -> Option<()> {
    match value.content_ref() {
        ValueContentRef::Null => out.push_str("null"),
        ValueContentRef::Bool(flag) => out.push_str(if flag { "true" } else { "false" }),
        ValueContentRef::Number(number) => {
            let shown = number.to_string();
            shown.parse::<i64>().ok()?;
            out.push_str(&shown);
        }
        ValueContentRef::String(text) => json_string(out, text.as_str()),
        ValueContentRef::Array(Container::Empty) => out.push_str("[]"),
        ValueContentRef::Array(Container::Alloc(data)) => {
            out.push('[');
            for (at, item) in elements(data)?.enumerate() {
                if at > 0 {
                    out.push(',');
                }
                write_json(out, item)?;
            }
            out.push(']');
        }
        ValueContentRef::Record(Container::Empty) => out.push_str("{}"),
        ValueContentRef::Record(Container::Alloc(fields)) => {
            out.push('{');
            for (at, (name, value)) in sorted(fields)?.into_iter().enumerate() {
                if at > 0 {
                    out.push(',');
                }
                json_string(out, &name);
                out.push(':');
                write_json(out, value)?;
            }
            out.push('}');
        }
        _ => return None,
    }
    Some(())
}

/// `text` as a JSON string: quotes, backslashes and control characters escaped.
fn json_string(out: &mut String, text: &str) {
    quoted(out, text, |c| match c {
        '"' => Some("\\\"".into()),
        '\\' => Some("\\\\".into()),
        c if u32::from(c) < 0x20 => Some(format!("\\u{:04x}", u32::from(c)).into()),
        _ => None,
    });
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
    quoted(out, text, |c| match c {
        '"' => Some("\\\"".into()),
        '\\' => Some("\\\\".into()),
        '%' => Some("\\%".into()),
        '\n' => Some("\\n".into()),
        c if c.is_control() => Some(format!("\\u{{{:x}}}", u32::from(c)).into()),
        _ => None,
    });
}

/// `text` in double quotes, each character that `escape` escapes escaped.
fn quoted(
    out: &mut impl Sink,
    text: &str,
    escape: impl Fn(char) -> Option<std::borrow::Cow<'static, str>>,
) {
    out.put("\"");
    let mut plain = 0;
    for (at, c) in text.char_indices() {
        if let Some(escaped) = escape(c) {
            out.put(&text[plain..at]);
            out.put(&escaped);
            plain = at + c.len_utf8();
        }
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
    fn hosts_written_as_json_read_back_as_the_same_values() {
        let host = value(r#"{ a = 1, b = "x\" \%{y} é\n", c = [true, null], d = { e = -2 } }"#);
        let mut json = String::from(JSON_MARK);
        write_json(&mut json, &host).unwrap();
        for other in [r#"{ t = 'Vlan 2 }"#, "{ n = 1/3 }"] {
            assert!(write_json(&mut String::new(), &value(other)).is_none());
        }
        let nickel = text(&value(r#"{ t = 'Vlan 2 }"#)).unwrap();
        let known = value(&known_hosts([
            ("h-1", json.as_str()),
            ("h-2", nickel.as_str()),
        ]));
        let expected = format!(r#"{{"h-1"={},"h-2"={nickel},}}"#, text(&host).unwrap());
        assert_eq!(text(&known), Some(expected));
    }

    #[test]
    fn hosts_make_a_record() {
        assert_eq!(
            record_of([("h-1", "{}"), ("a\"b", "1")]),
            r#"{"h-1" = {},"a\"b" = 1,}"#
        );
    }
}
