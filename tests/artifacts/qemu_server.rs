//! VM configs (`/etc/pve/nodes/<node>/qemu-server/<vmid>.conf`) read by
//! qemu-server's grammar and checked against its schema for every key lugc
//! writes, as PVE's API checks a value before it accepts it. The rules come
//! from qemu-server: `parse_vm_config`, `check_type` and the `$confdesc`
//! entries of src/PVE/QemuServer.pm (boot, cores, memory, name, ostype,
//! scsihw, hookscript, args), the drive strings of src/PVE/QemuServer/Drive.pm
//! (scsi0 to scsi30), the net strings of src/PVE/QemuServer/Network.pm (net0
//! to net31) and the memory string of src/PVE/QemuServer/Memory.pm; and from
//! pve-common's PVE/JSONSchema.pm (`parse_property_string`, the formats
//! dns-name, mac-addr, pve-bridge-id, disk-size, pve-vmid) and pve-storage's
//! `parse_volume_id`. A key outside that list is an error too: a key lugc
//! starts writing needs its schema here first.

use super::{assert_rejects, check_all, of_kind, Kind};

/// How a value is checked.
#[derive(Clone, Copy)]
enum Check {
    /// `parse_boolean`: 1|on|yes|true or 0|off|no|false.
    Boolean,
    /// An integer within bounds.
    Integer(i64, i64),
    /// A non-negative number (`^\d+(\.\d+)?$`).
    Number,
    Enum(&'static [&'static str]),
    /// A format: the predicate, and what it is.
    Format(fn(&str) -> bool, &'static str),
}

/// One key of a property string (`key=value,…`).
struct Field {
    key: &'static str,
    check: Check,
    /// The key a bare value (without `key=`) belongs to.
    default_key: bool,
    required: bool,
}

const fn field(key: &'static str, check: Check) -> Field {
    Field {
        key,
        check,
        default_key: false,
        required: false,
    }
}

const fn default_key(key: &'static str, check: Check, required: bool) -> Field {
    Field {
        key,
        check,
        default_key: true,
        required,
    }
}

/// Network.pm `$nic_model_list`; each is also a key whose value is the MAC
/// (`virtio=BC:24:11:00:02:30` is model virtio, macaddr BC:24:11:00:02:30).
const NIC_MODELS: &[&str] = &lugc::qemu_cfg::NIC_MODELS;

/// Network.pm `$net_fmt`.
const NET: &[Field] = &[
    default_key("model", Check::Enum(NIC_MODELS), true),
    Field {
        required: true,
        ..field(
            "macaddr",
            Check::Format(is_unicast_mac, "a unicast MAC address"),
        )
    },
    field("bridge", Check::Format(is_bridge_id, "a bridge id")),
    field("queues", Check::Integer(0, 64)),
    field("rate", Check::Number),
    field("tag", Check::Integer(1, 4094)),
    field("trunks", Check::Format(is_trunks, "vlanid[;vlanid...]")),
    field("firewall", Check::Boolean),
    field("link_down", Check::Boolean),
    field("mtu", Check::Integer(1, 65520)),
];

/// Drive.pm `$scsi_fmt`: `%drivedesc_base` and the SCSI-only keys.
const SCSI: &[Field] = &[
    default_key(
        "file",
        Check::Format(
            is_drive_file,
            "a volume id, an absolute path, none or cdrom",
        ),
        true,
    ),
    field("media", Check::Enum(&["cdrom", "disk"])),
    field("snapshot", Check::Boolean),
    field(
        "cache",
        Check::Enum(&["none", "writethrough", "writeback", "unsafe", "directsync"]),
    ),
    field(
        "format",
        Check::Enum(&["raw", "cow", "qcow", "qed", "qcow2", "vmdk", "cloop"]),
    ),
    field("size", Check::Format(is_disk_size, "a disk size like 32G")),
    field("backup", Check::Boolean),
    field("replicate", Check::Boolean),
    field("rerror", Check::Enum(&["ignore", "report", "stop"])),
    field(
        "werror",
        Check::Enum(&["enospc", "ignore", "report", "stop"]),
    ),
    field("aio", Check::Enum(&["native", "threads", "io_uring"])),
    field("discard", Check::Enum(&["ignore", "on"])),
    field("detect_zeroes", Check::Boolean),
    field("shared", Check::Boolean),
    field("iothread", Check::Boolean),
    field("queues", Check::Integer(2, i64::MAX)),
    field("ro", Check::Boolean),
    field("scsiblock", Check::Boolean),
    field("ssd", Check::Boolean),
];

/// Memory.pm `$memory_fmt`.
const MEMORY: &[Field] = &[default_key("current", Check::Integer(16, i64::MAX), false)];

