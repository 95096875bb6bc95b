//! render: `&Fleet` → `Vec<BundleTree>`, one tree per host plus the cluster
//! bundle. Turns the evaluated strings into bytes and numeric modes; does no I/O.
//! Runs after `validate`, so modes and paths are known to be well formed.

use std::collections::{BTreeMap, BTreeSet};

use crate::fleet::{FileSpec, Fleet};

/// Name of the bundle that holds the pmxcfs-replicated files.
pub const CLUSTER_BUNDLE: &str = "cluster";

/// The files of one bundle, keyed by absolute target path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleTree {
    pub name: String,
    /// Hosts this bundle lands on.
    pub reaches: Vec<String>,
    pub files: BTreeMap<String, TargetFile>,
    /// Paths that must not exist on the host.
    pub absent: Vec<String>,
}

/// One file's bytes and the metadata the manifest records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetFile {
    pub bytes: Vec<u8>,
    pub mode: u32,
    pub owner: String,
    pub action: Option<String>,
    /// The action runs under a revert armed on the host.
    pub confirm: bool,
    /// The file is a health check run before a push is confirmed.
    pub check: bool,
}

pub fn render(fleet: &Fleet) -> Vec<BundleTree> {
    let cluster = BundleTree {
        name: CLUSTER_BUNDLE.to_owned(),
        reaches: fleet
            .cluster_members()
            .iter()
            .map(|name| (*name).to_owned())
            .collect(),
        files: target_files(&fleet.cluster.files),
        absent: Vec::new(),
    };
    let hosts = fleet.hosts.iter().map(|(name, host)| BundleTree {
        name: name.clone(),
        reaches: vec![name.clone()],
        files: target_files(&host.files),
        absent: host
            .absent
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
    });
    let mut trees: Vec<BundleTree> = hosts.chain([cluster]).collect();
    trees.sort_by(|a, b| a.name.cmp(&b.name));
    trees
}

fn target_files(files: &BTreeMap<String, FileSpec>) -> BTreeMap<String, TargetFile> {
    files
        .iter()
        .map(|(path, spec)| {
            let file = TargetFile {
                bytes: spec.content.as_bytes().to_vec(),
                mode: parse_mode(&spec.mode).unwrap_or(0o644),
                owner: spec.owner.clone(),
                action: spec.action.clone(),
                confirm: spec.confirm && spec.action.is_some(),
                check: spec.check,
            };
            (path.clone(), file)
        })
        .collect()
}

/// `0644` → 0o644; `None` unless 3 or 4 octal digits.
pub fn parse_mode(mode: &str) -> Option<u32> {
    let digits_ok =
        (3..=4).contains(&mode.len()) && mode.bytes().all(|b| (b'0'..=b'7').contains(&b));
    digits_ok
        .then(|| u32::from_str_radix(mode, 8).ok())
        .flatten()
}
