//! `lugc show`: a host's files from out/ or built in memory, checked
//! against MANIFESTs and sources; nothing is written.

use lugc::manifest::Manifest;

use crate::common::{stderr, stdout, Fixture};

#[test]
fn shows_a_hosts_files_from_out_and_refuses_a_stale_or_edited_out() {
    let fixture = Fixture::new();
    assert!(fixture.run(&["build"]).status.success());
    let out = fixture.tree("out");

    let hostname = fixture.run(&["show", "pve-6", "/etc/hostname"]);
    assert!(hostname.status.success(), "{}", stderr(&hostname));
    assert_eq!(
        hostname.stdout,
        fixture.read("out/pve-6/etc/hostname").as_bytes()
    );

    let own = Manifest::parse(&fixture.read("out/pve-6/MANIFEST")).unwrap();
    let cluster = Manifest::parse(&fixture.read("out/cluster/MANIFEST")).unwrap();
    assert!(cluster.reaches.contains(&"pve-6".to_owned()));
    let listing = stdout(&fixture.run(&["show", "pve-6", "--list"]));
    assert_eq!(
        listing.lines().count(),
        own.entries.len() + cluster.entries.len(),
        "its own files and the cluster's: {listing}"
    );
    assert!(
        listing.contains(
            "0644 root:root /etc/chrony/chrony.conf  (systemctl restart chrony.service)\n"
        ),
        "{listing}"
    );
    assert!(
        listing.contains(" /etc/pve/storage.cfg  [cluster]\n"),
        "{listing}"
    );

    let apt = stdout(&fixture.run(&["show", "pve-6", "/etc/apt/sources.list.d/"]));
    let under: Vec<_> = own
        .entries
        .iter()
        .filter(|entry| entry.path.starts_with("/etc/apt/sources.list.d/"))
        .collect();
    assert!(!under.is_empty());
    assert_eq!(apt.matches("==> ").count(), under.len(), "{apt}");
    for entry in under {
        assert!(
            apt.contains(&format!(
                "==> {} ({:04o} {}) <==\n",
                entry.path, entry.mode, entry.owner
            )),
            "{apt}"
        );
    }
    let pmxcfs = stdout(&fixture.run(&["show", "pve-6", "/etc/pve/storage.cfg"]));
    assert_eq!(pmxcfs, fixture.read("out/cluster/etc/pve/storage.cfg"));

    let unknown = fixture.run(&["show", "pve-66"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("no host or bundle `pve-66` in out/")
            && stderr(&unknown).contains("did you mean `pve-6`?"),
        "{}",
        stderr(&unknown)
    );
    let missing = fixture.run(&["show", "pve-6", "/etc/nothing"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("pve-6 has no file /etc/nothing"),
        "{}",
        stderr(&missing)
    );

    // A stale out/ is refused; --rebuild shows the sources without writing.
    fixture.edit("cluster.ncl", "\"time.ustc.edu.cn\"", "\"ntp.example.org\"");
    let stale = fixture.run(&["show", "pve-6", "/etc/chrony/chrony.conf"]);
    assert_eq!(stale.status.code(), Some(2));
    assert!(
        stderr(&stale).contains("out/ is stale"),
        "{}",
        stderr(&stale)
    );
    let rebuilt = fixture.run(&["show", "pve-6", "/etc/chrony/chrony.conf", "--rebuild"]);
    assert!(rebuilt.status.success(), "{}", stderr(&rebuilt));
    assert!(stdout(&rebuilt).contains("\nserver ntp.example.org iburst\n"));
    fixture.edit("cluster.ncl", "\"ntp.example.org\"", "\"time.ustc.edu.cn\"");

    // So is a file that does not match its MANIFEST line.
    fixture.write("out/pve-6/etc/hostname", "edited\n");
    let edited = fixture.run(&["show", "pve-6", "/etc/hostname"]);
    assert_eq!(edited.status.code(), Some(2));
    assert!(
        stderr(&edited).contains("out/ was edited by hand")
            && stderr(&edited).contains("out/pve-6/etc/hostname ("),
        "{}",
        stderr(&edited)
    );
    assert_eq!(stdout(&edited), "");
    fixture.write(
        "out/pve-6/etc/hostname",
        &String::from_utf8(out[std::path::Path::new("pve-6/etc/hostname")].clone()).unwrap(),
    );
    assert_eq!(fixture.tree("out"), out, "show writes nothing");
}
