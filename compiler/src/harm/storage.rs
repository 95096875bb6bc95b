//! storage.cfg: a section removed, a property removed, as `storage_cfg::lost`
//! finds them (both sides read as PVE reads them; a type or property
//! pve-storage does not know counts as written).

use crate::storage_cfg::lost;

use super::{Harm, Kind};

pub(super) fn harms(path: &str, before: &str, after: &str) -> Vec<Harm> {
    lost(before, after)
        .into_iter()
        .map(|lost| {
            let (id, kind) = (&lost.id, &lost.storage_type);
            match &lost.property {
                None => Harm::new(
                    Kind::StorageRemoved,
                    path,
                    format!(
                        "storage `{id}` ({kind}) is removed: PVE no longer reaches the disks, backups and images on it"
                    ),
                ),
                Some(key) => Harm::new(
                    Kind::PropertyRemoved,
                    path,
                    format!("storage `{id}` ({kind}) loses `{key}`{}", consequence(key)),
                ),
            }
        })
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
