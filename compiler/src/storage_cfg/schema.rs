//! The storage types PVE's plugins define (`options`, `plugindata`) and the
//! lexical rules of SectionConfig, shared by the PVE reading and the strict one.

/// How PVE types a property's value, and the format the strict reading checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    /// Any text.
    Plain,
    Boolean,
    Integer,
    Port,
    Nodes,
    Content,
    AbsolutePath,
    Fingerprint,
}

/// Whether a section without the property is skipped (`options` without
/// `optional => 1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Need {
    Required,
    Optional,
}

pub(super) use Format::{AbsolutePath, Boolean, Content, Fingerprint, Integer, Nodes, Plain, Port};
pub(super) use Need::{Optional as O, Required as R};

/// One storage type: its plugin's `options` and `plugindata` content.
pub(super) struct TypeSpec {
    pub(super) name: &'static str,
    pub(super) properties: &'static [(&'static str, Format, Need)],
    /// `plugindata.content[0]`: the content types it may hold.
    pub(super) content: &'static [&'static str],
    /// `plugindata.content[1]`: what a section without `content` holds.
    pub(super) default_content: &'static [&'static str],
}

/// The storage types lugc renders, with their properties as in PVE's
/// `*Plugin.pm` `options` (`fixed` without `optional` is required).
const TYPES: &[TypeSpec] = &[
    TypeSpec {
        name: "dir",
        properties: &[
            ("path", AbsolutePath, R),
            ("content-dirs", Plain, O),
            ("nodes", Nodes, O),
            ("shared", Boolean, O),
            ("disable", Boolean, O),
            ("prune-backups", Plain, O),
            ("max-protected-backups", Integer, O),
            ("content", Content, O),
            ("format", Plain, O),
            ("mkdir", Boolean, O),
            ("create-base-path", Boolean, O),
            ("create-subdirs", Boolean, O),
            ("is_mountpoint", Plain, O),
            ("bwlimit", Plain, O),
            ("preallocation", Plain, O),
            ("snapshot-as-volume-chain", Boolean, O),
        ],
        content: &[
            "images", "rootdir", "vztmpl", "iso", "backup", "snippets", "none", "import",
        ],
        default_content: &["images", "rootdir"],
    },
    TypeSpec {
        name: "lvm",
        properties: &[
            ("vgname", Plain, R),
            ("nodes", Nodes, O),
            ("shared", Boolean, O),
            ("disable", Boolean, O),
            ("saferemove", Boolean, O),
            ("saferemove-stepsize", Plain, O),
            ("saferemove_throughput", Plain, O),
            ("content", Content, O),
            ("base", Plain, O),
            ("tagged_only", Boolean, O),
            ("bwlimit", Plain, O),
            ("snapshot-as-volume-chain", Boolean, O),
        ],
        content: &["images", "rootdir"],
        default_content: &["images"],
    },
    TypeSpec {
        name: "lvmthin",
        properties: &[
            ("thinpool", Plain, R),
            ("vgname", Plain, R),
            ("nodes", Nodes, O),
            ("disable", Boolean, O),
            ("content", Content, O),
            ("bwlimit", Plain, O),
        ],
        content: &["images", "rootdir"],
        default_content: &["images", "rootdir"],
    },
    TypeSpec {
        name: "zfspool",
        properties: &[
            ("pool", Plain, R),
            ("blocksize", Plain, O),
            ("sparse", Boolean, O),
            ("nodes", Nodes, O),
            ("disable", Boolean, O),
            ("content", Content, O),
            ("bwlimit", Plain, O),
            ("mountpoint", AbsolutePath, O),
        ],
        content: &["images", "rootdir"],
        default_content: &["images", "rootdir"],
    },
    TypeSpec {
        name: "nfs",
        properties: &[
            ("path", AbsolutePath, R),
            ("content-dirs", Plain, O),
            ("server", Plain, R),
            ("export", AbsolutePath, R),
            ("nodes", Nodes, O),
            ("disable", Boolean, O),
            ("prune-backups", Plain, O),
            ("max-protected-backups", Integer, O),
            ("options", Plain, O),
            ("content", Content, O),
            ("format", Plain, O),
            ("mkdir", Boolean, O),
            ("create-base-path", Boolean, O),
            ("create-subdirs", Boolean, O),
            ("bwlimit", Plain, O),
            ("preallocation", Plain, O),
            ("snapshot-as-volume-chain", Boolean, O),
        ],
        content: &[
            "images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import",
        ],
        default_content: &["images"],
    },
    TypeSpec {
        name: "iscsi",
        properties: &[
            ("portal", Plain, R),
            ("target", Plain, R),
            ("nodes", Nodes, O),
            ("disable", Boolean, O),
            ("content", Content, O),
            ("bwlimit", Plain, O),
        ],
        content: &["images", "none"],
        default_content: &["images"],
    },
    TypeSpec {
        name: "pbs",
        properties: &[
            ("server", Plain, R),
            ("datastore", Plain, R),
            ("namespace", Plain, O),
            ("port", Port, O),
            ("nodes", Nodes, O),
            ("disable", Boolean, O),
            ("content", Content, O),
            ("username", Plain, O),
            ("password", Plain, O),
            ("encryption-key", Plain, O),
            ("master-pubkey", Plain, O),
            ("prune-backups", Plain, O),
            ("max-protected-backups", Integer, O),
            ("fingerprint", Fingerprint, O),
        ],
        content: &["backup", "none"],
        default_content: &["backup"],
    },
];

impl TypeSpec {
    pub(super) fn property(&self, key: &str) -> Option<(Format, Need)> {
        self.properties
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|&(_, format, need)| (format, need))
    }

    pub(super) fn required(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.properties
            .iter()
            .filter(|(_, _, need)| *need == R)
            .map(|(key, _, _)| *key)
    }
}

pub(super) fn spec(storage_type: &str) -> Option<&'static TypeSpec> {
    TYPES.iter().find(|spec| spec.name == storage_type)
}

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
