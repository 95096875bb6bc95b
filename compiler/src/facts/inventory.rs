//! facts::inventory: what no push changes on a host besides its links and
//! release, read from what LVM, ZFS and lsblk print: the volume groups with
//! their thin pools, the ZFS datasets, and the disks. A command that did not
//! run leaves its fact unknown (`None`), which decides nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One whole disk, as `lsblk -J -d -b` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disk {
    /// Bytes.
    pub size: Option<u64>,
    pub model: Option<String>,
    pub serial: Option<String>,
}

/// `vgs --noheadings -o vg_name` and `lvs --noheadings --separator : -o
/// vg_name,lv_name,lv_attr` → each volume group with its thin pools (the
/// logical volumes whose attributes start with `t`), sorted.
pub fn volume_groups(vgs: &str, lvs: &str) -> BTreeMap<String, Vec<String>> {
    let mut groups: BTreeMap<String, Vec<String>> = vgs
        .lines()
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| (name.to_owned(), Vec::new()))
        .collect();
    for line in lvs.lines() {
        let mut fields = line.trim().split(':');
        let (Some(vg), Some(lv), Some(attr)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        if attr.starts_with('t') {
            groups.entry(vg.to_owned()).or_default().push(lv.to_owned());
        }
    }
    for pools in groups.values_mut() {
        pools.sort();
    }
    groups
}

/// `zfs list -H -o name` → the dataset names, sorted.
pub fn zfs_datasets(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect();
    names.sort();
    names
}

#[derive(Deserialize)]
struct Lsblk {
    blockdevices: Vec<RawDisk>,
}

#[derive(Deserialize)]
struct RawDisk {
    name: String,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    size: Option<serde_json::Value>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    serial: Option<String>,
}

/// `lsblk -J -d -b -o NAME,SIZE,MODEL,SERIAL,TYPE` → the disks by name
/// (not partitions, ROMs or loop devices); None when it is not that JSON.
pub fn disks(json: &[u8]) -> Option<BTreeMap<String, Disk>> {
    let listed: Lsblk = serde_json::from_slice(json).ok()?;
    let text = |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    Some(
        listed
            .blockdevices
            .into_iter()
            .filter(|disk| disk.kind.as_deref() == Some("disk"))
            .map(|disk| {
                // Older lsblk prints the size as a string even with -b.
                let size = match disk.size {
                    Some(serde_json::Value::Number(n)) => n.as_u64(),
                    Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
                    _ => None,
                };
                let found = Disk {
                    size,
                    model: text(disk.model),
                    serial: text(disk.serial),
                };
                (disk.name, found)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_groups_hold_their_thin_pools() {
        let vgs = "  pve\n  backup\n";
        let lvs = "  pve:data:twi-aotz--\n  pve:root:-wi-ao----\n  pve:swap:-wi-ao----\n  pve:vm-100-disk-0:Vwi-aotz--\n";
        let groups = volume_groups(vgs, lvs);
        assert_eq!(groups["pve"], ["data"]);
        assert_eq!(groups["backup"], Vec::<String>::new());
        assert_eq!(groups.len(), 2);
    }

    #[test]
    fn datasets_are_listed_by_name() {
        assert_eq!(
            zfs_datasets("rpool\nrpool/data\nrpool/ROOT\n\n"),
            ["rpool", "rpool/ROOT", "rpool/data"]
        );
    }

    #[test]
    fn disks_are_whole_disks_only() {
        let json = br#"{"blockdevices": [
            {"name":"sda","size":240057409536,"model":"SAMSUNG MZ7LM240","serial":"S2TENX0H","type":"disk"},
            {"name":"sr0","size":1073741312,"model":"Virtual CD","serial":null,"type":"rom"},
            {"name":"sdb","size":"1920383410176","model":"INTEL SSDSC2KB019T7 ","serial":"BTYS1234","type":"disk"}
        ]}"#;
        let disks = disks(json).unwrap();
        assert_eq!(disks.len(), 2);
        assert_eq!(disks["sda"].size, Some(240_057_409_536));
        assert_eq!(disks["sdb"].model.as_deref(), Some("INTEL SSDSC2KB019T7"));
        assert_eq!(super::disks(b"lsblk: not found"), None);
    }
}
