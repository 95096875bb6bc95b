//! A reader for /etc/pve/storage.cfg that follows PVE's SectionConfig grammar
//! (PVE::SectionConfig::parse_config and the storage plugins' properties), and
//! turns everything PVE would only warn about, or silently get wrong, into an
//! error:
//!
//! ```text
//! # comment
//! dir: local
//! <TAB>path /var/lib/vz
//! <TAB>content iso,vztmpl,backup
//!
//! zfspool: local-zfs
//! <TAB>pool rpool/data
//! <TAB>nodes pve-5
//! <TAB>sparse
//! ```
//!
//! - A header is `^(\S+):\s*(\S+)\s*$`: a known type and a storage id matching
//!   `[a-z][a-z0-9\-_.]*[a-z0-9]`; an id appears once. (PVE skips the whole
//!   section on a bad id or a missing required key.)
//! - A property line is a TAB, the key, and for non-booleans one space and the
//!   value: what PVE writes. A key appears once per section and must be a
//!   property of the type; values are checked where PVE has a format (booleans
//!   0/1 with a bare key meaning 1, node lists, content types, fingerprints,
//!   absolute paths, ports). (PVE drops such lines with a warning only.)
//! - A section ends only at an empty line. A whitespace-only line or a CR
//!   would merge the next section into this one (PVE ignores the line and
//!   keeps reading properties), so both are errors, as is any other line PVE
//!   would ignore. `#` lines are comments anywhere.
//! - No `password`: PVE keeps secrets under /etc/pve/priv/.
//! - `local`, if present, is `dir: local` with `path /var/lib/vz` and no
//!   `nodes` (PVE replaces anything else and drops `nodes` on it).
//! - The file ends with a newline.

use std::fmt;

/// A parsed storage.cfg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageCfg {
    pub sections: Vec<Section>,
}

/// One `type: id` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// `dir`, `lvm`, `lvmthin`, `zfspool`, `nfs`, `iscsi` or `pbs`.
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

/// How PVE checks a property's value.
#[derive(Clone, Copy)]
enum Format {
    Text,
    Boolean,
    Nodes,
    Content,
    AbsolutePath,
    Port,
    Fingerprint,
    Integer,
}

/// Properties shared by every storage type.
const COMMON: &[(&str, Format)] = &[
    ("nodes", Format::Nodes),
    ("disable", Format::Boolean),
    ("content", Format::Content),
    ("bwlimit", Format::Text),
];

/// Per type: required keys, further properties, allowed content types.
struct TypeSpec {
    name: &'static str,
    required: &'static [&'static str],
    /// Properties beyond [`COMMON`], in groups.
    properties: &'static [&'static [(&'static str, Format)]],
    content: &'static [&'static str],
}

const FILE_CONTENT: &[&str] = &[
    "images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import", "none",
];
const DIR_LIKE: &[(&str, Format)] = &[
    ("path", Format::AbsolutePath),
    ("shared", Format::Boolean),
    ("maxfiles", Format::Integer),
    ("prune-backups", Format::Text),
    ("max-protected-backups", Format::Integer),
    ("format", Format::Text),
    ("mkdir", Format::Boolean),
    ("create-base-path", Format::Boolean),
    ("create-subdirs", Format::Boolean),
    ("preallocation", Format::Text),
    ("content-dirs", Format::Text),
    ("snapshot-as-volume-chain", Format::Boolean),
];

const TYPES: &[TypeSpec] = &[
    TypeSpec {
        name: "dir",
        required: &["path"],
        properties: &[DIR_LIKE, &[("is_mountpoint", Format::Text)]],
        content: FILE_CONTENT,
    },
    TypeSpec {
        name: "lvm",
        required: &["vgname"],
        properties: &[&[
            ("vgname", Format::Text),
            ("base", Format::Text),
            ("shared", Format::Boolean),
            ("saferemove", Format::Boolean),
            ("saferemove_throughput", Format::Text),
            ("tagged_only", Format::Boolean),
            ("snapshot-as-volume-chain", Format::Boolean),
        ]],
        content: &["images", "rootdir", "none"],
    },
    TypeSpec {
        name: "lvmthin",
        required: &["vgname", "thinpool"],
        properties: &[&[("vgname", Format::Text), ("thinpool", Format::Text)]],
        content: &["images", "rootdir"],
    },
    TypeSpec {
        name: "zfspool",
        required: &["pool"],
        properties: &[&[
            ("pool", Format::Text),
            ("blocksize", Format::Text),
            ("sparse", Format::Boolean),
            ("mountpoint", Format::AbsolutePath),
        ]],
        content: &["images", "rootdir"],
    },
    TypeSpec {
        name: "nfs",
        required: &["server", "export", "path"],
        properties: &[
            DIR_LIKE,
            &[
                ("server", Format::Text),
                ("export", Format::AbsolutePath),
                ("options", Format::Text),
            ],
        ],
        content: FILE_CONTENT,
    },
    TypeSpec {
        name: "iscsi",
        required: &["portal", "target"],
        properties: &[&[("portal", Format::Text), ("target", Format::Text)]],
        content: &["images", "none"],
    },
    TypeSpec {
        name: "pbs",
        required: &["server", "datastore", "fingerprint", "username"],
        properties: &[&[
            ("server", Format::Text),
            ("datastore", Format::Text),
            ("port", Format::Port),
            ("username", Format::Text),
            ("fingerprint", Format::Fingerprint),
            ("encryption-key", Format::Text),
            ("master-pubkey", Format::Text),
            ("namespace", Format::Text),
            ("prune-backups", Format::Text),
            ("max-protected-backups", Format::Integer),
        ]],
        content: &["backup"],
    },
];

