//! storage.cfg read strictly: [`parse`].

use std::fmt;

use super::lexical::{is_node_name, is_storage_id, split_header};
use super::schema::{spec, Format, TypeSpec, SECRETS};

/// Where PVE keeps the secret property `key` of storage `id`, if it is one.
fn secret_file(key: &str, id: &str) -> Option<String> {
    SECRETS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, file)| file.replace("{id}", id))
}

/// storage.cfg read strictly: sections in file order with their lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageCfg {
    pub sections: Vec<Section>,
}

/// One `type: id` section as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub storage_type: String,
    pub id: String,
    /// 1-based line of the header.
    pub line: usize,
    /// Properties in file order; a bare boolean key has the value `1`.
    pub properties: Vec<(String, String)>,
}

/// A line PVE would not read as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based; 0 for the file as a whole.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "storage.cfg line {}: {}", self.line, self.message)
    }
}

impl StorageCfg {
    /// The section with this storage id.
    pub fn section(&self, id: &str) -> Option<&Section> {
        self.sections.iter().find(|section| section.id == id)
    }
}

impl Section {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The `nodes` list; empty when the storage is not node-scoped.
    pub fn nodes(&self) -> Vec<&str> {
        self.list("nodes")
    }

    /// The `content` list.
    pub fn content(&self) -> Vec<&str> {
        self.list("content")
    }

    /// A boolean property: `1` (or a bare key) is true, absent or `0` false.
    pub fn flag(&self, key: &str) -> bool {
        self.get(key) == Some("1")
    }

    fn list(&self, key: &str) -> Vec<&str> {
        self.get(key)
            .map(|v| v.split(',').collect())
            .unwrap_or_default()
    }
}

/// Read storage.cfg strictly, reporting every problem, not only the first.
/// Beyond what [`read`] warns about, it rejects what PVE accepts but would
/// misread or never write: a property line that is not one TAB, the key and
/// one space before the value; trailing whitespace; a whitespace-only line or
/// a CR (PVE keeps reading the section past it, merging the next one in); a
/// header not written `type: id`; values failing their format (paths, ports,
/// fingerprints, content types of the type); a repeated id; a `password`
/// (PVE keeps secrets under /etc/pve/priv/); `local` other than
/// `dir: local` at /var/lib/vz without `nodes`; a missing final newline.
pub fn parse(text: &str) -> Result<StorageCfg, Vec<ParseError>> {
    let mut parser = Parser::default();
    if !text.is_empty() && !text.ends_with('\n') {
        parser.fail(0, "the file must end with a newline");
    }
    for (index, line) in text.split('\n').enumerate() {
        parser.line(index + 1, line);
    }
    parser.finish()
}

#[derive(Default)]
struct Parser {
    sections: Vec<Section>,
    /// Whether a section is open (its properties are being read).
    open: bool,
    errors: Vec<ParseError>,
}

impl Parser {
    fn fail(&mut self, line: usize, message: impl Into<String>) {
        self.errors.push(ParseError {
            line,
            message: message.into(),
        });
    }

    fn line(&mut self, number: usize, line: &str) {
        if line.contains('\r') {
            self.fail(
                number,
                "carriage return (CRLF): PVE would not see the empty line that ends a section",
            );
            return;
        }
        if line.trim_start().starts_with('#') {
            return;
        }
        if line.is_empty() {
            self.open = false;
            return;
        }
        if line.trim().is_empty() {
            self.fail(number, "whitespace-only line: PVE would not end the section here but merge the next one into it");
            return;
        }
        if self.open {
            self.property(number, line);
        } else {
            self.header(number, line);
        }
    }

    fn header(&mut self, number: usize, line: &str) {
        let Some((storage_type, id)) = split_header(line) else {
            self.fail(
                number,
                format!("expected a `type: id` section header, found {line:?}"),
            );
            return;
        };
        if line != format!("{storage_type}: {id}") {
            self.fail(
                number,
                format!("header must be written `{storage_type}: {id}`"),
            );
        }
        if spec(storage_type).is_none() {
            self.fail(number, format!("unknown storage type `{storage_type}`"));
        }
        if !is_storage_id(id) || id.bytes().any(|b| b.is_ascii_uppercase()) {
            self.fail(
                number,
                format!("storage id `{id}` does not match [a-z][a-z0-9\\-_.]*[a-z0-9]"),
            );
        }
        if let Some(first) = self.sections.iter().find(|s| s.id == id) {
            let first = first.line;
            self.fail(
                number,
                format!("duplicate storage id `{id}` (first at line {first})"),
            );
        }
        self.sections.push(Section {
            storage_type: storage_type.to_owned(),
            id: id.to_owned(),
            line: number,
            properties: Vec::new(),
        });
        self.open = true;
    }

