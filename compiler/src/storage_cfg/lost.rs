//! What one storage.cfg holds that another lacks: the sections and
//! properties that replacing the first with the second would remove.

use std::fmt;

use super::read::{read, Storage};
use super::schema::SOURCE;

/// A section, or a property of one, that a storage.cfg holds and another lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lost {
    pub id: String,
    pub storage_type: String,
    /// The property; `None` for the whole section.
    pub property: Option<String>,
    /// pve-storage's schema lacks the type or property (lugc keeps it as written).
    pub foreign: bool,
}

impl fmt::Display for Lost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let section = format!("`{}: {}`", self.storage_type, self.id);
        match &self.property {
            None => write!(f, "section {section}")?,
            Some(property) => write!(f, "`{property}` of {section}")?,
        }
        if self.foreign {
            write!(
                f,
                " (unknown to {})",
                SOURCE.split(',').next().unwrap_or(SOURCE)
            )?;
        }
        Ok(())
    }
}

/// What `from` holds that `to` lacks, as PVE reads both: whole sections
/// (by id), then the properties of sections both hold; sorted by id.
/// Sections and properties pve-storage does not know count as written.
pub fn lost(from: &str, to: &str) -> Vec<Lost> {
    let (from, to) = (read(from).config, read(to).config);
    let sections = |config: &super::Config| {
        let known = config
            .storages
            .iter()
            .map(|(id, s)| (id.clone(), s.clone(), false));
        let foreign = config
            .foreign
            .iter()
            .map(|(id, s)| (id.clone(), s.clone(), true));
        known
            .chain(foreign)
            .collect::<Vec<(String, Storage, bool)>>()
    };
    let kept = sections(&to);
    let mut lost: Vec<Lost> = Vec::new();
    for (id, storage, foreign) in sections(&from) {
        let entry = |property: Option<&String>, foreign: bool| Lost {
            id: id.clone(),
            storage_type: storage.storage_type.clone(),
            property: property.cloned(),
            foreign,
        };
        let Some((_, there, _)) = kept.iter().find(|(other, _, _)| *other == id) else {
            lost.push(entry(None, foreign));
            continue;
        };
        lost.extend(
            storage
                .values
                .keys()
                .filter(|key| !there.values.contains_key(*key))
                .map(|key| entry(Some(key), false)),
        );
        lost.extend(
            storage
                .foreign
                .keys()
                .filter(|key| !there.foreign.contains_key(*key))
                .map(|key| entry(Some(key), true)),
        );
    }
    lost.sort_by(|a, b| (&a.id, &a.property).cmp(&(&b.id, &b.property)));
    lost
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "\
dir: local
\tpath /var/lib/vz
\tcontent iso

cifs: nas
\tpath /mnt/pve/nas
\tserver nas.example.org
\tshare backups

pbs: esxi-5-data
\tdatastore data
\tserver esxi-5.vm.ustclug.org
\tencryption-key 12:34:56:78:9a:bc:de:f0
\tmax-protected-backups 5
\tthin 1

glusterfs: gv
\tvolume gv0
";

    const BUNDLE: &str = "\
dir: local
\tpath /var/lib/vz
\tcontent iso

pbs: esxi-5-data
\tdatastore data
\tserver esxi-5.vm.ustclug.org

";

    #[test]
    fn sections_and_properties_the_other_file_lacks_are_named() {
        let shown: Vec<String> = lost(HOST, BUNDLE).iter().map(Lost::to_string).collect();
        assert_eq!(
            shown,
            [
                "`encryption-key` of `pbs: esxi-5-data`",
                "`max-protected-backups` of `pbs: esxi-5-data`",
                "`thin` of `pbs: esxi-5-data` (unknown to pve-storage 9.1.7)",
                "section `glusterfs: gv` (unknown to pve-storage 9.1.7)",
                "section `cifs: nas`",
            ]
        );
        assert_eq!(lost(BUNDLE, HOST), []);
        assert_eq!(lost(HOST, HOST), []);
    }
}
