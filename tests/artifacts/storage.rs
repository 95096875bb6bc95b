//! /etc/pve/storage.cfg read strictly by `storage_cfg::parse`
//! (tests/storage_cfg/), which follows PVE's SectionConfig grammar and
//! storage plugins.

use super::{assert_rejects, check_all, of_kind, Kind};
use crate::common::render_storage_cfg;
use crate::storage_cfg::schema::{Format, TypeSpec, PROPERTIES, SECRETS, TYPES};
use crate::storage_cfg::{self, parse, ParseError};

fn check(text: &str) -> Result<(), String> {
    parse(text).map(drop).map_err(|errors| {
        errors
            .iter()
            .map(ParseError::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })
}

#[test]
fn every_storage_cfg_reads_as_pve_would() {
    check_all(&of_kind(Kind::StorageCfg), |artifact| {
        check(&artifact.text())
    });
}

/// `text` with the items of each `content` and `nodes` line rearranged by `f`.
fn with_sets(text: &str, f: impl Fn(&mut Vec<&str>)) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        match line.split_once(' ') {
            Some((key @ ("\tcontent" | "\tnodes"), items)) => {
                let mut items: Vec<&str> = items.trim_end().split(',').collect();
                f(&mut items);
                out += &format!("{key} {}\n", items.join(","));
            }
            _ => out += line,
        }
    }
    out
}

/// `content` and `nodes` lines with their items sorted: PVE's writer puts
/// them in Perl hash order, which changes from run to run.
fn sets_sorted(text: &str) -> String {
    with_sets(text, |items| items.sort_unstable())
}

/// The text PVE's writer makes of what PVE reads in `text` (pve-common's
/// SectionConfig `write_config`) must be `text`, up to the order in sets.
fn as_pve_writes(text: &str) -> Result<(), String> {
    let reading = storage_cfg::read(text);
    if let Some(warning) = reading.warnings.first() {
        return Err(format!(
            "PVE warns at line {}: {}",
            warning.line, warning.message
        ));
    }
    let rewritten = storage_cfg::write(&reading.config);
    if sets_sorted(&rewritten) == sets_sorted(text) {
        Ok(())
    } else {
        Err(format!(
            "PVE's writer would rewrite it:\n{}",
            similar::TextDiff::from_lines(text, &rewritten)
                .unified_diff()
                .header("as rendered", "as PVE writes it")
        ))
    }
}

#[test]
fn every_storage_cfg_is_laid_out_as_pves_writer_lays_it_out() {
    check_all(&of_kind(Kind::StorageCfg), |artifact| {
        as_pve_writes(&artifact.text())
    });
}

/// Drift detection reads storage.cfg as PVE does: PVE's rewrite of the
/// committed file is no drift, an edit on the host is.
#[test]
fn a_pve_rewrite_of_storage_cfg_is_the_same_and_an_edit_is_not() {
    for artifact in of_kind(Kind::StorageCfg) {
        let text = artifact.text();
        // What PVE's rewrite may change: the order inside sets.
        let rewritten = with_sets(&text, |items| items.reverse());
        assert_ne!(rewritten, text, "{artifact}: the rewrite changes no byte");
        assert!(storage_cfg::same(&text, &rewritten), "{artifact}");
        let edited = text.replacen("\tnodes ", "\tnodes pve-9,", 1);
        assert_ne!(edited, text);
        assert!(!storage_cfg::same(&text, &edited), "{artifact}");
    }
}

/// As PVE writes it: required keys sorted, then the others sorted; `disable`
/// first; an empty line after each section; `local` always there.
const WRITTEN: &str = "\
dir: local
\tpath /var/lib/vz
\tcontent snippets,iso
\tprune-backups keep-last=3

nfs: vdp
\tdisable
\texport /srv/nfs/el
\tpath /mnt/pve/vdp
\tserver 192.168.93.20
\tcontent iso,backup
\tnodes pve-6,pve-7
\toptions vers=4.2,soft

lvm: vdp2-lvm
\tvgname vdp2
\tcontent images
\tsaferemove 0
\tshared 1

iscsi: vdp2
\tportal 192.168.10.1:3260
\ttarget iqn.2002-10.com.infortrend:raid.sn8223150.001
\tcontent none

";

