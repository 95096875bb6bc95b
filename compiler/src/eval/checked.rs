//! checked: the hosts an evaluation took through the contracts, as Nickel
//! text that a later build passes back as lib/lugc.ncl's `known_hosts`.
//!
//! The build result's `checked_hosts` (when `export_checked` asks for it)
//! holds each checked host's plain copy after the contracts. Each is written
//! as one line of Nickel that evaluates to the same value: enum tags and
//! their arguments kept, every string escaped, numbers exact. A host that is
//! not plain data is left out (its next build checks it again).

use std::collections::BTreeMap;
use std::fmt::Write as _;

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
        .filter_map(|(name, host)| {
            let mut text = String::new();
            write(&mut text, host)?;
            Some((name, text))
        })
        .collect()
}

/// The main value's `checked_rest` as one line of Nickel, if it has one.
pub(super) fn rest(main: &NickelValue) -> Option<String> {
    let rest = field(record(main)?, CHECKED_REST_FIELD)?;
    record(rest)?;
    let mut text = String::new();
    write(&mut text, rest)?;
    Some(text)
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

/// `value` as Nickel source on one line; `None` for what is not plain data.
fn write(out: &mut String, value: &NickelValue) -> Option<()> {
    match value.content_ref() {
        ValueContentRef::Null => out.push_str("null"),
        ValueContentRef::Bool(flag) => out.push_str(if flag { "true" } else { "false" }),
        // A fraction or a negative number in parentheses: `1/3`, `-2`.
        ValueContentRef::Number(number) => {
            let shown = number.to_string();
            if shown.contains(['/', '-']) {
                let _ = write!(out, "({shown})");
            } else {
                out.push_str(&shown);
            }
        }
        ValueContentRef::String(text) => string(out, text.as_str()),
        ValueContentRef::EnumVariant(EnumVariantData { tag, arg }) => {
            out.push_str("('");
            string(out, tag.label());
            if let Some(arg) = arg {
                out.push_str(" (");
                write(out, arg)?;
                out.push(')');
            }
            out.push(')');
        }
        ValueContentRef::Array(Container::Empty) => out.push_str("[]"),
        ValueContentRef::Array(Container::Alloc(data)) => {
            out.push('[');
            for item in elements(data)? {
                write(out, item)?;
                out.push(',');
            }
            out.push(']');
        }
        ValueContentRef::Record(Container::Empty) => out.push_str("{}"),
        ValueContentRef::Record(Container::Alloc(fields)) => {
            out.push('{');
            for (name, value) in sorted(fields)? {
                string(out, &name);
                out.push('=');
                write(out, value)?;
                out.push(',');
            }
            out.push('}');
        }
        _ => return None,
    }
    Some(())
}

/// `text` as a Nickel string literal: quotes, backslashes, `%` and every
/// control character escaped, so the literal is one line.
fn string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '%' => out.push_str("\\%"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
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

    #[test]
    fn hosts_make_a_record() {
        assert_eq!(
            record_of([("h-1", "{}"), ("a\"b", "1")]),
            r#"{"h-1" = {},"a\"b" = 1,}"#
        );
    }
}
