//! The formats of storage.cfg's properties, checked as pve-common's
//! `PVE::JSONSchema::check_prop` and the formats pve-storage registers do.

use std::net::IpAddr;

use super::lexical::{integer, is_node_name, split_list};

/// How PVE types and checks a property's value (its JSONSchema `type`,
/// `format`, `pattern`, `enum`, `minimum`/`maximum`, `maxLength`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Any one-line text.
    Text,
    /// Text of at most this many characters.
    TextUpTo(usize),
    /// 0 or 1; a bare key is 1.
    Boolean,
    /// An integer within these bounds.
    Integer(i64, i64),
    /// An integer written as one of these.
    IntegerOf(&'static [i64]),
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// `pve-node-list`: node names.
    NodeList,
    /// `pve-storage-content-list`: content types.
    ContentList,
    /// `pve-dir-override-list`: `content=relative/path` items.
    DirOverrideList,
    /// `pve-storage-path`: an absolute path.
    StoragePath,
    /// `pve-storage-server`: an IP address or DNS name.
    Server,
    /// `pve-storage-vgname`: an LVM name.
    LvmName,
    /// `pve-volume-id`: `storage:volume`.
    VolumeId,
    /// `pve-storage-portal-dns`: a host or IP address with an optional port.
    Portal,
    /// `pve-storage-portal-dns-list`.
    PortalList,
    /// `pve-storage-options`: mount options, no whitespace.
    MountOptions,
    /// `pve-storage-zfs-blocksize`: a power of two from 512 B to 16 MiB.
    ZfsBlocksize,
    /// `pve-configid`.
    ConfigId,
    /// `fingerprint-sha256`: 32 hex pairs separated by `:`.
    Fingerprint,
    /// `prune-backups`: `keep-last=3,keep-daily=7`…
    PruneBackups,
    /// `bwlimit`: `default=…,restore=…` in KiB/s.
    Bwlimit,
}

use Format::{
    Boolean, Bwlimit, ConfigId, ContentList, DirOverrideList, Fingerprint, Integer, IntegerOf,
    LvmName, MountOptions, NodeList, OneOf, Portal, PortalList, PruneBackups, Server, StoragePath,
    Text, TextUpTo, VolumeId, ZfsBlocksize,
};

/// How PVE holds a value once read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// Booleans and integers (`check_value` adds 0 to them).
    Number,
    /// `content`, `nodes`, `content-dirs`: PVE decodes them into hashes.
    Set,
}

/// Every content type PVE knows (`verify_content`: dir's, and `import`).
pub const CONTENT_TYPES: &[&str] = &[
    "images", "rootdir", "vztmpl", "iso", "backup", "snippets", "none", "import",
];

const PRUNE_KEYS: &[&str] = &[
    "keep-all",
    "keep-last",
    "keep-hourly",
    "keep-daily",
    "keep-weekly",
    "keep-monthly",
    "keep-yearly",
];

const BWLIMIT_KEYS: &[&str] = &["default", "restore", "migration", "clone", "move"];