#[test]
fn a_layout_pves_writer_would_change_is_rejected() {
    assert_rejects(
        WRITTEN,
        &[
            (
                "\tpath /mnt/pve/vdp\n\tserver 192.168.93.20\n",
                "\tserver 192.168.93.20\n\tpath /mnt/pve/vdp\n",
                "would rewrite",
            ),
            (
                "\tnodes pve-6,pve-7\n\toptions vers=4.2,soft\n",
                "\toptions vers=4.2,soft\n\tnodes pve-6,pve-7\n",
                "would rewrite",
            ),
            (
                "\tdisable\n\texport /srv/nfs/el\n",
                "\texport /srv/nfs/el\n\tdisable 1\n",
                "would rewrite",
            ),
            ("\tshared 1\n", "\tshared\n", "would rewrite"),
            ("\tcontent none\n\n", "\tcontent none\n", "would rewrite"),
            ("soft\n\nlvm", "soft\n\n\nlvm", "would rewrite"),
            (
                "\tshared 1\n",
                "\tshared 1\n\tsparse 1\n",
                "PVE warns at line 20",
            ),
        ],
        as_pve_writes,
    );
}

const GOOD: &str = "\
# shared by the cluster
dir: local
\tpath /var/lib/vz
\tcontent iso,vztmpl,backup,snippets

lvmthin: local-lvm
\tthinpool data
\tvgname pve
\tcontent rootdir,images

zfspool: local-zfs
\tpool rpool/data
\tcontent images,rootdir
\tnodes pve-5
\tsparse 1

nfs: vdp
\tserver 192.168.93.10
\texport /srv/vdp
\tpath /mnt/pve/vdp
\tcontent backup
\tnodes pve-6,pve-7

iscsi: vdp2
\tportal 192.168.10.1:3260
\ttarget iqn.2002-10.com.infortrend:raid.sn8223150.001
\tcontent none
\tdisable

lvm: vdp2-lvm
\tvgname vdp2
\tshared 0

pbs: esxi-5-data
\tserver esxi-5
\tdatastore data
\tusername root@pam
\tfingerprint 3a:5c:77:0e:1b:24:de:90:ab:cd:ef:01:23:45:67:89:3a:5c:77:0e:1b:24:de:90:ab:cd:ef:01:23:45:67:89
\tcontent backup
";

#[test]
fn a_pve_written_storage_cfg_reads_back_section_by_section() {
    let cfg = parse(GOOD).unwrap_or_else(|e| panic!("{e:?}"));
    let ids: Vec<&str> = cfg.sections.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "local",
            "local-lvm",
            "local-zfs",
            "vdp",
            "vdp2",
            "vdp2-lvm",
            "esxi-5-data"
        ]
    );
    let zfs = cfg.section("local-zfs").unwrap();
    assert_eq!((zfs.storage_type.as_str(), zfs.line), ("zfspool", 11));
    assert_eq!(zfs.nodes(), ["pve-5"]);
    assert!(zfs.flag("sparse"));
    assert_eq!(cfg.section("vdp").unwrap().nodes(), ["pve-6", "pve-7"]);
    assert!(
        cfg.section("vdp2").unwrap().flag("disable"),
        "a bare boolean is 1"
    );
    assert!(!cfg.section("vdp2-lvm").unwrap().flag("shared"));
    assert_eq!(cfg.section("local").unwrap().content()[3], "snippets");
    assert!(cfg.section("local").unwrap().nodes().is_empty());
}