    fn property(&mut self, number: usize, line: &str) {
        let section = self.sections.last_mut().expect("a section is open");
        match read_property(section, line) {
            Ok(property) => section.properties.push(property),
            Err(problem) => {
                let message = format!("in `{}`: {problem}", section.id);
                self.fail(number, message);
            }
        }
    }

    fn finish(mut self) -> Result<StorageCfg, Vec<ParseError>> {
        for section in &self.sections {
            let required = spec(&section.storage_type)
                .into_iter()
                .flat_map(TypeSpec::required);
            for key in required {
                if section.get(key).is_none() {
                    self.errors.push(ParseError {
                        line: section.line,
                        message: format!(
                            "`{}: {}` lacks the required key `{key}`",
                            section.storage_type, section.id
                        ),
                    });
                }
            }
            if section.id == "local" {
                if section.storage_type != "dir" || section.get("path") != Some("/var/lib/vz") {
                    self.errors.push(ParseError {
                        line: section.line,
                        message: "`local` must be `dir: local` with `path /var/lib/vz` (PVE replaces anything else)".to_owned(),
                    });
                }
                if section.get("nodes").is_some() {
                    self.errors.push(ParseError {
                        line: section.line,
                        message: "`nodes` on `local` is dropped by PVE: local exists on every node"
                            .to_owned(),
                    });
                }
            }
        }
        if self.errors.is_empty() {
            Ok(StorageCfg {
                sections: self.sections,
            })
        } else {
            self.errors.sort_by_key(|e| e.line);
            Err(self.errors)
        }
    }
}

/// One property line of `section`, checked strictly; the error says why PVE
/// would drop or misread the line.
fn read_property(section: &Section, line: &str) -> Result<(String, String), String> {
    let Some(body) = line
        .strip_prefix('\t')
        .filter(|b| !b.starts_with(char::is_whitespace))
    else {
        return Err(format!(
            "a property line is one TAB then `key value`, and a section ends only at an empty line; found {line:?}"
        ));
    };
    if body.ends_with(char::is_whitespace) {
        return Err("trailing whitespace".to_owned());
    }
    let (key, value) = match body.split_once(' ') {
        Some((key, value)) => (key, Some(value)),
        None => (body, None),
    };
    let storage_type = section.storage_type.as_str();
    if let Some(file) = secret_file(key, &section.id) {
        return Err(format!(
            "a {key} never lives in storage.cfg (PVE keeps it in {file})"
        ));
    }
    let Some((format, _)) = spec(storage_type).and_then(|spec| spec.property(key)) else {
        return Err(format!(
            "`{key}` is not a property of {storage_type} storage"
        ));
    };
    if section.get(key).is_some() {
        return Err(format!("duplicate key `{key}`"));
    }
    let value = match (format, value) {
        (Format::Boolean, None) => "1",
        (_, Some(value)) if !value.is_empty() && !value.starts_with(' ') => value,
        _ => return Err(format!("`{key}` needs one space and a value")),
    };
    check_value(format, storage_type, value)
        .map_err(|problem| format!("`{key} {value}`: {problem}"))?;
    Ok((key.to_owned(), value.to_owned()))
}

/// The value checked as PVE checks it, and what PVE's writer could not
/// have written: sets not comma-separated, content the type cannot hold.
fn check_value(format: Format, storage_type: &str, value: &str) -> Result<(), String> {
    let friendly = match format {
        Format::Boolean => "a boolean is 0 or 1",
        Format::NodeList => "nodes is a comma-separated list of node names",
        Format::StoragePath => "must be an absolute path",
        Format::Fingerprint => "a fingerprint is 32 hex pairs separated by `:`",
        _ => "",
    };
    format.check(value).map_err(|reason| {
        if friendly.is_empty() {
            reason
        } else {
            friendly.to_owned()
        }
    })?;
    match format {
        Format::NodeList if !value.split(',').all(is_node_name) => Err(friendly.to_owned()),
        Format::ContentList => {
            let allowed = spec(storage_type).map_or(&[][..], |spec| spec.content);
            let unknown: Vec<&str> = value.split(',').filter(|c| !allowed.contains(c)).collect();
            if unknown.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "content {} not allowed on {storage_type} (allowed: {})",
                    unknown.join(","),
                    allowed.join(",")
                ))
            }
        }
        _ => Ok(()),
    }
}
