//! /etc/pve/qemu-server/<vmid>.conf by PVE's own rules, taken from
//! qemu-server 9.2.6 (`PVE::QemuServer::parse_vm_config`, `write_vm_config`,
//! `check_type`, the `$confdesc` schema; `PVE::QemuServer::Drive` and
//! `::Network` for disks and NICs) and pve-common 9.2.1
//! (`PVE::ParseUtils::encode_text`/`decode_text`, `PVE::JSONSchema::parse_size`).
//!
//! In: a VM config's text. Out: what PVE holds of it ([`read`]: the main
//! section, `[PENDING]`, `[special:…]` sections and snapshots, with the
//! warnings PVE logs while dropping lines), whether two texts are the same
//! configuration to PVE ([`same`]), and a VM's disks and NICs ([`Drive`],
//! [`Nic`]). Does no I/O and knows nothing of Nickel or the fleet. PVE's
//! writer, which only the tests need (a rendered config must be what PVE
//! writes back), lives in tests/qemu_cfg.
//!
//! The grammar, as PVE reads it:
//!
//! ```text
//! #notes, percent-encoded%3A every line of the description
//! cores: 4
//! scsi0: local-zfs:vm-230-disk-0,discard=on,size=32G
//!
//! [PENDING]
//! cores: 8
//!
//! [before-upgrade]
//! cores: 4
//! snaptime: 1700000000
//! ```
//!
//! Blank lines are skipped; `#` lines anywhere in a section add to its
//! description (decoded by `decode_text`: `%XX` is a byte, the result UTF-8),
//! whose trailing white space is dropped. A key line is
//! `^([a-z][a-z_\-]*\d*):\s*(.+?)\s*$`; a key the schema does not know, or a
//! value failing its type, is dropped with a warning. Booleans become 0 or 1
//! (`on`, `yes`, `true` are 1), integers lose leading zeros, strings without
//! a format lose surrounding double quotes, and `cdrom` is read as `ide2`;
//! every other value (disks, NICs: property strings) is kept as written.
//! Formats of property strings are not checked here.
//!
//! PVE's writer puts the description first as `#` lines (`encode_text`:
//! control and high-bit bytes, `:` and `%` become `%XX`, so `:` is `%3A`),
//! then the keys sorted, then `[PENDING]`, the special sections and the
//! snapshots, each after an empty line.

mod device;
mod read;
mod schema;

pub use crate::storage_cfg::Warning;
pub use device::{format_size, parse_size, Drive, Nic, NIC_MODELS};
pub use read::{decode_text, read, same, Reading, Section, VmConfig};
pub use schema::{is_drive, is_nic};

/// The VM id of a VM config's path, `/etc/pve/qemu-server/<id>.conf` or
/// `/etc/pve/nodes/<node>/qemu-server/<id>.conf` (what parse_vm_config's
/// `m|/qemu-server/(\d+)\.conf$|` accepts under /etc/pve).
pub fn vm_id(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(crate::pve::PMXCFS)?;
    let rest = match rest.strip_prefix("nodes/") {
        Some(node) => node.split_once('/').filter(|(node, _)| !node.is_empty())?.1,
        None => rest,
    };
    let id = rest.strip_prefix("qemu-server/")?.strip_suffix(".conf")?;
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

#[cfg(test)]
mod tests {
    #[test]
    fn vm_configs_by_path() {
        assert_eq!(super::vm_id("/etc/pve/qemu-server/230.conf"), Some("230"));
        assert_eq!(
            super::vm_id("/etc/pve/nodes/pve-5/qemu-server/230.conf"),
            Some("230")
        );
        for other in [
            "/etc/pve/nodes//qemu-server/230.conf",
            "/etc/pve/lxc/230.conf",
            "/etc/pve/qemu-server/a.conf",
            "/etc/pve/nodes/pve-5/qemu-server/230.conf.tmp",
            "/srv/qemu-server/230.conf",
        ] {
            assert_eq!(super::vm_id(other), None, "{other}");
        }
    }
}