/// Each case breaks GOOD in one place: (from, to, part of the error).
const BROKEN: &[(&str, &str, &str)] = &[
    // CRLF
    (
        "\tpool rpool/data\n",
        "\tpool rpool/data\r\n",
        "carriage return",
    ),
    // whitespace-only separator
    (
        "\tvgname pve\n\tcontent rootdir,images\n\n",
        "\tvgname pve\n\tcontent rootdir,images\n \n",
        "whitespace-only",
    ),
    // no separator
    (
        "\tcontent rootdir,images\n\nzfspool",
        "\tcontent rootdir,images\nzfspool",
        "section ends only at an empty line",
    ),
    // space indent
    ("\tpool rpool/data", "    pool rpool/data", "one TAB"),
    // unindented property
    ("\tpool rpool/data", "pool rpool/data", "one TAB"),
    // missing pool
    ("\tpool rpool/data\n", "", "required key `pool`"),
    // missing thinpool
    ("\tthinpool data\n", "", "required key `thinpool`"),
    // missing nfs export
    ("\texport /srv/vdp\n", "", "required key `export`"),
    // missing iscsi target
    (
        "\ttarget iqn.2002-10.com.infortrend:raid.sn8223150.001\n",
        "",
        "required key `target`",
    ),
    // missing pbs datastore
    ("\tdatastore data\n", "", "required key `datastore`"),
    // duplicate key
    (
        "\tsparse 1\n",
        "\tsparse 1\n\tsparse 0\n",
        "duplicate key `sparse`",
    ),
    // duplicate id
    (
        "nfs: vdp\n",
        "nfs: local-zfs\n",
        "duplicate storage id `local-zfs`",
    ),
    // id with a capital
    ("nfs: vdp\n", "nfs: Vdp\n", "does not match"),
    // id ending in a dash
    ("nfs: vdp\n", "nfs: vdp-\n", "does not match"),
    // a type pve-storage 9 does not have
    ("nfs: vdp\n", "glusterfs: vdp\n", "unknown storage type"),
    // password
    (
        "\tusername root@pam\n",
        "\tusername root@pam\n\tpassword hunter2\n",
        "password",
    ),
    // boolean yes
    ("\tsparse 1", "\tsparse yes", "0 or 1"),
    // unknown key
    (
        "\tsparse 1",
        "\tsparse 1\n\tthin 1",
        "`thin` is not a property of zfspool",
    ),
    // content of another type
    (
        "\tcontent rootdir,images",
        "\tcontent rootdir,iso",
        "content iso not allowed",
    ),
    // bad node name
    ("\tnodes pve-5", "\tnodes pve_5", "node names"),
    // bad fingerprint
    (
        "3a:5c:77:0e:1b:24:de:90:ab:cd:ef:01:23:45:67:89\n",
        "3a:5c\n",
        "32 hex pairs",
    ),
    // relative path
    ("\tpath /mnt/pve/vdp", "\tpath mnt/pve/vdp", "absolute path"),
    // value without key separator
    (
        "\tdatastore data",
        "\tdatastore",
        "needs one space and a value",
    ),
    // trailing whitespace
    (
        "\tdatastore data",
        "\tdatastore data ",
        "trailing whitespace",
    ),
    // local not at /var/lib/vz
    ("\tpath /var/lib/vz", "\tpath /srv/vz", "`local` must be"),
    // local not a dir
    (
        "dir: local\n\tpath /var/lib/vz\n",
        "lvm: local\n\tvgname pve\n",
        "`local` must be",
    ),
    // nodes on local
    (
        "\tpath /var/lib/vz\n",
        "\tpath /var/lib/vz\n\tnodes pve-5\n",
        "`nodes` on `local`",
    ),
    // garbage header
    ("nfs: vdp\n", "nfs vdp\n", "section header"),
    // no final newline
    (
        "67:89\n\tcontent backup\n",
        "67:89\n\tcontent backup",
        "end with a newline",
    ),
];

#[test]
fn the_reader_rejects_what_pve_would_drop_or_misread() {
    assert_rejects(GOOD, BROKEN, check);
}

#[test]
fn errors_carry_the_line_and_every_problem_is_reported() {
    let broken =
        GOOD.replacen("\tsparse 1", "\tsparse yes", 1)
            .replacen("\tpool rpool/data\n", "", 1);
    let errors = parse(&broken).unwrap_err();
    let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [11, 14], "{errors:?}");
    assert!(errors[1]
        .to_string()
        .starts_with("storage.cfg line 14: in `local-zfs`"));
}

/// A value of property `key` (of format `format`) on a `spec` storage, as
/// cluster.ncl writes it and as storage.cfg holds it.
fn example(key: &str, format: Format, spec: &TypeSpec) -> (String, String) {
    let text = |value: &str| (format!("{value:?}"), value.to_owned());
    let number = |n: i64| (n.to_string(), n.to_string());
    match format {
        Format::Boolean => ("true".to_owned(), "1".to_owned()),
        // lib/ gives a pbs storage PBS' port.
        Format::Integer(..) if key == "port" => number(8007),
        Format::Integer(least, _) => number(least.max(1)),
        Format::IntegerOf(values) => number(values[0]),
        Format::OneOf(_) if key == "format" => text(spec.formats[0]),
        Format::OneOf(values) => text(values[0]),
        Format::NodeList => ("[\"pve-5\"]".to_owned(), "pve-5".to_owned()),
        Format::ContentList => (
            format!("[{:?}]", spec.content[0]),
            spec.content[0].to_owned(),
        ),
        Format::DirOverrideList => text(&format!("{}=dir/sub", spec.content[0])),
        Format::StoragePath => text("/mnt/pve/store"),
        Format::Server => text("nas.example.org"),
        Format::LvmName => text("pve"),
        Format::VolumeId => text("local-lvm:base-100-disk-0"),
        Format::Portal => text("192.168.10.1:3260"),
        Format::PortalList => text("10.0.0.1,10.0.0.2"),
        Format::MountOptions => text("vers=4.2,soft"),
        Format::ZfsBlocksize => text("16k"),
        Format::ConfigId => text("cephfs"),
        Format::Fingerprint => text(&vec!["AB"; 32].join(":")),
        Format::PruneBackups => text("keep-daily=7,keep-weekly=4"),
        Format::Bwlimit => text("default=102400,restore=51200"),
        Format::Text | Format::TextUpTo(_) => match key {
            "target" => text("iqn.2002-10.com.infortrend:raid.sn8223150.001"),
            "username" => text("root@pam"),
            _ => text("store-1"),
        },
    }
}

