//! systemd units: `systemd-analyze verify --man=no UNIT`, isolated (it
//! touches /run/systemd). It exits 0 even for `Type=oneshott`, so any line it
//! prints fails the unit, except a line caused by a unit or a binary that a
//! PVE host has and the build machine does not.

use std::path::Path;

use super::{assert_rejects, check_all, of_kind, on_file, run_isolated, scratch, Kind};

/// Units of a PVE or PBS host (or of packages only it has) that a unit in
/// out/ may depend on; `Unit X not found.` for these is no fault of the file.
const HOST_UNITS: &[&str] = &[
    "pve-cluster.service",
    "pvedaemon.service",
    "pveproxy.service",
    "pvestatd.service",
    "pve-firewall.service",
    "pve-guests.service",
    "proxmox-backup.service",
    "proxmox-backup-proxy.service",
    "iscsid.service",
    "open-iscsi.service",
    "zfs-mount.service",
    "zfs-import.target",
];

/// Binaries of a PVE or PBS host that an ExecStart may name; `Command X is
/// not executable: No such file or directory` for these is no fault either.
const HOST_BINARIES: &[&str] = &[
    "/usr/bin/pvesh",
    "/usr/bin/pvenode",
    "/usr/sbin/qm",
    "/usr/sbin/pct",
    "/usr/bin/proxmox-backup-manager",
    "/usr/sbin/iscsiadm",
    "/usr/sbin/zfs",
    "/usr/sbin/zpool",
    "/usr/bin/virtiofsd",
    "/usr/libexec/virtiofsd",
];

fn missing_on_build_machine(line: &str) -> bool {
    HOST_UNITS
        .iter()
        .any(|unit| line.ends_with(&format!("Unit {unit} not found.")))
        || HOST_BINARIES.iter().any(|binary| {
            line.ends_with(&format!(
                "Command {binary} is not executable: No such file or directory"
            ))
        })
}

/// The file's name is the unit's name, so `file` keeps the target's name.
pub(crate) fn check(file: &Path) -> Result<(), String> {
    let outcome = run_isolated(
        &[],
        "systemd-analyze",
        &[Path::new("verify"), Path::new("--man=no"), file],
    );
    // A whitelisted line also makes it exit 1: with lines printed, only the
    // lines count; with none, the exit status.
    let mut lines = outcome.lines().peekable();
    if lines.peek().is_none() {
        return outcome.ok();
    }
    if lines.any(|line| !missing_on_build_machine(line)) {
        return Err(outcome.to_string());
    }
    Ok(())
}

#[test]
fn every_unit_verifies_with_systemd_analyze() {
    check_all(&of_kind(Kind::Unit), |artifact| check(&artifact.file));
}

pub(super) const GOOD: &str = "\
[Unit]
Description=Backup rootfs to vdp2
RequiresMountsFor=/mnt/vdp2
After=pve-cluster.service

[Service]
Type=oneshot
ExecStart=/usr/bin/rsync -aHAXx --delete / /mnt/vdp2/rootfs/
";

const MOUNT: &str = "\
[Unit]
Description=vdp2 over iSCSI at /mnt/vdp2
Wants=open-iscsi.service
After=iscsid.service open-iscsi.service

[Mount]
What=/dev/disk/by-label/vdp2
Where=/mnt/vdp2
Type=ext4
Options=_netdev

[Install]
WantedBy=remote-fs.target
";

#[test]
fn systemd_analyze_rejects_broken_mount_units() {
    let dir = scratch();
    assert_rejects(
        MOUNT,
        &[
            (
                "Where=/mnt/vdp2",
                "Where=/mnt/vdp3",
                "doesn't match unit name",
            ),
            ("Where=/mnt/vdp2", "Where=mnt/vdp2", "not absolute"),
            ("Options=", "Option=", "Unknown key"),
            ("[Mount]", "[Mnt]", "Unknown section"),
        ],
        on_file(dir.path(), "mnt-vdp2.mount", check),
    );
}

#[test]
fn systemd_analyze_rejects_broken_units() {
    let dir = scratch();
    let unit = on_file(dir.path(), "rootfs-backup.service", check);
    let pve = GOOD
        .replace("/usr/bin/rsync -aHAXx", "/usr/bin/pvesh get /version")
        .replace("After=", "Requires=");
    unit(&pve).expect("a unit needing what only a PVE host has");
    assert_rejects(
        GOOD,
        &[
            (
                "Type=oneshot",
                "Type=oneshott",
                "Failed to parse service type",
            ),
            ("RequiresMountsFor", "RequiresMountFor", "Unknown key"),
            ("/usr/bin/rsync", "/usr/bin/rsyncc", "is not executable"),
            ("/usr/bin/rsync", "rsync-of-no-path", "is not executable"),
            (
                "After=pve-cluster.service",
                "Requires=pve-clusterr.service",
                "Unit pve-clusterr.service not found",
            ),
            ("[Service]", "[Servce]", "Unknown section"),
        ],
        unit,
    );
}
