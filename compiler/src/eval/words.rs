//! words: Nickel types and values said in plain English for error messages,
//! and a field's `doc` read from the contract that declares it.
//!
//! Takes Nickel's types, values and source text; returns strings. No I/O.

use nickel_lang_core::eval::value::{Container, NickelValue, ValueContentRef};
use nickel_lang_core::label::ty_path::Elem;
use nickel_lang_core::typ::{EnumRowsF, RecordRowsF, Type, TypeF};

/// Longest string shown in full inside a message.
const MAX_SHOWN_STRING: usize = 40;

/// The type found at `path` inside `typ`, if the path leads somewhere.
pub(super) fn subtype<'a>(
    typ: &'a Type,
    path: impl IntoIterator<Item = &'a Elem>,
) -> Option<&'a Type> {
    let mut current = typ;
    for elem in path {
        current = match (elem, &current.typ) {
            (Elem::Array, TypeF::Array(inner)) => inner,
            (Elem::Dict, TypeF::Dict { type_fields, .. }) => type_fields,
            (Elem::Field(id), TypeF::Record(rows)) => {
                let mut rows = &rows.0;
                loop {
                    match rows {
                        RecordRowsF::Extend { row, tail } if row.id.ident() == id.ident() => {
                            break &row.typ;
                        }
                        RecordRowsF::Extend { tail, .. } => rows = &tail.0,
                        _ => return None,
                    }
                }
            }
            _ => return None,
        };
    }
    Some(current)
}

/// What a value of `typ` looks like, e.g. "a number"; `None` for a contract
/// that speaks for itself.
pub(super) fn expected(typ: &Type) -> Option<String> {
    Some(match &typ.typ {
        TypeF::Number => "a number".to_owned(),
        TypeF::String => "a string".to_owned(),
        TypeF::Bool => "`true` or `false`".to_owned(),
        TypeF::Array(_) => "an array like [ … ]".to_owned(),
        TypeF::Dict { .. } | TypeF::Record(_) => "a record like { … }".to_owned(),
        TypeF::Arrow(..) => "a function".to_owned(),
        TypeF::Enum(rows) => {
            let mut tags = Vec::new();
            let mut rows = &rows.0;
            while let EnumRowsF::Extend { row, tail } = rows {
                tags.push(format!("'{}", row.id));
                rows = &tail.0;
            }
            format!("one of {}", tags.join(", "))
        }
        _ => return None,
    })
}

/// A value as a message names it: "the string \"4\"", "the number 4", "a record".
pub(super) fn found(value: &NickelValue) -> String {
    match value.content_ref() {
        ValueContentRef::Null => "null".to_owned(),
        ValueContentRef::Bool(value) => format!("`{value}`"),
        ValueContentRef::Number(number) => format!("the number {number}"),
        ValueContentRef::String(text) => format!("the string {}", quoted(text)),
        ValueContentRef::Array(Container::Empty) => "an empty array".to_owned(),
        ValueContentRef::Array(_) => "an array".to_owned(),
        ValueContentRef::Record(Container::Empty) => "an empty record".to_owned(),
        ValueContentRef::Record(_) => "a record".to_owned(),
        ValueContentRef::EnumVariant(variant) => match variant.arg {
            Some(_) => format!("the enum variant '{} …", variant.tag),
            None => format!("the enum tag '{}", variant.tag),
        },
        _ => "a value of another kind".to_owned(),
    }
}

/// `text` in double quotes, shortened with `…` past [`MAX_SHOWN_STRING`] characters.
pub(super) fn quoted(text: &str) -> String {
    let shown: String = text.chars().take(MAX_SHOWN_STRING).collect();
    let ellipsis = if shown.len() < text.len() { "…" } else { "" };
    format!("{:?}", format!("{shown}{ellipsis}"))
}

/// The `doc` of the field whose contract starts at `offset` in `text`: the
/// string after `doc` before the field's definition ends (a `,` or `}` at its
/// own bracket depth, outside strings).
pub(super) fn field_doc(text: &str, offset: usize) -> Option<String> {
    let rest = text.get(offset..)?;
    let end = field_end(rest);
    let field = &rest[..end];
    let at = find_keyword(field, "doc")?;
    let after = field[at + 3..].trim_start();
    let doc = if let Some(body) = after.strip_prefix("m%\"") {
        body.split_once("\"%")?.0.to_owned()
    } else {
        let body = after.strip_prefix('"')?;
        let mut doc = String::new();
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => doc.extend(chars.next()),
                c => doc.push(c),
            }
        }
        doc
    };
    let words: Vec<&str> = doc.split_whitespace().collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// Length of the field definition at the start of `text`.
fn field_end(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut depth = 0i32;
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'"' => {
                // A string: skip to its end (a `m%"…"%` ends at `"%`).
                let multiline = index > 0 && bytes[index - 1] == b'%';
                index += 1;
                while index < bytes.len() {
                    match bytes[index] {
                        b'\\' if !multiline => index += 1,
                        b'"' if !multiline => break,
                        b'"' if bytes.get(index + 1) == Some(&b'%') => {
                            index += 1;
                            break;
                        }
                        _ => {}
                    }
                    index += 1;
                }
            }
            b'#' => {
                while index < bytes.len() && bytes[index] != b'\n' {
                    index += 1;
                }
            }
            b'{' | b'[' | b'(' => depth += 1,
            b'}' | b']' | b')' if depth == 0 => return index,
            b'}' | b']' | b')' => depth -= 1,
            b',' if depth == 0 => return index,
            _ => {}
        }
        index += 1;
    }
    bytes.len()
}

/// Offset of `keyword` as a whole word in `text`, outside strings.
fn find_keyword(text: &str, keyword: &str) -> Option<usize> {
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut in_string = false;
    let bytes = text.as_bytes();
    for (index, &byte) in bytes.iter().enumerate() {
        if byte == b'"' && (index == 0 || bytes[index - 1] != b'\\') {
            in_string = !in_string;
        }
        let before = index.checked_sub(1).map(|before| bytes[before]);
        let after = bytes.get(index + keyword.len()).copied();
        if !in_string
            && bytes[index..].starts_with(keyword.as_bytes())
            && !before.is_some_and(is_word)
            && !after.is_some_and(is_word)
        {
            return Some(index);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_doc_is_read_from_its_contract() {
        let text = "{\n  cores | Number | doc \"vCPU cores.\",\n  memory | Number,\n}\n";
        let at = text.find("Number").unwrap();
        assert_eq!(field_doc(text, at).as_deref(), Some("vCPU cores."));
        let at = text.rfind("Number").unwrap();
        assert_eq!(
            field_doc(text, at),
            None,
            "the next field's doc is not this one's"
        );
        let text = "  nics | { _ : Nic } | doc \"Extra NICs, keyed by name.\" | default = {},\n";
        let at = text.find('{').unwrap();
        assert_eq!(
            field_doc(text, at).as_deref(),
            Some("Extra NICs, keyed by name.")
        );
        let text = "  vm | Vm\n    | doc m%\"\n      A VM, with \"quotes\".\n    \"%,\n";
        let at = text.find("Vm").unwrap();
        assert_eq!(
            field_doc(text, at).as_deref(),
            Some("A VM, with \"quotes\".")
        );
    }

    #[test]
    fn long_strings_are_shortened() {
        assert_eq!(quoted("4"), "\"4\"");
        assert_eq!(quoted(&"x".repeat(50)), format!("\"{}…\"", "x".repeat(40)));
    }
}