/// QemuServer.pm `$boot_fmt`.
const BOOT: &[Field] = &[
    default_key(
        "legacy",
        Check::Format(is_legacy_boot, "[acdn]{1,4}"),
        false,
    ),
    field("order", Check::Format(is_boot_order, "device[;device...]")),
];

/// `$confdesc` enums.
const OSTYPE: &[&str] = &[
    "other", "wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8", "win10", "win11", "l24",
    "l26", "solaris",
];
const SCSIHW: &[&str] = &[
    "lsi",
    "lsi53c810",
    "virtio-scsi-pci",
    "virtio-scsi-single",
    "megasas",
    "pvscsi",
];

/// `prefix<N>` with N below `count`: the numbered keys `$confdesc` defines.
fn numbered(key: &str, prefix: &str, count: u32) -> bool {
    key.strip_prefix(prefix)
        .filter(|n| !n.is_empty() && (n.len() == 1 || !n.starts_with('0')))
        .and_then(|n| n.parse::<u32>().ok())
        .is_some_and(|n| n < count)
}

fn is_unicast_mac(mac: &str) -> bool {
    let groups: Vec<&str> = mac.split(':').collect();
    groups.len() == 6
        && groups
            .iter()
            .all(|g| g.len() == 2 && g.bytes().all(|b| b.is_ascii_hexdigit()))
        && u8::from_str_radix(groups[0], 16).is_ok_and(|first| first & 1 == 0)
}

/// `^[-_.\w\d]+$`
fn is_bridge_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// `\d+(?:-\d+)?(?:;\d+(?:-\d+)?)*`
fn is_trunks(trunks: &str) -> bool {
    trunks.split(';').all(|range| {
        range
            .split('-')
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            && range.split('-').count() <= 2
    })
}

/// `^(\d+(\.\d+)?)([KMGT](?:iB)?)?$` (`parse_size`).
fn is_disk_size(size: &str) -> bool {
    let number = ["KiB", "MiB", "GiB", "TiB", "K", "M", "G", "T"]
        .iter()
        .find_map(|unit| size.strip_suffix(unit))
        .unwrap_or(size);
    is_number(number)
}

fn is_number(text: &str) -> bool {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    [whole, fraction]
        .iter()
        .all(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// pve-storage `parse_volume_id`: `^([a-z][a-z0-9\-\_\.]*[a-z0-9]):(.+)$`, ignoring case.
fn volume_id(volume: &str) -> Option<(&str, &str)> {
    let (storage, name) = volume.split_once(':')?;
    let bytes = storage.as_bytes();
    let valid = bytes.len() >= 2
        && bytes[0].is_ascii_alphabetic()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b))
        && !name.is_empty();
    valid.then_some((storage, name))
}

/// `pve-volume-id-or-qm-path`.
fn is_drive_file(file: &str) -> bool {
    file == "none" || file == "cdrom" || file.starts_with('/') || volume_id(file).is_some()
}

fn is_legacy_boot(legacy: &str) -> bool {
    (1..=4).contains(&legacy.len()) && legacy.bytes().all(|b| b"acdn".contains(&b))
}

/// `pve-qm-bootdev-list`: drives and NICs `$confdesc` defines.
fn is_boot_order(order: &str) -> bool {
    order.split(';').all(|device| {
        numbered(device, "scsi", 31)
            || numbered(device, "ide", 4)
            || numbered(device, "sata", 6)
            || numbered(device, "virtio", 16)
            || numbered(device, "net", 32)
    })
}

