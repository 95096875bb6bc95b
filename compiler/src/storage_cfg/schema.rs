//! The storage types and properties of pve-storage's plugins, as its source
//! defines them: each `*Plugin.pm`'s `options` (which properties a type
//! has, required or optional, fixed at creation or not) and `plugindata`
//! (content types, image formats), and the shared property list
//! (`Plugin.pm`'s `$defaultData` and every plugin's `properties`), which
//! SectionConfig merges into one: a property has one format for all types.
//!
//! This table is the one description of PVE's storage model in lugc: the
//! PVE reading ([`super::read`]), the strict one (tests/storage_cfg/) and,
//! through the Nickel data generated from it ([`super::nickel`]), lib/'s
//! contract and renderer all use it.

pub use super::format::Format;
use super::format::Format::{
    Boolean, Bwlimit, ConfigId, ContentList, DirOverrideList, Fingerprint, Integer, IntegerOf,
    LvmName, MountOptions, NodeList, OneOf, Portal, PortalList, PruneBackups, Server, StoragePath,
    Text, TextUpTo, VolumeId, ZfsBlocksize,
};

/// The sources the tables below are read from.
pub const SOURCE: &str = "pve-storage 9.1.7, pve-common 9.2.1";

/// How a type's `options` list a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// `fixed => 1`: required, and set only when the storage is created.
    Fixed,
    /// `{}`: required, and may change.
    Required,
    /// `fixed => 1, optional => 1`: may be left out; set only at creation.
    FixedOptional,
    /// `optional => 1`.
    Optional,
}

use Need::{Fixed, FixedOptional, Optional as O, Required};

impl Need {
    /// Whether a section without the property is skipped.
    pub fn required(self) -> bool {
        matches!(self, Fixed | Required)
    }

    pub fn name(self) -> &'static str {
        match self {
            Fixed => "fixed",
            Required => "required",
            FixedOptional => "fixed_optional",
            O => "optional",
        }
    }
}

/// One storage type: its plugin's `options` and `plugindata`.
#[derive(Debug)]
pub struct TypeSpec {
    pub name: &'static str,
    /// `options`, sorted by name.
    pub options: &'static [(&'static str, Need)],
    /// `plugindata.content[0]`: the content types it may hold.
    pub content: &'static [&'static str],
    /// `plugindata.content[1]`: what a section without `content` holds.
    pub default_content: &'static [&'static str],
    /// `plugindata.format[0]`: the image formats `format` may name.
    pub formats: &'static [&'static str],
    /// In `@PVE::Storage::Plugin::SHARED_STORAGE`: the same storage on every
    /// node that has it (PVE sets `shared` on reading).
    pub shared: bool,
}

/// A property PVE keeps out of storage.cfg (`sensitive-properties` that
/// its plugins store under /etc/pve/priv/ instead), and where it keeps it
/// (`{id}` is the storage id).
pub const SECRETS: &[(&str, &str)] = &[
    ("keyring", "/etc/pve/priv/ceph/{id}.keyring"),
    ("password", "/etc/pve/priv/storage/{id}.pw"),
];

