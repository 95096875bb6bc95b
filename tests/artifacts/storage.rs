//! /etc/pve/storage.cfg read strictly by `lugc::storage_cfg`, which follows
//! PVE's SectionConfig grammar and storage plugins.

use super::{assert_rejects, check_all, of_kind, Kind};
use lugc::storage_cfg::{self, parse, ParseError};

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
    // unknown type
    ("nfs: vdp\n", "cifs: vdp\n", "unknown storage type"),
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
