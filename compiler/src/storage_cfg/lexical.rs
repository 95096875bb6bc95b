//! SectionConfig's lexical rules (pve-common's PVE::SectionConfig,
//! PVE::Tools, PVE::JSONSchema), shared by the PVE reading and the strict one.

/// Perl's false for a line: it ends a section.
pub(super) fn is_false(line: &str) -> bool {
    line.is_empty() || line == "0"
}

/// Perl's `\s`.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0B' | '\x0C')
}

/// `^(\S+):\s*(\S+)\s*$`, as type and id.
pub(super) fn split_header(line: &str) -> Option<(&str, &str)> {
    let line = line.trim_end_matches(is_space);
    let (head, id) = match line.rfind(is_space) {
        Some(at) => (line[..at].trim_end_matches(is_space), &line[at + 1..]),
        // Without a space, `\S+` takes all it can: the id follows the last colon.
        None => line.split_at(line.rfind(':')? + 1),
    };
    let storage_type = head.strip_suffix(':')?;
    let valid = !storage_type.is_empty() && !storage_type.contains(is_space) && !id.is_empty();
    valid.then_some((storage_type, id))
}

/// `^\s+(\S+)(\s+(.*\S))?\s*$`, as key and value.
pub(super) fn split_property(line: &str) -> Option<(&str, Option<&str>)> {
    let body = line.strip_prefix(is_space)?.trim_matches(is_space);
    if body.is_empty() {
        return None;
    }
    Some(match body.split_once(is_space) {
        Some((key, value)) => (key, Some(value.trim_start_matches(is_space))),
        None => (body, None),
    })
}

/// `PVE::Tools::split_list`: items separated by commas, semicolons or whitespace.
pub(super) fn split_list(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c == ',' || c == ';' || is_space(c))
        .filter(|item| !item.is_empty())
}

/// `^[+-]?\d+$`, as a number.
pub(super) fn integer(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `[a-z][a-z0-9\-_.]*[a-z0-9]`, ignoring case (`PVE::JSONSchema::parse_id`).
pub(super) fn is_storage_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    let inner = |b: &u8| b.is_ascii_alphanumeric() || b"-_.".contains(b);
    bytes.len() >= 2
        && bytes[0].is_ascii_alphabetic()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes.iter().all(inner)
}

/// `[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?` (`pve_verify_node_name`).
pub(super) fn is_node_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}
