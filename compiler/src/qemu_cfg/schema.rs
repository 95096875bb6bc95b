//! The keys of qemu-server 9.2.6's `$confdesc` (and `$confdesc_cloudinit`)
//! with the types `check_type` checks, and its drive keys.

/// What `check_type` does with a key's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Type {
    /// 0 or 1; `on|yes|true` and `off|no|false` in any case.
    Boolean,
    /// Digits, leading zeros dropped.
    Integer,
    /// `\d+(\.\d+)?`, kept as written.
    Number,
    /// A string with a format (a property string, a volume…): kept as written.
    Formatted,
    /// A string without a format: surrounding double quotes are dropped.
    Plain,
}

const BOOLEANS: [&str; 15] = [
    "acpi",
    "allow-ksm",
    "autostart",
    "ciupgrade",
    "freeze",
    "keephugepages",
    "kvm",
    "localtime",
    "numa",
    "onboot",
    "protection",
    "reboot",
    "tablet",
    "tdf",
    "template",
];

const INTEGERS: [&str; 9] = [
    "balloon",
    "cores",
    "cpuunits",
    "migrate_speed",
    "shares",
    "smp",
    "snaptime",
    "sockets",
    "vcpus",
];

const NUMBERS: [&str; 2] = ["cpulimit", "migrate_downtime"];

const PLAIN: [&str; 17] = [
    "arch",
    "bios",
    "citype",
    "cipassword",
    "ciuser",
    "description",
    "hugepages",
    "keyboard",
    "lock",
    "ostype",
    "running-nets-host-mtu",
    "runningcpu",
    "scsihw",
    "searchdomain",
    "startdate",
    "vmgenid",
    // `args` has a branch of its own in the parser; listed for completeness.
    "args",
];

const FORMATTED: [&str; 32] = [
    "affinity",
    "agent",
    "amd-sev",
    "audio0",
    "boot",
    "bootdisk",
    "cdrom",
    "cicustom",
    "cpu",
    "efidisk0",
    "hookscript",
    "hotplug",
    "intel-tdx",
    "ivshmem",
    "machine",
    "memory",
    "meta",
    "name",
    "nameserver",
    "parent",
    "rng0",
    "runningmachine",
    "smbios1",
    "spice_enhancements",
    "sshkeys",
    "startup",
    "tags",
    "tpmstate0",
    "vga",
    "vmstate",
    "vmstatestorage",
    "watchdog",
];

/// Numbered keys: prefix and how many (`net0` … `net31`).
const FAMILIES: [(&str, u32); 13] = [
    ("hostpci", 16),
    ("ide", 4),
    ("ipconfig", 32),
    ("net", 32),
    ("numa", 8),
    ("parallel", 3),
    ("sata", 6),
    ("scsi", 31),
    ("serial", 4),
    ("unused", 256),
    ("usb", 14),
    ("virtio", 16),
    ("virtiofs", 10),
];

/// Numbered keys that hold a disk (`unused` ones are not attached).
const DRIVE_FAMILIES: [&str; 5] = ["ide", "sata", "scsi", "virtio", "unused"];

/// The type `check_type` gives `key` in a VM's main, pending or snapshot
/// section; `None` for a key PVE does not know (it drops the line).
pub(super) fn key_type(key: &str) -> Option<Type> {
    if BOOLEANS.contains(&key) {
        return Some(Type::Boolean);
    }
    if INTEGERS.contains(&key) {
        return Some(Type::Integer);
    }
    if NUMBERS.contains(&key) {
        return Some(Type::Number);
    }
    if PLAIN.contains(&key) {
        return Some(Type::Plain);
    }
    if FORMATTED.contains(&key) || numbered(key).is_some() {
        return Some(Type::Formatted);
    }
    None
}

/// The fleecing section knows one key.
pub(super) fn fleecing_type(key: &str) -> Option<Type> {
    (key == "fleecing-images").then_some(Type::Formatted)
}

/// `(prefix, index)` of a numbered key within its family's range.
fn numbered(key: &str) -> Option<(&str, u32)> {
    let digits = key.trim_start_matches(|c: char| !c.is_ascii_digit());
    let prefix = &key[..key.len() - digits.len()];
    if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
        return None;
    }
    let index: u32 = digits.parse().ok()?;
    FAMILIES
        .iter()
        .any(|&(family, count)| family == prefix && index < count)
        .then_some((prefix, index))
}

/// Whether `key` holds a disk or CD-ROM: ideN, sataN, scsiN, virtioN,
/// efidisk0, tpmstate0, or unusedN (a disk the VM owns but does not attach).
pub fn is_drive(key: &str) -> bool {
    key == "efidisk0"
        || key == "tpmstate0"
        || numbered(key).is_some_and(|(prefix, _)| DRIVE_FAMILIES.contains(&prefix))
}

/// Whether `key` is a NIC (`net0` … `net31`).
pub fn is_nic(key: &str) -> bool {
    numbered(key).is_some_and(|(prefix, _)| prefix == "net")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_typed_as_check_type_does() {
        assert_eq!(key_type("onboot"), Some(Type::Boolean));
        assert_eq!(key_type("cores"), Some(Type::Integer));
        assert_eq!(key_type("cpulimit"), Some(Type::Number));
        assert_eq!(key_type("ostype"), Some(Type::Plain));
        assert_eq!(key_type("smbios1"), Some(Type::Formatted));
        assert_eq!(key_type("scsi30"), Some(Type::Formatted));
        assert_eq!(key_type("scsi31"), None);
        assert_eq!(key_type("net031"), None);
        assert_eq!(key_type("unused255"), Some(Type::Formatted));
        assert_eq!(key_type("fleecing-images"), None);
        assert_eq!(key_type("nonsense"), None);
        assert!(is_drive("efidisk0") && is_drive("unused3") && is_drive("ide2"));
        assert!(!is_drive("net0") && is_nic("net31") && !is_nic("net32"));
    }
}