impl Format {
    /// The format's name without its bounds, as lib/ names it.
    pub fn tag(self) -> &'static str {
        match self {
            Text => "Text",
            TextUpTo(_) => "TextUpTo",
            Boolean => "Boolean",
            Integer(..) => "Integer",
            IntegerOf(_) => "IntegerOf",
            OneOf(_) => "OneOf",
            NodeList => "NodeList",
            ContentList => "ContentList",
            DirOverrideList => "DirOverrideList",
            StoragePath => "StoragePath",
            Server => "Server",
            LvmName => "LvmName",
            VolumeId => "VolumeId",
            Portal => "Portal",
            PortalList => "PortalList",
            MountOptions => "MountOptions",
            ZfsBlocksize => "ZfsBlocksize",
            ConfigId => "ConfigId",
            Fingerprint => "Fingerprint",
            PruneBackups => "PruneBackups",
            Bwlimit => "Bwlimit",
        }
    }

    pub fn kind(self) -> Kind {
        match self {
            Boolean | Integer(..) | IntegerOf(_) => Kind::Number,
            NodeList | ContentList | DirOverrideList => Kind::Set,
            _ => Kind::Text,
        }
    }

    /// Whether PVE takes `value`; the error is PVE's reason for dropping the line.
    pub fn check(self, value: &str) -> Result<(), String> {
        let invalid = |reason: String| Err(format!("invalid format - {reason}"));
        match self {
            Text => Ok(()),
            TextUpTo(most) if value.chars().count() > most => {
                Err(format!("value may only be {most} characters long"))
            }
            TextUpTo(_) => Ok(()),
            Boolean if value == "0" || value == "1" => Ok(()),
            Boolean => Err(format!("type check ('boolean') failed - got '{value}'")),
            Integer(least, most) => match integer(value) {
                None => Err(format!("type check ('integer') failed - got '{value}'")),
                Some(n) if n < least => Err(format!("value must have a minimum value of {least}")),
                Some(n) if n > most => Err(format!("value must have a maximum value of {most}")),
                Some(_) => Ok(()),
            },
            IntegerOf(_) if integer(value).is_none() => {
                Err(format!("type check ('integer') failed - got '{value}'"))
            }
            IntegerOf(allowed) => {
                let words: Vec<String> = allowed.iter().map(i64::to_string).collect();
                enumeration(value, &words)
            }
            OneOf(allowed) => enumeration(value, allowed),
            NodeList => each(
                value,
                is_node_name,
                "value does not look like a valid node name",
            )
            .or_else(invalid),
            ContentList => split_list(value)
                .find(|c| !CONTENT_TYPES.contains(c))
                .map_or(Ok(()), |c| invalid(format!("invalid content type '{c}'"))),
            DirOverrideList => split_list(value)
                .find(|item| !is_dir_override(item))
                .map_or(Ok(()), |item| invalid(format!("invalid override '{item}'"))),
            StoragePath if is_storage_path(value) => Ok(()),
            StoragePath => invalid("value does not look like a valid absolute path".to_owned()),
            Server if value.parse::<IpAddr>().is_ok() || is_dns_name(value) => Ok(()),
            Server => invalid("value does not look like a valid server name or IP address".into()),
            LvmName if is_lvm_name(value) => Ok(()),
            LvmName => invalid(format!("lvm name '{value}' contains illegal characters")),
            VolumeId if is_volume_id(value) => Ok(()),
            VolumeId => invalid(format!("unable to parse volume ID '{value}'")),
            Portal if is_portal(value) => Ok(()),
            Portal => invalid("value does not look like a valid portal address".to_owned()),
            PortalList => each(
                value,
                is_portal,
                "value does not look like a valid portal address",
            )
            .or_else(invalid),
            MountOptions if !value.is_empty() && !value.contains(char::is_whitespace) => Ok(()),
            MountOptions => invalid(format!("invalid options '{value}'")),
            ZfsBlocksize if is_zfs_blocksize(value) => Ok(()),
            ZfsBlocksize => invalid(format!("invalid ZFS blocksize '{value}'")),
            ConfigId if is_config_id(value) => Ok(()),
            ConfigId => invalid(format!("invalid configuration ID '{value}'")),
            Fingerprint if is_fingerprint(value) => Ok(()),
            Fingerprint => Err("value does not match the regex pattern".to_owned()),
            PruneBackups => prune_backups(value).or_else(invalid),
            Bwlimit => {
                property_string(value, BWLIMIT_KEYS, |v| is_number(v) && !v.starts_with('-'))
                    .map(drop)
                    .or_else(invalid)
            }
        }
    }
}

/// `enum`: the value as one of the words, compared as text.
fn enumeration<S: AsRef<str>>(value: &str, allowed: &[S]) -> Result<(), String> {
    if allowed.iter().any(|word| word.as_ref() == value) {
        return Ok(());
    }
    let words: Vec<&str> = allowed.iter().map(AsRef::as_ref).collect();
    Err(format!(
        "value '{value}' does not have a value in the enumeration '{}'",
        words.join(", ")
    ))
}

/// A `-list` format: every item of the list passes `ok`.
fn each(value: &str, ok: fn(&str) -> bool, reason: &str) -> Result<(), String> {
    if split_list(value).all(ok) {
        Ok(())
    } else {
        Err(reason.to_owned())
    }
}

/// `m|^/[^;\(\)]+|`: a slash, then a character other than `;()`.
fn is_storage_path(value: &str) -> bool {
    value
        .strip_prefix('/')
        .and_then(|rest| rest.chars().next())
        .is_some_and(|c| !";()".contains(c))
}

/// `pve_verify_dns_name`: labels as node names are, joined by dots.
fn is_dns_name(value: &str) -> bool {
    value.split('.').all(is_node_name)
}