/// Every property of a `spec` storage lugc may describe (not the secrets
/// PVE keeps under /etc/pve/priv/, nor `format` where PVE stores none), as
/// (key, Nickel literal, storage.cfg value).
fn described(spec: &TypeSpec) -> Vec<(&'static str, String, String)> {
    spec.options
        .iter()
        .filter(|(key, _)| !SECRETS.iter().any(|(secret, _)| secret == key))
        .filter(|(key, _)| *key != "format" || !spec.formats.is_empty())
        .map(|&(key, _)| {
            let (format, _) = spec.property(key).unwrap();
            let (literal, written) = example(key, format, spec);
            (key, literal, written)
        })
        .collect()
}

fn nickel_section(spec: &TypeSpec, properties: &[(&str, String, String)]) -> String {
    let fields: Vec<String> = properties
        .iter()
        .map(|(key, literal, _)| format!("{key:?} = {literal}"))
        .collect();
    format!("{{ type = {:?}, {} }}", spec.name, fields.join(", "))
}

/// pve-storage 9.1.7's storage types one by one: a section holding every
/// property of its type is taken by lib/'s contract, rendered as PVE's
/// writer lays it out, read by PVE without a warning and with each value.
#[test]
fn every_storage_type_of_pve_takes_each_of_its_properties() {
    let sections: Vec<String> = TYPES
        .iter()
        .map(|spec| {
            format!(
                "t-{} = {}",
                spec.name,
                nickel_section(spec, &described(spec))
            )
        })
        .collect();
    let local = "local = { type = \"dir\", path = \"/var/lib/vz\", content = [\"iso\"] }";
    let text = render_storage_cfg(&format!("{{ {local},\n{} }}", sections.join(",\n")))
        .unwrap_or_else(|error| panic!("{error:?}"));
    check(&text).unwrap_or_else(|error| panic!("{error}\n{text}"));
    as_pve_writes(&text).unwrap_or_else(|error| panic!("{error}\n{text}"));
    let config = storage_cfg::read(&text).config;
    assert!(config.foreign.is_empty(), "{config:?}");
    for spec in TYPES {
        let storage = &config.storages[&format!("t-{}", spec.name)];
        assert_eq!(storage.storage_type, spec.name);
        assert!(storage.foreign.is_empty(), "{}: {storage:?}", spec.name);
        for (key, _, written) in described(spec) {
            let value = storage
                .values
                .get(key)
                .unwrap_or_else(|| panic!("{}: PVE keeps no {key}\n{text}", spec.name));
            let shown = value.to_string();
            assert_eq!(
                shown.replace(',', " "),
                written.replace(',', " "),
                "{}: {key}",
                spec.name
            );
        }
    }
}

/// Without one of its required properties, a section is refused by lib/'s
/// contract, at the place and in the words PVE would skip it with.
#[test]
fn every_storage_type_requires_what_pve_requires() {
    for spec in TYPES {
        let all = described(spec);
        let table = format!("{{ t-{} = {} }}", spec.name, nickel_section(spec, &all));
        let text = render_storage_cfg(&table).unwrap_or_else(|error| panic!("{error:?}"));
        for key in spec.required() {
            let without: Vec<_> = all.iter().filter(|(k, _, _)| *k != key).cloned().collect();
            let table = format!("{{ t-{} = {} }}", spec.name, nickel_section(spec, &without));
            let error = format!("{:?}", render_storage_cfg(&table).unwrap_err());
            let expected =
                format!("missing required key `{key}`; PVE would skip the whole section");
            assert!(error.contains(&expected), "{}: {error}", spec.name);
            let line = all.iter().find(|(k, _, _)| *k == key).unwrap();
            let cut = text.replacen(&format!("\t{key} {}\n", line.2), "", 1);
            assert_ne!(cut, text, "{}: {key}", spec.name);
            let reading = storage_cfg::read(&cut);
            assert!(!reading
                .config
                .storages
                .contains_key(&format!("t-{}", spec.name)));
            let warned = format!("missing value for required option '{key}'");
            assert!(
                reading.warnings.iter().any(|w| w.message.contains(&warned)),
                "{}: {:?}",
                spec.name,
                reading.warnings
            );
        }
        let optional: Vec<&str> = spec
            .options
            .iter()
            .filter(|(_, need)| !need.required())
            .map(|(k, _)| *k)
            .collect();
        assert!(optional.contains(&"content"), "{}", spec.name);
    }
    // PBS: the fingerprint may be left out (a trusted certificate).
    let pbs = TYPES.iter().find(|spec| spec.name == "pbs").unwrap();
    assert!(!pbs.required().any(|key| key == "fingerprint"));
}