/// The shared property list, sorted by name (`type` and `storage` left out).
pub const PROPERTIES: &[(&str, Format)] = &[
    ("authsupported", Text),
    ("base", VolumeId),
    ("blocksize", ZfsBlocksize),
    ("bwlimit", Bwlimit),
    ("comstar_hg", Text),
    ("comstar_tg", Text),
    ("content", ContentList),
    ("content-dirs", DirOverrideList),
    ("create-base-path", Boolean),
    ("create-subdirs", Boolean),
    ("data-pool", Text),
    ("datastore", Text),
    ("disable", Boolean),
    ("domain", TextUpTo(256)),
    ("encryption-key", Text),
    ("export", StoragePath),
    ("fingerprint", Fingerprint),
    ("format", OneOf(&["raw", "qcow2", "subvol", "vmdk"])),
    ("fs-name", ConfigId),
    ("fuse", Boolean),
    ("is_mountpoint", Text),
    ("iscsiprovider", Text),
    ("keyring", Text),
    ("krbd", Boolean),
    ("lio_tpg", Text),
    ("master-pubkey", Text),
    ("max-protected-backups", Integer(-1, i64::MAX)),
    ("mkdir", Boolean),
    ("monhost", PortalList),
    ("mountpoint", StoragePath),
    ("namespace", Text),
    ("nocow", Boolean),
    ("nodes", NodeList),
    ("nowritecache", Boolean),
    ("options", MountOptions),
    ("password", TextUpTo(256)),
    ("path", StoragePath),
    ("pool", Text),
    ("port", Integer(1, 65535)),
    ("portal", Portal),
    (
        "preallocation",
        OneOf(&["off", "metadata", "falloc", "full"]),
    ),
    ("prune-backups", PruneBackups),
    ("saferemove", Boolean),
    ("saferemove-stepsize", IntegerOf(&[1, 2, 4, 8, 16, 32])),
    ("saferemove_throughput", Text),
    ("server", Server),
    ("share", Text),
    ("shared", Boolean),
    ("skip-cert-verification", Boolean),
    (
        "smbversion",
        OneOf(&["default", "2.0", "2.1", "3", "3.0", "3.11"]),
    ),
    ("snapshot-as-volume-chain", Boolean),
    ("sparse", Boolean),
    ("subdir", StoragePath),
    ("tagged_only", Boolean),
    ("target", Text),
    ("thinpool", LvmName),
    ("username", Text),
    ("vgname", LvmName),
    ("zfs-base-path", StoragePath),
];

const ALL_CONTENT: &[&str] = super::format::CONTENT_TYPES;
const FILE_CONTENT: &[&str] = &[
    "images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import",
];
const GUEST_CONTENT: &[&str] = &["images", "rootdir"];