/// `dns-name`: labels `[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?` joined by dots.
fn is_dns_name(name: &str) -> bool {
    name.split('.').all(|label| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

fn check(check: Check, value: &str) -> Result<(), String> {
    let ok = match check {
        Check::Boolean => ["1", "on", "yes", "true", "0", "off", "no", "false"]
            .iter()
            .any(|b| value.eq_ignore_ascii_case(b)),
        Check::Integer(min, max) => value
            .parse::<i64>()
            .is_ok_and(|n| value.bytes().all(|b| b.is_ascii_digit()) && (min..=max).contains(&n)),
        Check::Number => is_number(value),
        Check::Enum(allowed) => allowed.contains(&value),
        Check::Format(valid, _) => valid(value),
    };
    if ok {
        return Ok(());
    }
    Err(match check {
        Check::Boolean => format!("`{value}` is not a boolean"),
        Check::Integer(min, max) if max == i64::MAX => {
            format!("`{value}` is not an integer of at least {min}")
        }
        Check::Integer(min, max) => format!("`{value}` is not an integer from {min} to {max}"),
        Check::Number => format!("`{value}` is not a number"),
        Check::Enum(allowed) => format!("`{value}` is not one of {}", allowed.join(", ")),
        Check::Format(_, what) => format!("`{value}` is not {what}"),
    })
}

/// `parse_property_string` and `check_object`: known keys once each, a bare
/// value for the default key, every value of its type, required keys there.
/// Returns the values by key.
fn property_string(
    format: &[Field],
    text: &str,
) -> Result<std::collections::BTreeMap<&'static str, String>, String> {
    let mut values = std::collections::BTreeMap::new();
    let find = |key: &str| format.iter().find(|f| f.key == key);
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (field, value) = match part.split_once('=') {
            Some((key, value)) if !key.is_empty() && !value.is_empty() => {
                if NIC_MODELS.contains(&key) && find("model").is_some() {
                    if values.insert("model", key.to_owned()).is_some() {
                        return Err("key alias 'model' is already defined".to_owned());
                    }
                    (find("macaddr").expect("macaddr"), value)
                } else {
                    let field = find(key).ok_or_else(|| format!("invalid key `{key}`"))?;
                    (field, value)
                }
            }
            Some(_) => return Err(format!("missing key or value in `{part}`")),
            None => (
                format
                    .iter()
                    .find(|f| f.default_key)
                    .ok_or_else(|| format!("`{part}` has no key"))?,
                part,
            ),
        };
        if values.insert(field.key, value.to_owned()).is_some() {
            return Err(format!("duplicate key `{}`", field.key));
        }
        self::check(field.check, value).map_err(|e| format!("{}: {e}", field.key))?;
    }
    if let Some(missing) = format
        .iter()
        .find(|f| f.required && !values.contains_key(f.key))
    {
        return Err(format!("`{}` is missing", missing.key));
    }
    Ok(values)
}

/// One `key: value` line of VM `vmid`; `keys`: every key of the config.
fn check_entry(vmid: u32, key: &str, value: &str, keys: &[&str]) -> Result<(), String> {
    match key {
        "args" => Ok(()),
        "boot" => {
            let boot = property_string(BOOT, value)?;
            let order = boot.get("order").map_or("", String::as_str);
            match order
                .split(';')
                .find(|d| !d.is_empty() && !keys.contains(d))
            {
                Some(device) => Err(format!("boot device `{device}` is not in the config")),
                None => Ok(()),
            }
        }
        "cores" => check(Check::Integer(1, i64::MAX), value),
        "memory" => property_string(MEMORY, value).map(drop),
        "name" => check(Check::Format(is_dns_name, "a DNS name"), value),
        "ostype" => check(Check::Enum(OSTYPE), value),
        "scsihw" => check(Check::Enum(SCSIHW), value),
        "hookscript" => check(
            Check::Format(|v| volume_id(v).is_some(), "a volume id"),
            value,
        ),
        _ if numbered(key, "net", 32) => property_string(NET, value).map(drop),
        _ if numbered(key, "scsi", 31) => {
            let drive = property_string(SCSI, value)?;
            // pve-storage names a VM's volumes `vm-<vmid>-…` (or base-/subvol-):
            // one named for another VM is that VM's disk.
            let name = volume_id(&drive["file"]).map_or("", |(_, name)| name);
            let name = name.rsplit('/').next().unwrap_or(name);
            let owner = ["vm-", "base-", "subvol-"]
                .iter()
                .find_map(|prefix| name.strip_prefix(prefix))
                .and_then(|rest| rest.split('-').next())
                .and_then(|id| id.parse::<u32>().ok());
            match owner {
                Some(owner) if owner != vmid => {
                    Err(format!("volume `{name}` belongs to VM {owner}, not {vmid}"))
                }
                _ => Ok(()),
            }
        }
        _ => Err(format!(
            "`{key}` is not a key of qemu-server's schema that this check knows"
        )),
    }
}

