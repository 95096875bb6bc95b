//! A VM config as PVE reads it: [`read`], [`same`].

use std::collections::BTreeMap;

use super::schema::{fleecing_type, key_type, Type};
use crate::storage_cfg::Warning;

/// One section as PVE holds it: its keys and values, the description under
/// `description`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section {
    pub values: BTreeMap<String, String>,
}

impl Section {
    pub fn description(&self) -> Option<&str> {
        self.values.get("description").map(String::as_str)
    }
}

/// A VM config as PVE holds it after `parse_vm_config`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VmConfig {
    pub main: Section,
    /// `[PENDING]`: changes that apply at the next start (empty when absent).
    pub pending: Section,
    /// `[special:cloudinit]`, `[special:fleecing]`.
    pub special: BTreeMap<String, Section>,
    /// `[name]`: each snapshot's config.
    pub snapshots: BTreeMap<String, Section>,
}

/// What PVE makes of a VM config.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    pub config: VmConfig,
    pub warnings: Vec<Warning>,
}

/// Which section lines go to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    Main,
    Pending,
    Special(String),
    Snapshot(String),
    /// An unknown `[…]` section: its lines are skipped.
    Skipped,
}

/// Perl's `\s`.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// Read a VM config as `parse_vm_config` does (not strict): never fails;
/// what PVE would drop is dropped and named in `warnings`.
pub fn read(text: &str) -> Reading {
    let mut reader = Reader::default();
    for (index, line) in text.split('\n').enumerate() {
        if line.chars().all(is_space) {
            continue;
        }
        reader.line(index + 1, line);
    }
    reader.finish_description();
    reader.reading.config.main.values.remove("snapstate");
    reader.reading
}

/// Whether PVE reads the two texts as the same VM config: the same keys
/// and values in each section, the description decoded; comments'
/// encoding, key order, blank lines and whatever PVE drops do not count.
pub fn same(a: &str, b: &str) -> bool {
    read(a).config == read(b).config
}

#[derive(Default)]
struct Reader {
    reading: Reading,
    place: Option<Place>,
    description: Option<String>,
    /// A `[PENDING]` section was read.
    pending_seen: bool,
}

impl Reader {
    fn section(&mut self) -> &mut Section {
        let config = &mut self.reading.config;
        match self.place.as_ref().unwrap_or(&Place::Main) {
            Place::Main | Place::Skipped => &mut config.main,
            Place::Pending => &mut config.pending,
            Place::Special(name) => config.special.entry(name.clone()).or_default(),
            Place::Snapshot(name) => config.snapshots.entry(name.clone()).or_default(),
        }
    }

    fn warn(&mut self, line: usize, message: String) {
        self.reading.warnings.push(Warning { line, message });
    }

    /// `$finish_description`: the description gathered so far goes to the current section.
    fn finish_description(&mut self) {
        if let Some(description) = self.description.take() {
            let trimmed = description.trim_end_matches(is_space).to_owned();
            self.section()
                .values
                .insert("description".to_owned(), trimmed);
        }
    }

    fn line(&mut self, number: usize, line: &str) {
        if let Some(place) = section_header(line) {
            self.enter(number, place);
            return;
        }
        if self.place == Some(Place::Skipped) {
            return;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let description = self.description.get_or_insert_with(String::new);
            description.push_str(&decode_text(comment));
            description.push('\n');
        } else if let Some(value) = key_value(line, "description").filter(|v| !v.is_empty()) {
            let description = self.description.get_or_insert_with(String::new);
            description.push_str(&decode_text(value));
        } else if let Some(state) = snapstate(line) {
            self.section()
                .values
                .insert("snapstate".to_owned(), state.to_owned());
        } else if let Some(value) = key_value(line, "args").filter(|v| !v.is_empty()) {
            self.section()
                .values
                .insert("args".to_owned(), value.to_owned());
        } else if let Some(value) = key_value(line, "delete").filter(|v| !v.is_empty()) {
            if self.place == Some(Place::Pending) {
                self.section()
                    .values
                    .insert("delete".to_owned(), value.to_owned());
            } else {
                self.warn(
                    number,
                    "property 'delete' is only allowed in [PENDING]".into(),
                );
            }
        } else if let Some((key, value)) = general(line) {
            self.setting(number, key, value);
        } else {
            self.warn(number, format!("unable to parse config: {line}"));
        }
    }

    fn enter(&mut self, number: usize, place: Place) {
        self.finish_description();
        let config = &mut self.reading.config;
        let (duplicate, what) = match &place {
            Place::Pending => {
                config.pending = Section::default();
                (
                    std::mem::replace(&mut self.pending_seen, true),
                    "section: pending".to_owned(),
                )
            }
            Place::Special(name) => (
                config
                    .special
                    .insert(name.clone(), Section::default())
                    .is_some(),
                format!("special section: {name}"),
            ),
            Place::Snapshot(name) => (
                config
                    .snapshots
                    .insert(name.clone(), Section::default())
                    .is_some(),
                format!("snapshot section: {name}"),
            ),
            Place::Main | Place::Skipped => (false, String::new()),
        };
        if duplicate {
            self.warn(number, format!("duplicate {what}"));
        }
        if place == Place::Skipped {
            self.warn(number, "skipping unknown section".to_owned());
        }
        self.place = Some(place);
    }

