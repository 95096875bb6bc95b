use super::*;

/// 230.conf as lugc renders it: a literal `:` in the notes.
const RENDERED: &str = include_str!("../../../../tests/qemu_cfg/rendered.conf");

/// The same config after PVE wrote it back (`qm set`, a backup's lock).
const REWRITTEN: &str = include_str!("../../../../tests/qemu_cfg/rewritten.conf");

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
    assert!(same(RENDERED, REWRITTEN));
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
    let text = include_str!("../../../../tests/qemu_cfg/sections.conf");
    let config = read(text).config;
    assert_eq!(config.main.values["cores"], "4");
    assert_eq!(config.main.values["ide2"], "none,media=cdrom");
    assert!(!config.main.values.contains_key("snapstate"));
    assert_eq!(config.pending.values["delete"], "net1");
    assert_eq!(config.special["cloudinit"].values["whatever"], "kept");
    let snapshot = &config.snapshots["before-upgrade"];
    assert_eq!(snapshot.description(), Some("snapshot: notes"));
    assert_eq!(snapshot.values["snapstate"], "delete");
    let warnings = read("delete: net0\n[PENDING]\n[pending]\n").warnings;
    assert_eq!(warnings.len(), 2, "{warnings:?}");
}

#[test]
fn text_is_decoded_as_parse_utils_does() {
    assert_eq!(decode_text("50%25 of a%3a b%09%C3%A9"), "50% of a: b\té");
    assert_eq!(decode_text("%zz%+1%4"), "%zz%+1%4");
    assert_eq!(decode_text("%FF"), "\u{fffd}");
}

#[test]
fn a_description_line_and_white_space() {
    let config = read("description: first%3A line  \r\n#second   \n\ncores: 1\n").config;
    assert_eq!(config.main.description(), Some("first: linesecond"));
    assert_eq!(read("name:   \n").config.main.values["name"], " ");
}