/// `^[a-z0-9][a-z0-9\-\_\.]*[a-z0-9]$`, ignoring case.
fn is_lvm_name(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() >= 2
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b))
}

/// `^([a-z][a-z0-9\-\_\.]*[a-z0-9]):(.+)$`, ignoring case.
fn is_volume_id(value: &str) -> bool {
    value.split_once(':').is_some_and(|(storage, volume)| {
        super::lexical::is_storage_id(storage) && !volume.is_empty() && !volume.contains('\n')
    })
}

/// `PVE::Tools::parse_host_and_port`: `host[:port]`, `[address][:port]`, or
/// an IPv6 address with an optional `.port`.
fn is_portal(value: &str) -> bool {
    let host = |h: &str| {
        !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    };
    let port =
        |p: Option<&str>| p.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if let Some(rest) = value.strip_prefix('[') {
        let Some((inner, after)) = rest.split_once(']') else {
            return false;
        };
        return (inner.parse::<IpAddr>().is_ok() || host(inner))
            && (after.is_empty() || port(after.strip_prefix(':').or(Some(""))));
    }
    if value.parse::<std::net::Ipv6Addr>().is_ok() {
        return true;
    }
    if let Some((address, p)) = value.rsplit_once('.') {
        if address.parse::<std::net::Ipv6Addr>().is_ok() && port(Some(p)) {
            return true;
        }
    }
    match value.split_once(':') {
        Some((h, p)) => host(h) && port(Some(p)),
        None => host(value),
    }
}

/// `verify_zfs_blocksize`: `[1-9][0-9]*[km]?`, a power of two from 512 B to 16 MiB.
fn is_zfs_blocksize(value: &str) -> bool {
    let (digits, unit) = match value.char_indices().last() {
        Some((at, 'k' | 'K')) => (&value[..at], 1024),
        Some((at, 'm' | 'M')) => (&value[..at], 1024 * 1024),
        _ => (value, 1),
    };
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .is_some_and(|bytes| (512..=16 * 1024 * 1024).contains(&bytes) && bytes.is_power_of_two())
}

/// `$CONFIGID_RE`: `[a-z][a-z0-9_-]+`, ignoring case.
fn is_config_id(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() >= 2
        && bytes[0].is_ascii_alphabetic()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
}

/// `([A-Fa-f0-9]{2}:){31}[A-Fa-f0-9]{2}`.
pub(super) fn is_fingerprint(value: &str) -> bool {
    let pairs: Vec<&str> = value.split(':').collect();
    pairs.len() == 32
        && pairs
            .iter()
            .all(|pair| pair.len() == 2 && pair.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `verify_dir_override`: a content type, `=`, and a relative path without
/// `..`, not ending in a dot, under 1023 characters and 255 per component.
fn is_dir_override(item: &str) -> bool {
    let Some((content, path)) = item.split_once('=') else {
        return false;
    };
    !content.is_empty()
        && content.bytes().all(|b| b.is_ascii_lowercase())
        && CONTENT_TYPES.contains(&content)
        && !path.is_empty()
        && !path.contains("..")
        && !path.ends_with('.')
        && path.len() < 1023
        && path.split('/').all(|part| part.len() < 255)
}

/// `PVE::JSONSchema::is_number`.
fn is_number(value: &str) -> bool {
    let unsigned = value.strip_prefix(['+', '-']).unwrap_or(value);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e.strip_prefix(['+', '-']).unwrap_or(e))),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => {
            (digits(a) || a.is_empty())
                && (digits(b) || b.is_empty())
                && !(a.is_empty() && b.is_empty())
        }
        None => digits(mantissa),
    };
    mantissa_ok && exponent.is_none_or(digits)
}

/// `parse_property_string` for a format of `keys`, each value passing `ok`:
/// the pairs it holds.
fn property_string<'a>(
    value: &'a str,
    keys: &[&str],
    ok: impl Fn(&str) -> bool,
) -> Result<Vec<(&'a str, &'a str)>, String> {
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    for part in value.split(',').filter(|part| !part.trim().is_empty()) {
        let Some((key, item)) = part
            .split_once('=')
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        else {
            return Err(if part.contains('=') {
                "missing key in comma-separated list property".to_owned()
            } else {
                "value without key, but schema does not define a default key".to_owned()
            });
        };
        if pairs.iter().any(|(k, _)| *k == key) {
            return Err(format!(
                "duplicate key in comma-separated list property: {key}"
            ));
        }
        if !keys.contains(&key) {
            return Err(format!(
                "invalid key in comma-separated list property: {key}"
            ));
        }
        if !ok(item) {
            return Err(format!("format error: {key}: '{item}' is not valid"));
        }
        pairs.push((key, item));
    }
    Ok(pairs)
}

