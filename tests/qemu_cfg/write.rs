//! PVE's writer of VM configs (qemu-server's `write_vm_config`): what a
//! rendered config must be, since PVE rewrites it at every `qm set` or
//! backup lock.

use std::collections::BTreeSet;

use lugc::qemu_cfg::{decode_text, is_drive, read, Drive, Section, VmConfig};

/// `PVE::ParseUtils::encode_text`: the UTF-8 bytes, each control or
/// high-bit byte, `%` and `:` as `%XX` (upper case).
fn encode_text(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        let safe = matches!(byte, 0x20..=0x24 | 0x26..=0x39 | 0x3b..=0x7e);
        if safe {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// What `write_vm_config` writes for `config`.
pub fn write(config: &VmConfig) -> String {
    let mut main = config.main.clone();
    main.values.remove("snapstate");
    // `smp` is written as `sockets`, which then stands alone.
    if main.values.contains_key("sockets") {
        main.values.remove("smp");
    } else if let Some(smp) = main.values.remove("smp") {
        main.values.insert("sockets".to_owned(), smp);
        main.values.remove("cores");
    }
    // An `unusedN` whose volume a disk (or a pending one) attaches again is dropped.
    let attached: BTreeSet<String> = main
        .values
        .iter()
        .chain(&config.pending.values)
        .filter(|(key, _)| is_drive(key) && !key.starts_with("unused"))
        .filter_map(|(_, value)| Drive::parse(value).map(|drive| drive.file))
        .collect();
    main.values
        .retain(|key, value| !key.starts_with("unused") || !attached.contains(value));
    let mut out = raw_section(&main, false);
    if !config.pending.values.is_empty() {
        out += "\n[PENDING]\n";
        out += &raw_section(&config.pending, true);
    }
    for (name, section) in &config.special {
        out += &format!("\n[special:{name}]\n");
        out += &raw_section(section, false);
    }
    for (name, section) in &config.snapshots {
        out += &format!("\n[{name}]\n");
        out += &raw_section(section, false);
    }
    out
}

/// `$generate_raw_config`: the description as `#` lines, then the keys sorted.
fn raw_section(section: &Section, pending: bool) -> String {
    let mut raw = String::new();
    match section.description() {
        // Perl's truth: "" and "0" are false.
        Some(description) if !description.is_empty() && description != "0" => {
            for line in description.trim_end_matches('\n').split('\n') {
                raw += &format!("#{}\n", encode_text(line));
            }
        }
        Some(_) if pending => raw += "#\n",
        _ => {}
    }
    for (key, value) in &section.values {
        if key != "description" {
            raw += &format!("{key}: {value}\n");
        }
    }
    raw
}

/// 230.conf as lugc renders it, and as PVE writes it back.
const RENDERED: &str = include_str!("rendered.conf");
const REWRITTEN: &str = include_str!("rewritten.conf");

#[test]
fn pves_rewrite_encodes_a_colon_in_the_notes_and_is_stable() {
    assert_eq!(write(&read(RENDERED).config), REWRITTEN);
    assert_eq!(write(&read(REWRITTEN).config), REWRITTEN);
}

#[test]
fn sections_follow_the_main_one_in_pves_order() {
    let config = read(include_str!("sections.conf")).config;
    assert_eq!(
        write(&config),
        "#notes\ncores: 4\nide2: none,media=cdrom\n\n[PENDING]\ncores: 8\ndelete: net1\n\n\
         [special:cloudinit]\nipconfig0: ip=dhcp\nwhatever: kept\n\n\
         [before-upgrade]\n#snapshot%3A notes\ncores: 2\nsnapstate: delete\nsnaptime: 1700000000\n"
    );
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
fn text_is_encoded_as_parse_utils_does() {
    assert_eq!(encode_text("50% of a: b\té"), "50%25 of a%3A b%09%C3%A9");
    for text in ["", "plain", "a:b%c", "ünïcode: ✓", "\u{1}\u{7f}"] {
        assert_eq!(decode_text(&encode_text(text)), text);
    }
}
