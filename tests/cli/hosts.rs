use crate::common::{stdout, Fixture};

#[test]
fn lists_every_host_with_site_membership_and_bundle_id() {
    let fixture = Fixture::new();
    let built = fixture.run(&["build"]);
    assert!(built.status.success());
    let listing = fixture.run(&["hosts"]);
    assert!(listing.status.success());
    let text = stdout(&listing);
    let index = fixture.read("out/INDEX");
    for line in index.lines().skip(1) {
        let (id, name) = line.split_once(' ').expect("id name");
        if name == "cluster" {
            assert!(!text.contains(id), "the cluster bundle is not a host");
            continue;
        }
        let row = text
            .lines()
            .find(|row| row.starts_with(&format!("{name} ")))
            .expect("host row");
        assert!(row.ends_with(id), "{row}");
    }
    assert!(text.lines().next().unwrap().starts_with("HOST"));
    let pve5 = text
        .lines()
        .find(|row| row.starts_with("pve-5 "))
        .expect("pve-5 row");
    let columns: Vec<&str> = pve5.split_whitespace().collect();
    assert_eq!(columns[..3], ["pve-5", "NIC", "member"]);
}

#[test]
fn lists_all_seven_hosts_of_the_fleet() {
    let fixture = Fixture::new();
    assert!(fixture.run(&["build"]).status.success());
    let listing = fixture.run(&["hosts"]);
    assert!(listing.status.success());
    let text = stdout(&listing);
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|row| row.split_whitespace().collect())
        .collect();
    let expected = [
        ("esxi-5", "NIC", "member"),
        ("pve-10", "EL", "standalone"),
        ("pve-5", "NIC", "member"),
        ("pve-6", "EL", "member"),
        ("pve-7", "EL", "member"),
        ("pve-8", "EL", "standalone"),
        ("pve-9", "EL", "standalone"),
    ];
    assert_eq!(rows.len(), expected.len(), "{text}");
    for (row, (host, site, membership)) in rows.iter().zip(expected) {
        assert_eq!(row[..3], [host, site, membership], "{text}");
        assert_eq!(row[3].len(), 64, "bundle id of {host}: {text}");
        assert!(row[3].bytes().all(|b| b.is_ascii_hexdigit()), "{text}");
    }
}