/// The `prune-backups` format and its validator: `keep-all` cannot come
/// with another positive option.
fn prune_backups(value: &str) -> Result<(), String> {
    let boolean = |v: &str| {
        matches!(
            v.to_ascii_lowercase().as_str(),
            "0" | "1" | "true" | "false" | "yes" | "no" | "on" | "off"
        )
    };
    let pairs = property_string(value, PRUNE_KEYS, |v| {
        boolean(v) || integer(v).is_some_and(|n| n >= 0)
    })?;
    let mut keep_all = false;
    let mut others = false;
    for (key, item) in pairs {
        if key == "keep-all" {
            if !boolean(item) {
                return Err(format!("format error: keep-all: '{item}' is not a boolean"));
            }
            keep_all = matches!(
                item.to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            );
        } else {
            match integer(item) {
                Some(n) => others |= n > 0,
                None => return Err(format!("format error: {key}: '{item}' is not an integer")),
            }
        }
    }
    if keep_all && others {
        return Err("keep-all cannot be set together with other options.".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_format_takes_what_pve_takes_and_refuses_the_rest() {
        let cases: &[(Format, &[&str], &[&str])] = &[
            (Boolean, &["0", "1"], &["yes", "true", "2", ""]),
            (
                Integer(-1, i64::MAX),
                &["-1", "0", "+5", "12"],
                &["-2", "1.5", "x"],
            ),
            (Integer(1, 65535), &["8007", "65535"], &["0", "65536"]),
            (IntegerOf(&[1, 2, 4]), &["1", "4"], &["3", "04"]),
            (TextUpTo(3), &["abc"], &["abcd"]),
            (
                NodeList,
                &["pve-5,pve-6", "pve-5 pve-6"],
                &["-pve", "pve_5"],
            ),
            (
                ContentList,
                &["images,rootdir", "import", "none"],
                &["disks"],
            ),
            (
                DirOverrideList,
                &["iso=isos", "backup=a/b.c"],
                &["iso=a..b", "x=y", "iso=a."],
            ),
            (StoragePath, &["/mnt/pve/x", "/a;b"], &["mnt", "/", "/;x"]),
            (
                Server,
                &["192.168.93.20", "nas.example.org", "fe80::1"],
                &["nas_1", "a..b"],
            ),
            (LvmName, &["pve", "data.1"], &["p", "-pve", "pve vg"]),
            (VolumeId, &["local-lvm:base-100-disk-0"], &["local", "Z:x"]),
            (
                Portal,
                &[
                    "192.168.10.1:3260",
                    "nas",
                    "[fe80::1]:3260",
                    "fe80::1",
                    "fe80::1.3260",
                ],
                &["a b", "nas:", "nas:x"],
            ),
            (
                PortalList,
                &["10.0.0.1,10.0.0.2;10.0.0.3 mon"],
                &["10.0.0.1,a b:c"],
            ),
            (MountOptions, &["vers=4.2,soft"], &["vers=4.2 soft", ""]),
            (
                ZfsBlocksize,
                &["512", "16k", "1M", "16m"],
                &["1k5", "3k", "32m", "0", "256"],
            ),
            (ConfigId, &["cephfs", "fs_2"], &["2fs", "f"]),
            (
                PruneBackups,
                &[
                    "keep-daily=7,keep-weekly=4",
                    "keep-all=1",
                    "keep-all=1,keep-last=0",
                    "",
                ],
                &[
                    "keep-all=1,keep-last=2",
                    "keep-daily=-1",
                    "keep-daily",
                    "keep-dialy=3",
                    "keep-last=1,keep-last=2",
                ],
            ),
            (
                Bwlimit,
                &["default=100,restore=1.5", "clone=0"],
                &["fast=10", "default=-1", "default"],
            ),
        ];
        for (format, good, bad) in cases {
            for value in *good {
                assert_eq!(format.check(value), Ok(()), "{format:?} {value:?}");
            }
            for value in *bad {
                assert!(format.check(value).is_err(), "{format:?} {value:?}");
            }
        }
        assert!(Fingerprint.check(&vec!["aB"; 32].join(":")).is_ok());
        assert!(Fingerprint.check(&vec!["aB"; 31].join(":")).is_err());
    }
}