/// The 14 storage types of pve-storage 9.1.7, by name.
pub const TYPES: &[TypeSpec] = &[
    TypeSpec {
        name: "btrfs",
        options: &[
            ("content", O),
            ("create-base-path", O),
            ("create-subdirs", O),
            ("disable", O),
            ("format", O),
            ("is_mountpoint", O),
            ("max-protected-backups", O),
            ("mkdir", O),
            ("nocow", O),
            ("nodes", O),
            ("path", Fixed),
            ("preallocation", O),
            ("prune-backups", O),
            ("shared", O),
        ],
        content: ALL_CONTENT,
        default_content: GUEST_CONTENT,
        formats: &["raw", "subvol"],
        shared: false,
    },
    TypeSpec {
        name: "cephfs",
        options: &[
            ("bwlimit", O),
            ("content", O),
            ("content-dirs", O),
            ("create-base-path", O),
            ("create-subdirs", O),
            ("disable", O),
            ("format", O),
            ("fs-name", O),
            ("fuse", O),
            ("keyring", O),
            ("max-protected-backups", O),
            ("mkdir", O),
            ("monhost", O),
            ("nodes", O),
            ("options", O),
            ("path", Fixed),
            ("prune-backups", O),
            ("subdir", O),
            ("username", O),
        ],
        content: &["vztmpl", "iso", "backup", "snippets", "import"],
        default_content: &["backup"],
        formats: &[],
        shared: true,
    },
    TypeSpec {
        name: "cifs",
        options: &[
            ("bwlimit", O),
            ("content", O),
            ("content-dirs", O),
            ("create-base-path", O),
            ("create-subdirs", O),
            ("disable", O),
            ("domain", O),
            ("format", O),
            ("max-protected-backups", O),
            ("mkdir", O),
            ("nodes", O),
            ("options", O),
            ("password", O),
            ("path", Fixed),
            ("preallocation", O),
            ("prune-backups", O),
            ("server", Fixed),
            ("share", Fixed),
            ("smbversion", O),
            ("snapshot-as-volume-chain", FixedOptional),
            ("subdir", O),
            ("username", O),
        ],
        content: FILE_CONTENT,
        default_content: &["images"],
        formats: &["raw", "qcow2", "vmdk"],
        shared: true,
    },
    TypeSpec {
        name: "dir",
        options: &[
            ("bwlimit", O),
            ("content", O),
            ("content-dirs", O),
            ("create-base-path", O),
            ("create-subdirs", O),
            ("disable", O),
            ("format", O),
            ("is_mountpoint", O),
            ("max-protected-backups", O),
            ("mkdir", O),
            ("nodes", O),
            ("path", Fixed),
            ("preallocation", O),
            ("prune-backups", O),
            ("shared", O),
            ("snapshot-as-volume-chain", FixedOptional),
        ],
        content: ALL_CONTENT,
        default_content: GUEST_CONTENT,
        formats: &["raw", "qcow2", "vmdk", "subvol"],
        shared: false,
    },
    TypeSpec {
        name: "esxi",
        options: &[
            ("content", O),
            ("disable", O),
            ("nodes", O),
            ("password", O),
            ("port", O),
            ("server", Required),
            ("shared", O),
            ("skip-cert-verification", O),
            ("username", Required),
        ],
        content: &["import"],
        default_content: &["import"],
        formats: &["raw", "qcow2", "vmdk"],
        shared: false,
    },
    TypeSpec {
        name: "iscsi",
        options: &[
            ("bwlimit", O),
            ("content", O),
            ("disable", O),
            ("nodes", O),
            ("portal", Fixed),
            ("target", Fixed),
        ],
        content: &["images", "none"],
        default_content: &["images"],
        formats: &[],
        shared: true,
    },
    TypeSpec {
        name: "iscsidirect",
        options: &[
            ("bwlimit", O),
            ("content", O),
            ("disable", O),
            ("nodes", O),
            ("portal", Fixed),
            ("target", Fixed),
        ],
        content: &["images", "none"],
        default_content: &["images"],
        formats: &[],
        shared: true,
    },
    TypeSpec {
        name: "lvm",
        options: &[
            ("base", FixedOptional),
            ("bwlimit", O),
            ("content", O),
            ("disable", O),
            ("nodes", O),
            ("saferemove", O),
            ("saferemove-stepsize", O),
            ("saferemove_throughput", O),
            ("shared", O),
            ("snapshot-as-volume-chain", O),
            ("tagged_only", O),
            ("vgname", Fixed),
        ],
        content: GUEST_CONTENT,
        default_content: &["images"],
        formats: &["raw", "qcow2"],
        shared: false,
    },
    TypeSpec {
        name: "lvmthin",
        options: &[
            ("bwlimit", O),
            ("content", O),
            ("disable", O),
            ("nodes", O),
            ("thinpool", Fixed),
            ("vgname", Fixed),
        ],
        content: GUEST_CONTENT,
        default_content: GUEST_CONTENT,
        formats: &[],
        shared: false,
    },
    TypeSpec {
        name: "nfs",
        options: &[
            ("bwlimit", O),
            ("content", O),
            ("content-dirs", O),
            ("create-base-path", O),
            ("create-subdirs", O),
            ("disable", O),
            ("export", Fixed),
            ("format", O),
            ("max-protected-backups", O),
            ("mkdir", O),
            ("nodes", O),
            ("options", O),
            ("path", Fixed),
            ("preallocation", O),
            ("prune-backups", O),
            ("server", Fixed),
            ("snapshot-as-volume-chain", FixedOptional),
        ],
        content: FILE_CONTENT,
        default_content: &["images"],
        formats: &["raw", "qcow2", "vmdk"],
        shared: true,
    },
    TypeSpec {
        name: "pbs",
        options: &[
            ("content", O),
            ("datastore", Fixed),
            ("disable", O),
            ("encryption-key", O),
            // "optional for trusted certs" (PBSPlugin.pm).
            ("fingerprint", O),
            ("master-pubkey", O),
            ("max-protected-backups", O),
            ("namespace", O),
            ("nodes", O),
            ("password", O),
            ("port", O),
            ("prune-backups", O),
            ("server", Fixed),
            ("username", O),
        ],
        content: &["backup", "none"],
        default_content: &["backup"],
        formats: &[],
        shared: true,
    },
    TypeSpec {
        name: "rbd",
        options: &[
            ("bwlimit", O),
            ("content", O),
            ("data-pool", O),
            ("disable", O),
            ("keyring", O),
            ("krbd", O),
            ("monhost", O),
            ("namespace", O),
            ("nodes", O),
            ("pool", O),
            ("username", O),
        ],
        content: GUEST_CONTENT,
        default_content: &["images"],
        formats: &[],
        shared: true,
    },
    TypeSpec {
        name: "zfs",
        options: &[
            ("blocksize", Fixed),
            ("bwlimit", O),
            ("comstar_hg", O),
            ("comstar_tg", O),
            ("content", O),
            ("disable", O),
            ("iscsiprovider", Fixed),
            ("lio_tpg", O),
            ("nodes", O),
            ("nowritecache", O),
            ("pool", Fixed),
            ("portal", Fixed),
            ("sparse", O),
            ("target", Fixed),
            ("zfs-base-path", O),
        ],
        content: &["images"],
        default_content: &["images"],
        formats: &[],
        shared: true,
    },
    TypeSpec {
        name: "zfspool",
        options: &[
            ("blocksize", O),
            ("bwlimit", O),
            ("content", O),
            ("disable", O),
            ("mountpoint", O),
            ("nodes", O),
            ("pool", Fixed),
            ("sparse", O),
        ],
        content: GUEST_CONTENT,
        default_content: GUEST_CONTENT,
        formats: &["raw", "subvol"],
        shared: false,
    },
];

