//! Every view of one diff, checked whole: a change grouped across hosts, a
//! host's own change, a named storage.cfg hunk, a mode change, a binary
//! file, a removed file and a renamed host.

use crate::diff::fixture::{mem, tree};
use crate::diff::source::MemTree;
use crate::diff::{compare, draw, Options, View};

const RESTART: Option<&str> = Some("systemctl restart chrony.service");
const OLD_CHRONY: &str = "server time.ustc.edu.cn iburst\nmakestep 1 3\n";
const NEW_CHRONY: &str = "server ntp.example.org iburst\nmakestep 1 3\n";
const OLD_STORAGE: &str =
    "dir: local\n\tpath /var/lib/vz\n\tcontent iso,backup\n\nzfspool: tank\n\tpool rpool/data\n\tcontent images\n";
const NEW_STORAGE: &str = "dir: local\n\tpath /var/lib/vz\n\tcontent iso,backup\n\nzfspool: tank\n\tpool rpool/data\n\tcontent images,rootdir\n";

fn old() -> MemTree {
    let cfg = ("/etc/pve/storage.cfg", OLD_STORAGE, 0o640, None);
    let chrony = ("/etc/chrony/chrony.conf", OLD_CHRONY, 0o644, RESTART);
    mem(
        "main",
        vec![
            tree("cluster", &["pve-5", "pve-6"], &[cfg]),
            tree(
                "pve-5",
                &["pve-5"],
                &[
                    chrony,
                    ("/etc/hostname", "pve-5\n", 0o644, None),
                    ("/etc/motd", "welcome to pve-5\n", 0o644, None),
                ],
            ),
            tree(
                "pve-6",
                &["pve-6"],
                &[
                    chrony,
                    ("/etc/hostname", "pve-6\n", 0o644, None),
                    ("/etc/old.conf", "obsolete\n", 0o644, None),
                ],
            ),
            tree(
                "pve-7",
                &["pve-7"],
                &[chrony, ("/etc/hostname", "pve-7\n", 0o644, None)],
            ),
        ],
    )
}

fn new() -> MemTree {
    let cfg = ("/etc/pve/storage.cfg", NEW_STORAGE, 0o640, None);
    let chrony = ("/etc/chrony/chrony.conf", NEW_CHRONY, 0o644, RESTART);
    mem(
        "HEAD",
        vec![
            tree("cluster", &["pve-5", "pve-6"], &[cfg]),
            tree(
                "pve-5",
                &["pve-5"],
                &[
                    chrony,
                    ("/etc/hostname", "pve-5\n", 0o644, None),
                    ("/etc/motd", "welcome to pve-5\n", 0o600, None),
                    ("/etc/blob.bin", "\0\u{1}\u{2}", 0o644, None),
                ],
            ),
            tree(
                "pve-6",
                &["pve-6"],
                &[chrony, ("/etc/hostname", "pve-6\n", 0o644, None)],
            ),
            tree(
                "pve-12",
                &["pve-12"],
                &[chrony, ("/etc/hostname", "pve-12\n", 0o644, None)],
            ),
        ],
    )
}

fn drawn(view: &View, color: bool) -> String {
    let report = compare(&old(), &new(), &Options::default()).unwrap();
    let mut out = Vec::new();
    draw(&report, view, color, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn every_view_is_drawn_whole() {
    let markdown = |max_bytes, details: Option<&str>| View::Markdown {
        max_bytes,
        details: details.map(str::to_owned),
    };
    let views = [
        ("text", View::Text, false),
        ("stat", View::Stat, false),
        ("stat_in_colour", View::Stat, true),
        ("name_only", View::NameOnly, false),
        ("json", View::Json, false),
        ("markdown", markdown(65536, None), false),
        (
            "markdown_over_its_budget",
            markdown(900, Some("https://ci.example.org/job/1")),
            false,
        ),
    ];
    for (name, view, color) in views {
        insta::assert_snapshot!(name, drawn(&view, color));
    }
}