/// What PVE keeps under /etc/pve/priv/ never goes into storage.cfg.
#[test]
fn a_secret_property_is_refused_and_named_with_its_place() {
    for (type_name, key, place) in [
        ("cifs", "password", "/etc/pve/priv/storage/t-cifs.pw"),
        ("rbd", "keyring", "/etc/pve/priv/ceph/t-rbd.keyring"),
    ] {
        let spec = TYPES.iter().find(|spec| spec.name == type_name).unwrap();
        let mut properties = described(spec);
        properties.push((key, "\"hunter2\"".to_owned(), String::new()));
        let table = format!(
            "{{ t-{type_name} = {} }}",
            nickel_section(spec, &properties)
        );
        let error = format!("{:?}", render_storage_cfg(&table).unwrap_err());
        assert!(
            error.contains(&format!(
                "`{key}` never goes into storage.cfg or out/; PVE keeps it in {place}"
            )),
            "{error}"
        );
    }
}

/// A value of `format` that PVE refuses, as cluster.ncl would write it and
/// as storage.cfg would hold it; none where any text goes.
fn refused(format: Format) -> Option<(String, String)> {
    let text = |value: &str| Some((format!("{value:?}"), value.to_owned()));
    match format {
        Format::Text => None,
        Format::TextUpTo(most) => text(&"x".repeat(most + 1)),
        Format::Boolean => Some(("\"yes\"".to_owned(), "yes".to_owned())),
        Format::Integer(least, _) => Some(((least - 1).to_string(), (least - 1).to_string())),
        Format::IntegerOf(_) => Some(("3".to_owned(), "3".to_owned())),
        Format::OneOf(_) => text("bogus"),
        Format::NodeList => Some(("[\"pve_5\"]".to_owned(), "pve_5".to_owned())),
        Format::ContentList => Some(("[\"disks\"]".to_owned(), "disks".to_owned())),
        Format::DirOverrideList => text("iso=a..b"),
        Format::StoragePath => text("mnt/pve"),
        Format::Server => text("nas_1.example.org"),
        Format::LvmName => text("pve vg"),
        Format::VolumeId => text("base-100-disk-0"),
        Format::Portal => text("192.168.10.1:port"),
        Format::PortalList => text("10.0.0.1,10.0.0.2:x"),
        Format::MountOptions => text("vers=4.2 soft"),
        Format::ZfsBlocksize => text("3k"),
        Format::ConfigId => text("2fs"),
        Format::Fingerprint => text("AB:CD"),
        Format::PruneBackups => text("keep-dialy=7"),
        Format::Bwlimit => text("fast=10"),
    }
}

/// lib/'s contract refuses, at the value, each value that PVE's format of
/// its property refuses: each format, on the first property and type with it.
#[test]
fn every_format_of_pve_refuses_in_lib_what_pve_refuses() {
    let mut tried: Vec<&str> = Vec::new();
    for (key, format) in PROPERTIES {
        let Some(spec) = TYPES
            .iter()
            .find(|spec| described(spec).iter().any(|(k, _, _)| k == key))
        else {
            continue;
        };
        let Some((literal, written)) = refused(*format).filter(|_| !tried.contains(&format.tag()))
        else {
            continue;
        };
        tried.push(format.tag());
        assert!(format.check(&written).is_err(), "{key} {written}");
        let properties: Vec<_> = described(spec)
            .into_iter()
            .map(|(k, l, w)| {
                if k == *key {
                    (k, literal.clone(), w)
                } else {
                    (k, l, w)
                }
            })
            .collect();
        let table = format!(
            "{{ t-{} = {} }}",
            spec.name,
            nickel_section(spec, &properties)
        );
        let errors = render_storage_cfg(&table)
            .err()
            .unwrap_or_else(|| panic!("{key} = {literal} is taken"));
        let file = errors.shown[0]
            .file
            .as_ref()
            .map(|file| file.name().to_owned());
        assert!(
            file.is_some_and(|name| !name.starts_with("lib/")),
            "{errors:?}"
        );
    }
    assert_eq!(tried.len(), 20, "{tried:?}");
}