impl TypeSpec {
    /// The property's format and need, when the type has it.
    pub fn property(&self, key: &str) -> Option<(Format, Need)> {
        let need = self
            .options
            .iter()
            .find(|(k, _)| *k == key)
            .map(|&(_, need)| need)?;
        Some((format_of(key)?, need))
    }

    pub fn required(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.options
            .iter()
            .filter(|(_, need)| need.required())
            .map(|(key, _)| *key)
    }
}

/// The storage type `name`, if pve-storage has it.
pub fn spec(name: &str) -> Option<&'static TypeSpec> {
    TYPES.iter().find(|spec| spec.name == name)
}

/// A property's format in the shared property list.
pub fn format_of(key: &str) -> Option<Format> {
    PROPERTIES
        .iter()
        .find(|(k, _)| *k == key)
        .map(|&(_, format)| format)
}

/// Whether the value of property `key` is text PVE does not hold to a
/// format (which could hold anything, a secret too): a text property, mount
/// options, a property pve-storage does not know. The others are numbers,
/// names, paths, lists of them, or `key=number` options.
pub fn free_text(key: &str) -> bool {
    use super::format::Format::{MountOptions, Text, TextUpTo};
    key != "type"
        && format_of(key).is_none_or(|format| matches!(format, Text | TextUpTo(_) | MountOptions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_is_a_property_as_sectionconfig_requires() {
        for spec in TYPES {
            for (key, _) in spec.options {
                assert!(format_of(key).is_some(), "{}: {key}", spec.name);
            }
            let keys: Vec<&str> = spec.options.iter().map(|(k, _)| *k).collect();
            assert!(keys.is_sorted(), "{}: options sorted", spec.name);
            assert!(spec
                .default_content
                .iter()
                .all(|c| spec.content.contains(c)));
        }
        let names: Vec<&str> = TYPES.iter().map(|spec| spec.name).collect();
        assert!(names.is_sorted());
        assert_eq!(names.len(), 14);
        let properties: Vec<&str> = PROPERTIES.iter().map(|(k, _)| *k).collect();
        assert!(properties.is_sorted());
        // Every property some type uses, but RBD's `authsupported`, which
        // RBDPlugin.pm defines and no type's options list.
        for key in properties {
            let used = TYPES.iter().any(|spec| spec.property(key).is_some());
            assert_eq!(used, key != "authsupported", "{key}");
        }
        for (key, _) in SECRETS {
            assert!(format_of(key).is_some(), "{key}");
        }
    }
}
