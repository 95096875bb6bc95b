//! storage.cfg: a section removed or replaced by one of another type, a
//! property removed, as `storage_cfg::lost` finds them (both sides read as
//! PVE reads them; a type or property pve-storage does not know counts as
//! written).

use std::collections::BTreeMap;

use crate::storage_cfg::{lost, read};

use super::{Harm, Kind};

pub(super) fn harms(path: &str, before: &str, after: &str) -> Vec<Harm> {
    let (was, now) = (types(before), types(after));
    let mut harms = Vec::new();
    for lost in lost(before, after) {
        let (id, kind) = (&lost.id, &lost.storage_type);
        let replaced = now.get(id).filter(|other| *other != kind);
        let harm = match (&lost.property, replaced) {
            (Some(_), Some(_)) => continue,
            (None, _) => Harm::new(
                Kind::StorageRemoved,
                path,
                format!(
                    "storage `{id}` ({kind}) is removed: PVE no longer reaches the disks, backups and images on it"
                ),
            ),
            (Some(key), None) => Harm::new(
                Kind::PropertyRemoved,
                path,
                format!("storage `{id}` ({kind}) loses `{key}`{}", consequence(key)),
            ),
        };
        harms.push(harm);
    }
    for (id, kind) in &was {
        if let Some(other) = now.get(id).filter(|other| *other != kind) {
            harms.push(Harm::new(
                Kind::StorageRemoved,
                path,
                format!(
                    "storage `{id}` ({kind}) is replaced by a section of type {other}: PVE no longer reaches what the {kind} storage holds"
                ),
            ));
        }
    }
    harms
}

/// Each section's type, by id, known to pve-storage or not.
fn types(text: &str) -> BTreeMap<String, String> {
    let config = read(text).config;
    config
        .storages
        .iter()
        .chain(&config.foreign)
        .map(|(id, storage)| (id.clone(), storage.storage_type.clone()))
        .collect()
}

/// What losing a property does, where it is not plain.
fn consequence(key: &str) -> &'static str {
    match key {
        "encryption-key" => ": new backups to it are no longer encrypted",
        "prune-backups" | "max-protected-backups" => {
            ": its backups are kept or pruned by other rules"
        }
        "nodes" => ": every node uses it, not only those listed",
        _ => "",
    }
}
