use super::*;

/// 230.conf as lugc renders it: a literal `:` in the notes.
const RENDERED: &str = "\
#VM 230 (mirrorlog) on pve-5, rendered by lugc from cluster.ncl.
#Guest /etc/fstab line for virtiofs: mirrorlog /mnt/mirrorlog virtiofs defaults 0 0
boot: order=scsi0
cores: 4
memory: 8192
name: mirrorlog
net0: virtio=BC:24:11:00:02:30,bridge=vmbr0
ostype: l26
scsi0: local-zfs:vm-230-disk-0,discard=on,size=32G
scsihw: virtio-scsi-pci
";

/// The same config after PVE wrote it back (`qm set`, a backup's lock).
const REWRITTEN: &str = "\
#VM 230 (mirrorlog) on pve-5, rendered by lugc from cluster.ncl.
#Guest /etc/fstab line for virtiofs%3A mirrorlog /mnt/mirrorlog virtiofs defaults 0 0
boot: order=scsi0
cores: 4
memory: 8192
name: mirrorlog
net0: virtio=BC:24:11:00:02:30,bridge=vmbr0
ostype: l26
scsi0: local-zfs:vm-230-disk-0,discard=on,size=32G
scsihw: virtio-scsi-pci
";

#[test]
fn pves_rewrite_of_a_description_with_a_colon_is_the_same_config() {
    let reading = read(RENDERED);
    assert!(reading.warnings.is_empty(), "{:?}", reading.warnings);
    assert_eq!(
        reading.config.main.description(),
        Some(
            "VM 230 (mirrorlog) on pve-5, rendered by lugc from cluster.ncl.\n\
             Guest /etc/fstab line for virtiofs: mirrorlog /mnt/mirrorlog virtiofs defaults 0 0"
        )
    );
    assert_eq!(write(&reading.config), REWRITTEN);
    assert!(same(RENDERED, REWRITTEN));
    assert_eq!(write(&read(REWRITTEN).config), REWRITTEN);
}

#[test]
fn values_are_compared_as_check_type_reads_them() {
    let base = "ostype: l26\nonboot: 1\ncores: 4\n";
    assert!(same(base, "cores: 04\n\nonboot: yes\nostype: \"l26\"\n"));
    assert!(same(
        base,
        "ostype: l26\nonboot: ON\ncores: 4\nfrobnicate: 1\n"
    ));
    assert!(!same(base, "ostype: l26\nonboot: 1\ncores: 8\n"));
    assert!(!same(base, "ostype: l26\ncores: 4\n"));
    // `name` has a format: its quotes are kept.
    assert!(!same("name: a\n", "name: \"a\"\n"));
    // A disk's property string is kept as written.
    assert!(!same(
        "scsi0: local-zfs:vm-230-disk-0,discard=on,size=32G\n",
        "scsi0: local-zfs:vm-230-disk-0,size=32G,discard=on\n"
    ));
    let reading = read("cores: four\nfrobnicate: 1\n cores: 2\n");
    let lines: Vec<usize> = reading.warnings.iter().map(|w| w.line).collect();
    assert_eq!(lines, [1, 2, 3], "{:?}", reading.warnings);
    assert!(reading.config.main.values.is_empty());
}

#[test]
fn sections_pending_special_and_snapshots() {
    let text = "\
#notes
cores: 4
cdrom: none,media=cdrom
snapstate: prepare

[PENDING]
cores: 8
delete: net1

[special:cloudinit]
ipconfig0: ip=dhcp
whatever: kept

[before-upgrade]
#snapshot%3A notes
cores: 2
snaptime: 1700000000
snapstate: delete

[not a section]
cores: 99
";
    let config = read(text).config;
    assert_eq!(config.main.values["cores"], "4");
    assert_eq!(config.main.values["ide2"], "none,media=cdrom");
    assert!(!config.main.values.contains_key("snapstate"));
    assert_eq!(config.pending.values["delete"], "net1");
    assert_eq!(config.special["cloudinit"].values["whatever"], "kept");
    let snapshot = &config.snapshots["before-upgrade"];
    assert_eq!(snapshot.description(), Some("snapshot: notes"));
    assert_eq!(snapshot.values["snapstate"], "delete");
    assert_eq!(
        write(&config),
        "#notes\ncores: 4\nide2: none,media=cdrom\n\n[PENDING]\ncores: 8\ndelete: net1\n\n\
         [special:cloudinit]\nipconfig0: ip=dhcp\nwhatever: kept\n\n\
         [before-upgrade]\n#snapshot%3A notes\ncores: 2\nsnapstate: delete\nsnaptime: 1700000000\n"
    );
    let warnings = read("delete: net0\n[PENDING]\n[pending]\n").warnings;
    assert_eq!(warnings.len(), 2, "{warnings:?}");
}

#[test]
fn the_writer_folds_smp_and_drops_unused_disks_attached_again() {
    let config = read("smp: 2\ncores: 4\nscsi0: local:100/a.raw\nunused0: local:100/a.raw\nunused1: local:100/b.raw\n").config;
    assert_eq!(
        write(&config),
        "scsi0: local:100/a.raw\nsockets: 2\nunused1: local:100/b.raw\n"
    );
}

#[test]
fn text_is_encoded_and_decoded_as_parse_utils_does() {
    assert_eq!(encode_text("50% of a: b\té"), "50%25 of a%3A b%09%C3%A9");
    assert_eq!(decode_text("50%25 of a%3a b%09%C3%A9"), "50% of a: b\té");
    assert_eq!(decode_text("%zz%+1%4"), "%zz%+1%4");
    assert_eq!(decode_text("%FF"), "\u{fffd}");
    for text in ["", "plain", "a:b%c", "ünïcode: ✓", "\u{1}\u{7f}"] {
        assert_eq!(decode_text(&encode_text(text)), text);
    }
}

#[test]
fn a_description_line_and_white_space() {
    let config = read("description: first%3A line  \r\n#second   \n\ncores: 1\n").config;
    assert_eq!(config.main.description(), Some("first: linesecond"));
    assert_eq!(read("name:   \n").config.main.values["name"], " ");
}
