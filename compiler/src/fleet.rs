//! fleet: the shape that `cluster.ncl` evaluates to, as Rust reads it.
//!
//! lib/ renders every file in Nickel; Rust only receives this tree of
//! bundles and files. Nothing in lib/ checks this shape as a whole (the
//! renderers write files without the `File` contract; `validate` checks
//! each file again), so a serde error here means lib/ itself is broken.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The evaluated fleet: one bundle per host plus the pmxcfs-replicated cluster bundle.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fleet {
    pub hosts: BTreeMap<String, Host>,
    pub cluster: ClusterFiles,
    /// Files whose content is never printed: a path prefix (starting with
    /// `/`) or a suffix; lib/secrets.ncl's and the fleet's own.
    #[serde(default)]
    pub secret_paths: Vec<String>,
    /// What the hosts' facts show that the build does not stop for (a VM
    /// on a node that the fleet does not describe).
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// One host as the push and hosts commands need it, plus its files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Host {
    pub site: String,
    /// Member of the PVE cluster: receives the cluster bundle.
    pub cluster: bool,
    /// `user@address` that `lugc push` connects to.
    pub ssh_target: String,
    /// The host's campus address, for people (`lugc hosts`).
    #[serde(default)]
    pub address: Option<String>,
    pub files: BTreeMap<String, FileSpec>,
    /// Paths that must not exist on the host.
    #[serde(default)]
    pub absent: Vec<String>,
}

/// Files replicated by pmxcfs under /etc/pve, written through one member.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFiles {
    pub files: BTreeMap<String, FileSpec>,
}

/// One file to place on a host, keyed by its absolute target path.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    pub content: String,
    /// Octal permission bits, e.g. `0644`.
    pub mode: String,
    /// `user:group`.
    pub owner: String,
    /// Shell command run on the host when this file changes.
    #[serde(default)]
    pub action: Option<String>,
    /// The action can cut the host off: a push runs it under a revert armed on the host.
    #[serde(default)]
    pub confirm: bool,
    /// The file is a health check: a push whose revert is armed runs it on
    /// the host after the actions and confirms only when it succeeds.
    #[serde(default)]
    pub check: bool,
}

impl Fleet {
    /// Names of the hosts that receive the cluster bundle, sorted.
    pub fn cluster_members(&self) -> Vec<&str> {
        self.hosts
            .iter()
            .filter(|(_, host)| host.cluster)
            .map(|(name, _)| name.as_str())
            .collect()
    }
}
