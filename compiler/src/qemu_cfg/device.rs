//! A VM's disks and NICs, read from their property strings as
//! `PVE::JSONSchema::parse_property_string` splits them (`key=value` parts
//! between commas, the part without `=` for the default key).

use std::collections::BTreeMap;

/// qemu-server's NIC models (Network.pm `$nic_model_list`); each is also a
/// key whose value is the MAC.
pub const NIC_MODELS: [&str; 14] = [
    "e1000",
    "e1000-82540em",
    "e1000-82544gc",
    "e1000-82545em",
    "e1000e",
    "i82551",
    "i82557b",
    "i82559er",
    "ne2k_isa",
    "ne2k_pci",
    "pcnet",
    "rtl8139",
    "virtio",
    "vmxnet3",
];

/// `key=value` parts and the one part without `=`, blank parts skipped.
fn parts(value: &str) -> (Option<&str>, BTreeMap<&str, &str>) {
    let mut default = None;
    let mut keyed = BTreeMap::new();
    for part in value.split(',').filter(|part| !part.trim().is_empty()) {
        match part.split_once('=') {
            Some((key, value)) => {
                keyed.entry(key).or_insert(value);
            }
            None => default = default.or(Some(part)),
        }
    }
    (default, keyed)
}

/// A disk or CD-ROM line (`scsi0: local-zfs:vm-230-disk-0,size=32G`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drive {
    /// The volume: `storage:volume`, a path under /dev, `none` or `cdrom`.
    pub file: String,
    /// Bytes, from `size=` (`parse_size`).
    pub size: Option<u64>,
    /// `media=cdrom`.
    pub cdrom: bool,
}

impl Drive {
    pub fn parse(value: &str) -> Option<Drive> {
        let (default, keyed) = parts(value);
        let file = keyed
            .get("file")
            .or_else(|| keyed.get("volume"))
            .copied()
            .or(default)?;
        Some(Drive {
            file: file.to_owned(),
            size: keyed.get("size").and_then(|size| parse_size(size)),
            cdrom: keyed.get("media") == Some(&"cdrom"),
        })
    }

    /// The storage of a `storage:volume` file.
    pub fn storage(&self) -> Option<&str> {
        if self.file.starts_with('/') {
            return None;
        }
        self.file.split_once(':').map(|(storage, _)| storage)
    }

    /// A disk with data of its own: not a CD-ROM, not `none`.
    pub fn holds_data(&self) -> bool {
        !self.cdrom && self.file != "none" && self.file != "cdrom"
    }
}

/// A NIC line (`net0: virtio=BC:24:11:00:02:30,bridge=vmbr0,tag=10`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nic {
    pub model: Option<String>,
    /// Upper case, as PVE compares them.
    pub mac: Option<String>,
    pub bridge: Option<String>,
    pub tag: Option<String>,
    pub trunks: Option<String>,
    pub link_down: bool,
}

impl Nic {
    pub fn parse(value: &str) -> Nic {
        let (default, keyed) = parts(value);
        let aliased = NIC_MODELS
            .iter()
            .find_map(|model| keyed.get(model).map(|mac| (*model, *mac)));
        let model = keyed
            .get("model")
            .copied()
            .or(aliased.map(|(model, _)| model))
            .or(default);
        let mac = keyed
            .get("macaddr")
            .copied()
            .or(aliased.map(|(_, mac)| mac));
        let owned = |key: &str| keyed.get(key).map(|value| (*value).to_owned());
        Nic {
            model: model.map(str::to_owned),
            mac: mac.map(str::to_ascii_uppercase),
            bridge: owned("bridge"),
            tag: owned("tag"),
            trunks: owned("trunks"),
            link_down: matches!(keyed.get("link_down"), Some(&("1" | "on" | "yes" | "true"))),
        }
    }
}

/// Bytes in a disk size as `PVE::JSONSchema::parse_size` reads it
/// (`32G`, `512M`, `1.5T`, `10GiB`, plain bytes).
pub fn parse_size(text: &str) -> Option<u64> {
    let number_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(number_end);
    let valid = match number.split_once('.') {
        Some((whole, fraction)) => {
            !whole.is_empty() && !fraction.is_empty() && !fraction.contains('.')
        }
        None => !number.is_empty(),
    };
    if !valid || !number.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let shift = match unit {
        "" => 0,
        "K" | "KiB" => 10,
        "M" | "MiB" => 20,
        "G" | "GiB" => 30,
        "T" | "TiB" => 40,
        _ => return None,
    };
    let value: f64 = number.parse().ok()?;
    // `int($size)` after the multiplication, as Perl does.
    Some((value * (1u64 << shift) as f64) as u64)
}

/// A size as `PVE::JSONSchema::format_size` writes it: the largest unit
/// that divides it (`2T`, `32G`, `1536M`), else bytes.
pub fn format_size(bytes: u64) -> String {
    let mut value = bytes;
    for unit in ["", "K", "M", "G"] {
        if !value.is_multiple_of(1024) {
            return format!("{value}{unit}");
        }
        value /= 1024;
    }
    format!("{value}T")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drives_read_as_parse_drive_reads_them() {
        let drive = Drive::parse("local-zfs:vm-230-disk-1,discard=on,size=2T").unwrap();
        assert_eq!(drive.file, "local-zfs:vm-230-disk-1");
        assert_eq!(drive.storage(), Some("local-zfs"));
        assert_eq!(drive.size, Some(2 << 40));
        assert!(drive.holds_data());
        let aliased = Drive::parse("size=32G,volume=local-lvm:vm-100-disk-0").unwrap();
        assert_eq!(aliased.file, "local-lvm:vm-100-disk-0");
        let cdrom = Drive::parse("local:iso/debian.iso,media=cdrom").unwrap();
        assert!(!cdrom.holds_data());
        assert_eq!(
            Drive::parse("/dev/disk/by-id/ata-X").unwrap().storage(),
            None
        );
        assert_eq!(Drive::parse("size=1G"), None);
    }

    #[test]
    fn nics_read_model_mac_bridge_and_vlan() {
        let nic = Nic::parse("virtio=bc:24:11:00:02:30,bridge=vmbr0,firewall=1,tag=101");
        assert_eq!(nic.model.as_deref(), Some("virtio"));
        assert_eq!(nic.mac.as_deref(), Some("BC:24:11:00:02:30"));
        assert_eq!(nic.bridge.as_deref(), Some("vmbr0"));
        assert_eq!(nic.tag.as_deref(), Some("101"));
        let explicit = Nic::parse("model=e1000,macaddr=AA:BB:CC:DD:EE:FF,link_down=1");
        assert_eq!(explicit.model.as_deref(), Some("e1000"));
        assert_eq!(explicit.mac.as_deref(), Some("AA:BB:CC:DD:EE:FF"));
        assert!(explicit.link_down && explicit.bridge.is_none());
    }

    #[test]
    fn sizes_as_parse_size_and_format_size() {
        assert_eq!(parse_size("32G"), Some(32 << 30));
        assert_eq!(parse_size("1.5T"), Some(3 << 39));
        assert_eq!(parse_size("10GiB"), Some(10 << 30));
        assert_eq!(parse_size("4096"), Some(4096));
        for bad in ["", "G", "1.G", ".5G", "1..2G", "32g", "1E"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
        assert_eq!(format_size(2 << 40), "2T");
        assert_eq!(format_size(1536 << 20), "1536M");
        assert_eq!(format_size(4097), "4097");
    }
}