impl TypeSpec {
    fn format(&self, key: &str) -> Option<Format> {
        std::iter::once(COMMON)
            .chain(self.properties.iter().copied())
            .flatten()
            .find(|(k, _)| *k == key)
            .map(|(_, format)| *format)
    }
}

/// Parse storage.cfg; every problem is reported, not only the first.
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
        if !is_storage_id(id) {
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
            for key in spec(&section.storage_type).map_or(&[][..], |spec| spec.required) {
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

/// One property line of `section`, checked as PVE would; the error says why
/// PVE would drop or misread the line.
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
    if key == "password" {
        return Err(
            "a password never lives in storage.cfg (PVE keeps it under /etc/pve/priv/)".to_owned(),
        );
    }
    let Some(format) = spec(storage_type).and_then(|spec| spec.format(key)) else {
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

fn spec(storage_type: &str) -> Option<&'static TypeSpec> {
    TYPES.iter().find(|spec| spec.name == storage_type)
}

/// `^(\S+):\s*(\S+)\s*$`
fn split_header(line: &str) -> Option<(&str, &str)> {
    let (storage_type, rest) = line.split_once(':')?;
    let id = rest.trim();
    let valid = !storage_type.is_empty()
        && !storage_type.contains(char::is_whitespace)
        && !id.is_empty()
        && !id.contains(char::is_whitespace);
    valid.then_some((storage_type, id))
}

/// `[a-z][a-z0-9\-_.]*[a-z0-9]`
fn is_storage_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    bytes.len() >= 2
        && bytes[0].is_ascii_lowercase()
        && bytes[bytes.len() - 1].is_ascii_lowercase() | bytes[bytes.len() - 1].is_ascii_digit()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(b))
}

/// PVE's node name: `[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?`
fn is_node_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn check_value(format: Format, storage_type: &str, value: &str) -> Result<(), String> {
    let ok = match format {
        Format::Text => true,
        Format::Boolean => value == "0" || value == "1",
        Format::Nodes => value.split(',').all(is_node_name),
        Format::Content => {
            let allowed = spec(storage_type).map_or(&[][..], |spec| spec.content);
            let unknown: Vec<&str> = value.split(',').filter(|c| !allowed.contains(c)).collect();
            if !unknown.is_empty() {
                return Err(format!(
                    "content {} not allowed on {storage_type} (allowed: {})",
                    unknown.join(","),
                    allowed.join(",")
                ));
            }
            true
        }
        Format::AbsolutePath => value.starts_with('/'),
        Format::Port => value.parse::<u16>().is_ok_and(|port| port > 0),
        Format::Integer => value.parse::<u64>().is_ok(),
        Format::Fingerprint => {
            let groups: Vec<&str> = value.split(':').collect();
            groups.len() == 32
                && groups
                    .iter()
                    .all(|g| g.len() == 2 && g.bytes().all(|b| b.is_ascii_hexdigit()))
        }
    };
    if ok {
        Ok(())
    } else {
        Err(match format {
            Format::Boolean => "a boolean is 0 or 1".to_owned(),
            Format::Nodes => "nodes is a comma-separated list of node names".to_owned(),
            Format::AbsolutePath => "must be an absolute path".to_owned(),
            Format::Port => "must be a port number".to_owned(),
            Format::Integer => "must be a non-negative integer".to_owned(),
            Format::Fingerprint => "a fingerprint is 32 hex pairs separated by `:`".to_owned(),
            Format::Text | Format::Content => "invalid value".to_owned(),
        })
    }
}
