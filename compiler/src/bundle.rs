//! bundle: `BundleTree` → `Bundle`: hashes every file with blake3, builds the
//! MANIFEST and the bundle id. Pure; does no I/O.

use std::collections::{BTreeMap, BTreeSet};

use crate::manifest::{Entry, Manifest};
use crate::render::{BundleTree, TargetFile};

/// A bundle ready to be written: its files, manifest text and id.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub name: String,
    pub manifest: Manifest,
    /// Rendered MANIFEST, exactly the bytes written to out/.
    pub manifest_text: String,
    /// blake3 of `manifest_text`.
    pub id: String,
    pub files: BTreeMap<String, TargetFile>,
    /// Taken from out/ by its MANIFEST (`derive`): `files` is empty, and
    /// out/ holds them as `manifest` lists them. Only [`crate::write::write`]
    /// is given such a bundle.
    pub taken: bool,
}

pub fn bundle(tree: BundleTree) -> Bundle {
    let entries = tree
        .files
        .iter()
        .map(|(path, file)| Entry {
            blake3: blake3::hash(&file.bytes).to_hex().to_string(),
            mode: file.mode,
            owner: file.owner.clone(),
            path: path.clone(),
            action: file.action.clone(),
        })
        .collect();
    let confirm: BTreeSet<String> = tree
        .files
        .values()
        .filter(|file| file.confirm)
        .filter_map(|file| file.action.clone())
        .collect();
    let check = tree
        .files
        .iter()
        .filter(|(_, file)| file.check)
        .map(|(path, _)| path.clone())
        .collect();
    let manifest = Manifest {
        bundle: tree.name.clone(),
        reaches: tree.reaches,
        absent: tree.absent,
        confirm: confirm.into_iter().collect(),
        check,
        entries,
    };
    let manifest_text = manifest.render();
    Bundle {
        name: tree.name,
        id: crate::manifest::bundle_id(manifest_text.as_bytes()),
        manifest,
        manifest_text,
        files: tree.files,
        taken: false,
    }
}

/// The bundle whose MANIFEST is `manifest_text` as out/ holds it, its files left there.
pub fn taken(manifest: Manifest, manifest_text: String) -> Bundle {
    Bundle {
        name: manifest.bundle.clone(),
        id: crate::manifest::bundle_id(manifest_text.as_bytes()),
        manifest,
        manifest_text,
        files: BTreeMap::new(),
        taken: true,
    }
}

/// out/INDEX: one `<bundle id> <bundle>` line per bundle, sorted by name.
pub fn index(bundles: &[Bundle]) -> String {
    let mut text = String::from(INDEX_HEADER);
    text.push('\n');
    for bundle in bundles {
        text.push_str(&format!("{} {}\n", bundle.id, bundle.name));
    }
    text
}

/// First line of out/INDEX.
pub const INDEX_HEADER: &str = "lugc-index 1";

/// out/INDEX as a map: bundle name → bundle id.
pub type Index = BTreeMap<String, String>;

/// Why a text is not an out/INDEX.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct IndexError(pub String);

/// Parse out/INDEX as [`index`] writes it: the header, then unique `<id> <bundle>` lines.
pub fn parse_index(text: &str) -> Result<Index, IndexError> {
    let mut lines = text.lines();
    if lines.next() != Some(INDEX_HEADER) {
        return Err(IndexError(format!("expected `{INDEX_HEADER}` on line 1")));
    }
    let mut parsed = Index::new();
    for (number, line) in lines.enumerate() {
        let entry = line.split_once(' ').filter(|(id, name)| {
            id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) && !name.is_empty()
        });
        let Some((id, name)) = entry else {
            return Err(IndexError(format!(
                "line {}: expected `<id> <bundle>`",
                number + 2
            )));
        };
        if parsed.insert(name.to_owned(), id.to_owned()).is_some() {
            return Err(IndexError(format!(
                "line {}: bundle {name} twice",
                number + 2
            )));
        }
    }
    Ok(parsed)
}