    /// A `key: value` line, checked as `check_type` does.
    fn setting(&mut self, number: usize, key: &str, value: &str) {
        let place = self.place.clone().unwrap_or(Place::Main);
        if place == Place::Special("cloudinit".to_owned()) {
            self.section()
                .values
                .insert(key.to_owned(), value.to_owned());
            return;
        }
        let known = match &place {
            Place::Special(name) if name == "fleecing" => fleecing_type(key),
            Place::Special(_) => None,
            _ => key_type(key),
        };
        let Some(kind) = known else {
            self.warn(
                number,
                format!("unable to parse value of '{key}' - unknown setting '{key}'"),
            );
            return;
        };
        match checked(kind, value) {
            Ok(value) => {
                let key = if key == "cdrom" { "ide2" } else { key };
                self.section().values.insert(key.to_owned(), value);
            }
            Err(problem) => self.warn(
                number,
                format!("unable to parse value of '{key}' - {problem}"),
            ),
        }
    }
}

/// `[PENDING]`, `[special:cloudinit]`, `[snapshot-name]` or an unknown `[…]`.
fn section_header(line: &str) -> Option<Place> {
    let inner = line
        .trim_end_matches(is_space)
        .strip_prefix('[')?
        .strip_suffix(']')?;
    if inner.eq_ignore_ascii_case("PENDING") {
        return Some(Place::Pending);
    }
    if let Some(name) = inner
        .get(..8)
        .filter(|p| p.eq_ignore_ascii_case("special:"))
    {
        let name = &inner[name.len()..];
        if ["cloudinit", "fleecing"]
            .iter()
            .any(|s| s.eq_ignore_ascii_case(name))
        {
            return Some(Place::Special(name.to_owned()));
        }
    }
    let mut chars = inner.chars();
    let snapshot = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && inner.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if snapshot {
        return Some(Place::Snapshot(inner.to_owned()));
    }
    (!inner.contains(']')).then_some(Place::Skipped)
}

/// `^KEY:\s*(.*\S)\s*$`: the value trimmed, empty when it has no non-space.
fn key_value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(key)?.strip_prefix(':')?;
    Some(rest.trim_matches(is_space))
}

/// `snapstate:\s*(prepare|delete)\s*$` anywhere in the line.
fn snapstate(line: &str) -> Option<&'static str> {
    line.match_indices("snapstate:").find_map(|(at, found)| {
        match line[at + found.len()..].trim_matches(is_space) {
            "prepare" => Some("prepare"),
            "delete" => Some("delete"),
            _ => None,
        }
    })
}

/// `^([a-z][a-z_\-]*\d*):\s*(.+?)\s*$`.
fn general(line: &str) -> Option<(&str, &str)> {
    let (key, rest) = line.split_once(':')?;
    let letters = key.trim_end_matches(|c: char| c.is_ascii_digit());
    let valid = letters.starts_with(|c: char| c.is_ascii_lowercase())
        && letters
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '_' || c == '-');
    if !valid || rest.is_empty() {
        return None;
    }
    let trimmed = rest.trim_end_matches(is_space);
    let value = if trimmed.is_empty() {
        // `.+?` takes the last white space character.
        &rest[rest.len() - rest.chars().last().map_or(0, char::len_utf8)..]
    } else {
        trimmed.trim_start_matches(is_space)
    };
    Some((key, value))
}

/// `check_type`'s value for a key of type `kind`.
fn checked(kind: Type, value: &str) -> Result<String, String> {
    let digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    match kind {
        Type::Boolean => match value.to_ascii_lowercase().as_str() {
            "1" | "on" | "yes" | "true" => Ok("1".to_owned()),
            "0" | "off" | "no" | "false" => Ok("0".to_owned()),
            _ => Err(format!("type check ('boolean') failed - got '{value}'")),
        },
        Type::Integer if digits(value) => {
            let trimmed = value.trim_start_matches('0');
            Ok(if trimmed.is_empty() { "0" } else { trimmed }.to_owned())
        }
        Type::Integer => Err(format!("type check ('integer') failed - got '{value}'")),
        Type::Number => {
            let (whole, fraction) = value.split_once('.').unwrap_or((value, "1"));
            if digits(whole) && digits(fraction) {
                Ok(value.to_owned())
            } else {
                Err(format!("type check ('number') failed - got '{value}'"))
            }
        }
        Type::Formatted => Ok(value.to_owned()),
        Type::Plain => Ok(value
            .strip_prefix('"')
            .and_then(|inner| inner.strip_suffix('"'))
            .unwrap_or(value)
            .to_owned()),
    }
}

/// `PVE::ParseUtils::decode_text`: each `%XX` is a byte, the bytes UTF-8
/// (malformed sequences become U+FFFD).
pub fn decode_text(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let hex = bytes
            .get(at + 1..at + 3)
            .filter(|_| bytes[at] == b'%')
            .filter(|pair| pair.iter().all(u8::is_ascii_hexdigit))
            .and_then(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok());
        match hex {
            Some(byte) => {
                decoded.push(byte);
                at += 3;
            }
            None => {
                decoded.push(bytes[at]);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests;
