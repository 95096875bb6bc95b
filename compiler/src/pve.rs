//! pve: where Proxmox VE keeps what lugc writes, stated once: the pmxcfs
//! mount, its size limit and the files under it that lugc reads.

/// Files under this directory live on pmxcfs: mode and owner are not ours to
/// set, and only the cluster bundle writes there.
pub const PMXCFS: &str = "/etc/pve/";

/// pmxcfs refuses files larger than this.
pub const PMXCFS_MAX: usize = 1024 * 1024;

/// The cluster's storage configuration, which PVE rewrites in its own order.
pub const STORAGE_CFG: &str = "/etc/pve/storage.cfg";

pub fn on_pmxcfs(path: &str) -> bool {
    path.starts_with(PMXCFS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn storage_cfg_is_on_pmxcfs() {
        assert!(super::on_pmxcfs(super::STORAGE_CFG));
        assert!(!super::on_pmxcfs("/etc/pvefoo"));
    }
}
