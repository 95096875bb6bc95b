//! VM configs: the config removed, a disk removed, shrunk or moved to
//! another storage, a NIC removed or its bridge, MAC, VLAN or link changed,
//! a snapshot forgotten. Both sides read as `parse_vm_config` reads them.

use std::collections::{BTreeMap, BTreeSet};

use crate::qemu_cfg::{self, format_size, is_drive, is_nic, Drive, Nic, Section};

use super::{Harm, Kind};

/// The disks of a section that hold data, by key (`unusedN` included).
fn disks(section: &Section) -> BTreeMap<&str, Drive> {
    section
        .values
        .iter()
        .filter(|(key, _)| is_drive(key))
        .filter_map(|(key, value)| Some((key.as_str(), Drive::parse(value)?)))
        .filter(|(_, drive)| drive.holds_data())
        .collect()
}

fn described(drive: &Drive) -> String {
    match drive.size {
        Some(size) => format!("{}, {}", drive.file, format_size(size)),
        None => drive.file.clone(),
    }
}

/// Which VMs (by id) have a NIC on each bridge, over every VM config given.
pub(super) fn bridge_users<'a>(
    files: impl Iterator<Item = (&'a String, &'a Vec<u8>)>,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut users: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, bytes) in files {
        let Some(id) = qemu_cfg::vm_id(path) else {
            continue;
        };
        let config = qemu_cfg::read(&super::text(bytes)).config;
        for (key, value) in &config.main.values {
            if let Some(bridge) = is_nic(key).then(|| Nic::parse(value).bridge).flatten() {
                users.entry(bridge).or_default().insert(id.to_owned());
            }
        }
    }
    users
}

/// The node of a VM config's path under `/etc/pve/nodes/`.
fn node(path: &str) -> Option<&str> {
    path.strip_prefix("/etc/pve/nodes/")?.split('/').next()
}

/// VM `id`'s config leaves `from` for `to`, another node's directory.
pub(super) fn moved(from: &str, to: &str, id: &str) -> Harm {
    let place = |path| node(path).map_or("this node".to_owned(), |node| format!("node {node}"));
    Harm::new(
        Kind::VmMoved,
        from,
        format!(
            "VM {id}'s config moves from {} to {}: PVE no longer manages it where it runs now, and its disks must be reachable from {}",
            place(from),
            place(to),
            place(to)
        ),
    )
}

pub(super) fn harms(path: &str, id: &str, before: &str, after: Option<&str>) -> Vec<Harm> {
    let old = qemu_cfg::read(before).config;
    let Some(after) = after else {
        let left: Vec<String> = disks(&old.main)
            .iter()
            .map(|(key, drive)| format!("{key} {}", described(drive)))
            .collect();
        let disks = if left.is_empty() {
            String::new()
        } else {
            format!(
                "; its disks stay on their storage without a VM: {}",
                left.join(", ")
            )
        };
        return vec![Harm::new(
            Kind::VmRemoved,
            path,
            format!("VM {id}'s configuration is removed: PVE forgets the VM{disks}"),
        )];
    };
    let new = qemu_cfg::read(after).config;
    let mut harms = disk_harms(path, id, &old.main, &new.main);
    harms.extend(nic_harms(path, id, &old.main, &new.main));
    for name in old.snapshots.keys() {
        if !new.snapshots.contains_key(name) {
            harms.push(Harm::new(
                Kind::SnapshotRemoved,
                path,
                format!("VM {id}'s snapshot `{name}` is forgotten: PVE can no longer roll back to it or remove it"),
            ));
        }
    }
    harms
}

fn disk_harms(path: &str, id: &str, old: &Section, new: &Section) -> Vec<Harm> {
    let (old, new) = (disks(old), disks(new));
    let attached = |key: &str| !key.starts_with("unused");
    let mut harms = Vec::new();
    for (key, drive) in &old {
        let kept = new
            .iter()
            .filter(|(_, other)| other.file == drive.file)
            .min_by_key(|(other_key, _)| !attached(other_key));
        let words = match (kept, new.get(key)) {
            (Some((new_key, _)), _) if attached(key) && !attached(new_key) => (
                Kind::DiskRemoved,
                format!("VM {id} loses {key} ({}): the disk is detached, left as {new_key}", described(drive)),
            ),
            (Some((_, other)), _) => match (drive.size, other.size) {
                (Some(was), Some(now)) if now < was => (
                    Kind::DiskShrunk,
                    format!(
                        "VM {id}'s {key} ({}) shrinks from {} to {} in its config: PVE sizes resizes and copies of the disk by it",
                        drive.file,
                        format_size(was),
                        format_size(now)
                    ),
                ),
                _ => continue,
            },
            (None, Some(other)) if attached(key) && other.storage() != drive.storage() => (
                Kind::DiskMoved,
                format!(
                    "VM {id}'s {key} moves from {} to {}: the disk on {} is detached, and the VM starts on the other volume",
                    described(drive),
                    described(other),
                    drive.storage().unwrap_or("its path")
                ),
            ),
            (None, Some(other)) => (
                Kind::DiskRemoved,
                format!("VM {id}'s {key} ({}) is replaced by {}: the disk is detached", described(drive), other.file),
            ),
            (None, None) if attached(key) => (
                Kind::DiskRemoved,
                format!("VM {id} loses {key} ({}): the disk is detached and no longer belongs to the VM", described(drive)),
            ),
            (None, None) => (
                Kind::DiskRemoved,
                format!("VM {id} forgets {key} ({}): the volume no longer belongs to the VM", described(drive)),
            ),
        };
        harms.push(Harm::new(words.0, path, words.1));
    }
    harms
}

fn nic_harms(path: &str, id: &str, old: &Section, new: &Section) -> Vec<Harm> {
    let mut harms = Vec::new();
    for (key, value) in old.values.iter().filter(|(key, _)| is_nic(key)) {
        let was = Nic::parse(value);
        let Some(now) = new.values.get(key).map(|value| Nic::parse(value)) else {
            harms.push(Harm::new(
                Kind::NicRemoved,
                path,
                format!("VM {id} loses {key} ({})", nic_words(&was)),
            ));
            continue;
        };
        let mut changes = Vec::new();
        let mut compare = |what: &str, was: &Option<String>, now: &Option<String>| {
            if was != now {
                let shown = |value: &Option<String>| value.clone().unwrap_or_else(|| "none".into());
                changes.push(format!("{what} {} → {}", shown(was), shown(now)));
            }
        };
        compare("bridge", &was.bridge, &now.bridge);
        compare("MAC", &was.mac, &now.mac);
        compare("VLAN tag", &was.tag, &now.tag);
        compare("trunks", &was.trunks, &now.trunks);
        if now.link_down && !was.link_down {
            changes.push("link down".to_owned());
        }
        if !changes.is_empty() {
            harms.push(Harm::new(
                Kind::NicChanged,
                path,
                format!("VM {id}'s {key}: {}", changes.join(", ")),
            ));
        }
    }
    harms
}

fn nic_words(nic: &Nic) -> String {
    let mut words = vec![nic.model.clone().unwrap_or_else(|| "NIC".into())];
    words.extend(nic.mac.clone());
    words.extend(nic.bridge.as_ref().map(|bridge| format!("on {bridge}")));
    words.join(" ")
}