/// A VM config named `<name>` (`<vmid>.conf`) as `parse_vm_config` reads it,
/// every value checked; every problem is reported.
fn check_config(name: &str, text: &str) -> Result<(), String> {
    let vmid = name
        .strip_suffix(".conf")
        .filter(|id| {
            (3..=9).contains(&id.len())
                && !id.starts_with('0')
                && id.bytes().all(|b| b.is_ascii_digit())
        })
        .and_then(|id| id.parse::<u32>().ok())
        .ok_or_else(|| format!("`{name}` is not <vmid>.conf with a VM id from 100"))?;
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let number = number + 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') {
            problems.push(format!("line {number}: lugc writes no section: {line}"));
            continue;
        }
        // `^([a-z][a-z_\-]*\d*):\s*(.+?)\s*$`
        let parsed = line.split_once(':').filter(|(key, value)| {
            let letters = key.trim_end_matches(|c: char| c.is_ascii_digit());
            letters.starts_with(|c: char| c.is_ascii_lowercase())
                && letters
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'-')
                && !value.trim().is_empty()
        });
        match parsed {
            Some((key, value)) => entries.push((number, key, value.trim())),
            None => problems.push(format!("line {number}: unable to parse config: {line}")),
        }
    }
    let keys: Vec<&str> = entries.iter().map(|(_, key, _)| *key).collect();
    for (index, (number, key, value)) in entries.iter().enumerate() {
        if keys[..index].contains(key) {
            problems.push(format!("line {number}: `{key}` again"));
        } else if let Err(problem) = check_entry(vmid, key, value, &keys) {
            problems.push(format!("line {number}: {key}: {problem}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// The bytes PVE's own writer produces for the config: PVE rewrites the file
/// at every `qm set` or backup lock, and a rewrite must leave it as lugc wrote it.
fn written_as_pve_writes(text: &str) -> Result<(), String> {
    let reading = lugc::qemu_cfg::read(text);
    if let Some(warning) = reading.warnings.first() {
        return Err(format!(
            "line {}: PVE drops it: {}",
            warning.line, warning.message
        ));
    }
    let written = crate::qemu_cfg::write(&reading.config);
    if written == text {
        Ok(())
    } else {
        Err(format!("PVE writes it back as:\n{written}"))
    }
}

#[test]
fn every_vm_config_is_what_pves_writer_writes() {
    check_all(&of_kind(Kind::VmConfig), |artifact| {
        written_as_pve_writes(&artifact.text())
    });
    assert!(written_as_pve_writes("#a: b\ncores: 1\n").is_err());
    assert!(written_as_pve_writes("#a%3A b\ncores: 1\n").is_ok());
}

#[test]
fn every_vm_config_passes_qemu_servers_schema() {
    check_all(&of_kind(Kind::VmConfig), |artifact| {
        check_config(artifact.name(), &artifact.text())
    });
}

const GOOD: &str = "\
#VM 230 (mirrorlog) on pve-5
args: -chardev socket,id=virtfs0,path=/run/virtiofsd-230.sock -numa node,memdev=mem
boot: order=scsi0;net0
cores: 4
hookscript: local:snippets/virtiofsd.sh
memory: 8192
name: mirrorlog
net0: virtio=BC:24:11:00:02:30,bridge=vmbr0,firewall=0
ostype: l26
scsi0: local-zfs:vm-230-disk-0,discard=on,iothread=0,size=32G
scsihw: virtio-scsi-pci
";

#[test]
fn qemu_servers_schema_rejects_what_pve_would() {
    let good = |text: &str| check_config("230.conf", text);
    assert_rejects(
        GOOD,
        &[
            ("ostype: l26", "ostype: linux", "`linux` is not one of"),
            (
                "scsihw: virtio-scsi-pci",
                "scsihw: virtio-scsi",
                "`virtio-scsi` is not one of",
            ),
            ("cores: 4", "cores: 0", "at least 1"),
            ("memory: 8192", "memory: 8G", "current: `8G`"),
            ("memory: 8192", "memory: 8", "at least 16"),
            ("name: mirrorlog", "name: mirror_log", "not a DNS name"),
            ("hookscript: local:", "hookscript: ", "not a volume id"),
            ("virtio=BC:24", "virtio2=BC:24", "invalid key `virtio2`"),
            ("virtio=BC:24", "virtio=BD:24", "not a unicast MAC"),
            (
                ",bridge=vmbr0",
                ",bridge=vmbr0,bridge=vmbr1",
                "duplicate key `bridge`",
            ),
            (",firewall=0", ",firewall=maybe", "not a boolean"),
            (",firewall=0", ",tag=4095", "from 1 to 4094"),
            ("virtio=BC:24:11:00:02:30,", "", "`model` is missing"),
            (
                "discard=on",
                "discard=yes",
                "`yes` is not one of ignore, on",
            ),
            ("iothread=0", "iothread=2", "not a boolean"),
            ("size=32G", "size=32X", "not a disk size"),
            ("size=32G", "size=32G,speed=9", "invalid key `speed`"),
            (
                "local-zfs:vm-230-disk-0",
                "vm-230-disk-0",
                "not a volume id",
            ),
            ("vm-230-disk-0", "vm-231-disk-0", "belongs to VM 231"),
            ("scsi0: local", "scsi31: local", "`scsi31` is not a key"),
            ("net0: virtio", "net32: virtio", "`net32` is not a key"),
            (
                "order=scsi0;net0",
                "order=scsi0;net1",
                "boot device `net1` is not in the config",
            ),
            ("order=scsi0", "order=floppy0", "not device[;device...]"),
            ("cores: 4\n", "cores: 4\ncores: 8\n", "`cores` again"),
            (
                "cores: 4\n",
                "cores: 4\nballoon: 0\n",
                "`balloon` is not a key",
            ),
            ("cores: 4\n", "cores: 4\n[snapshot]\n", "no section"),
            ("cores: 4\n", "cores 4\n", "unable to parse config"),
        ],
        good,
    );
    assert!(
        check_config("99.conf", GOOD).is_err(),
        "VM ids start at 100"
    );
}
