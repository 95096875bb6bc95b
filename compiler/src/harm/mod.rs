//! harm: the changes to the PVE files lugc manages that can lose data or
//! cut service, found by reading both sides as PVE reads them: storage.cfg
//! (`storage`), VM configs (`vm`) and /etc/network/interfaces (`network`).
//!
//! In: two sides, each the files as they are (absolute path → bytes; a path
//! a side lacks is no file). Out: the harms, each with a stable [`Kind`]
//! (`disk-removed`, `storage-removed`, …), the file and words for people.
//! Any two sides will do: the host's files against what a push or a rollback
//! leaves, or facts against a build. Words are one line each, host text in
//! them escaped (`sanitise`), no storage property's value. Pure: no I/O,
//! nothing of the fleet.

mod network;
mod storage;
mod vm;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

/// `push --all --yes` found changes that no `--allow` lets through.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("refused: {count} on {bundles} can lose data or cut service ({refused}); nothing was changed on any host")]
#[diagnostic(
    code(lugc::push::harm),
    help("the harm list above says what each change takes away. To keep what the hosts have, describe it in cluster.ncl and run `lugc build`; if every change is meant, run `lugc push --all --yes --allow {allow}`")
)]
pub struct Refused {
    pub count: String,
    pub bundles: String,
    /// The kinds no `--allow` lets through.
    pub refused: String,
    /// Every kind the listed harms need allowed.
    pub allow: String,
}

/// Files by absolute path.
pub type Files = BTreeMap<String, Vec<u8>>;

pub use crate::pve::STORAGE_CFG;

/// The host's network configuration.
pub const INTERFACES: &str = "/etc/network/interfaces";

/// What a harm does; its name is what `--allow` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A VM disk is detached or forgotten (its line removed or replaced).
    DiskRemoved,
    /// A VM disk's size shrinks in its config.
    DiskShrunk,
    /// A VM disk slot points at a volume on another storage.
    DiskMoved,
    /// A VM's whole config is removed: PVE forgets the VM.
    VmRemoved,
    /// A VM's config moves to another node's directory.
    VmMoved,
    /// A VM snapshot's section is removed: PVE can no longer roll back to it.
    SnapshotRemoved,
    /// A VM NIC is removed.
    NicRemoved,
    /// A VM NIC's bridge, MAC, VLAN tag or link changes.
    NicChanged,
    /// A storage section is removed (or replaced by one of another type).
    StorageRemoved,
    /// A property of a storage section is removed.
    PropertyRemoved,
    /// A bridge that a VM uses is removed.
    BridgeRemoved,
    /// The ports or VLANs of a bridge that a VM uses change.
    BridgeChanged,
    /// The management address (on the interface with the default gateway) changes.
    AddressChanged,
}

impl Kind {
    /// The stable name, as `--allow` and the JSON output spell it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::DiskRemoved => "disk-removed",
            Kind::DiskShrunk => "disk-shrunk",
            Kind::DiskMoved => "disk-moved",
            Kind::VmRemoved => "vm-removed",
            Kind::VmMoved => "vm-moved",
            Kind::SnapshotRemoved => "snapshot-removed",
            Kind::NicRemoved => "nic-removed",
            Kind::NicChanged => "nic-changed",
            Kind::StorageRemoved => "storage-removed",
            Kind::PropertyRemoved => "property-removed",
            Kind::BridgeRemoved => "bridge-removed",
            Kind::BridgeChanged => "bridge-changed",
            Kind::AddressChanged => "address-changed",
        }
    }
}

/// One change that can lose data or cut service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Harm {
    pub kind: Kind,
    /// The file whose change it is.
    pub path: String,
    pub words: String,
}

impl Harm {
    /// `words` hold names and values from a host: shown as one safe line.
    fn new(kind: Kind, path: &str, words: String) -> Harm {
        Harm {
            kind,
            path: crate::sanitise::line(path).into_owned(),
            words: crate::sanitise::line(&words).into_owned(),
        }
    }
}

/// A harm with the push it belongs to, as `push --json` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listed {
    pub bundle: String,
    pub host: String,
    #[serde(flatten)]
    pub harm: Harm,
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The harms of going from `before` to `after`, by file, then as found.
pub fn check(before: &Files, after: &Files) -> Vec<Harm> {
    let mut harms = Vec::new();
    for (path, old) in before {
        let old = text(old);
        let new = after.get(path).map(|bytes| text(bytes));
        if path == STORAGE_CFG {
            harms.extend(storage::harms(path, &old, new.as_deref().unwrap_or("")));
        } else if let Some(id) = crate::qemu_cfg::vm_id(path) {
            // A config that moves to another node's directory is compared there.
            let new = new.or_else(|| {
                let (to, bytes) = after
                    .iter()
                    .find(|(other, _)| crate::qemu_cfg::vm_id(other) == Some(id))?;
                harms.push(vm::moved(path, to, id));
                Some(text(bytes))
            });
            harms.extend(vm::harms(path, id, &old, new.as_deref()));
        } else if path == INTERFACES {
            let users = vm::bridge_users(before.iter().chain(after));
            harms.extend(network::harms(
                path,
                &old,
                new.as_deref().unwrap_or(""),
                &users,
            ));
        }
    }
    harms
}

/// Whether a side holds a file whose changes `check` judges.
pub fn judges(path: &str) -> bool {
    path == STORAGE_CFG || path == INTERFACES || crate::qemu_cfg::vm_id(path).is_some()
}

/// The distinct kinds of `harms` not in `allowed`, in order.
pub fn refused(harms: &[Harm], allowed: &BTreeSet<Kind>) -> Vec<Kind> {
    let kinds: BTreeSet<Kind> = harms
        .iter()
        .map(|harm| harm.kind)
        .filter(|kind| !allowed.contains(kind))
        .collect();
    kinds.into_iter().collect()
}

/// `disk-removed,storage-removed`: what `--allow` takes for `kinds`, by name.
pub fn allow_list(kinds: &[Kind]) -> String {
    let names: BTreeSet<&str> = kinds.iter().map(|kind| kind.name()).collect();
    names.into_iter().collect::<Vec<_>>().join(",")
}

/// The list as a push shows it above its diff: one line per harm, its
/// kind first, `[allowed]` after those `allowed` lets through.
pub fn render(harms: &[Harm], allowed: &BTreeSet<Kind>) -> String {
    let mut out = String::new();
    if harms.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "  harm: {} that can lose data or cut service:",
        if harms.len() == 1 {
            "1 change".to_owned()
        } else {
            format!("{} changes", harms.len())
        }
    );
    let width = harms
        .iter()
        .map(|harm| harm.kind.name().len())
        .max()
        .unwrap_or(0);
    for harm in harms {
        let note = if allowed.contains(&harm.kind) {
            "  [allowed]"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "    {:width$}  {}: {}{note}",
            harm.kind.name(),
            harm.path,
            harm.words
        );
    }
    out
}

#[cfg(test)]
mod tests;
