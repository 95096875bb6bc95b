use crate::common::{stdout, Fixture};

/// The committed fleet's hosts, as `lugc hosts` must list them: natural order.
const HOSTS: [(&str, &str, &str, &str); 7] = [
    ("esxi-5", "NIC", "member", "10.38.95.111"),
    ("pve-5", "NIC", "member", "10.38.95.115"),
    ("pve-6", "EL", "member", "192.168.93.6"),
    ("pve-7", "EL", "member", "192.168.93.7"),
    ("pve-8", "EL", "standalone", "192.168.93.8"),
    ("pve-9", "EL", "standalone", "192.168.93.9"),
    ("pve-10", "EL", "standalone", "192.168.93.10"),
];

#[test]
fn lists_every_host_in_natural_order_with_site_membership_address_and_bundle() {
    let fixture = Fixture::new();
    assert!(fixture.run(&["build"]).status.success());
    let index = fixture.read("out/INDEX");
    let id_of = |host: &str| {
        index
            .lines()
            .find_map(|line| line.strip_suffix(&format!(" {host}")))
            .unwrap_or_else(|| panic!("{host} in INDEX"))
            .to_owned()
    };

    let listing = fixture.run(&["hosts"]);
    assert!(listing.status.success());
    let text = stdout(&listing);
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|row| row.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["HOST", "SITE", "CLUSTER", "ADDRESS", "BUNDLE"]);
    assert_eq!(rows.len(), HOSTS.len() + 1, "{text}");
    for (row, (host, site, membership, address)) in rows[1..].iter().zip(HOSTS) {
        assert_eq!(row[..4], [host, site, membership, address], "{text}");
        assert!(id_of(host).starts_with(row[4]), "{text}");
        assert_eq!(row[4].len(), 12, "{text}");
    }
    assert!(
        !text.contains(&id_of("cluster")[..12]),
        "the cluster bundle is not a host"
    );

    let json = fixture.run(&["hosts", "--json"]);
    assert!(json.status.success());
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(json["schema"], "lugc-hosts 1");
    let hosts = json["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), HOSTS.len());
    for (host, (name, site, membership, address)) in hosts.iter().zip(HOSTS) {
        assert_eq!(host["name"], name);
        assert_eq!(host["site"], site);
        assert_eq!(host["cluster"], membership == "member");
        assert_eq!(host["address"], address);
        assert_eq!(host["ssh_target"], format!("root@{name}.vm.ustclug.org"));
        assert_eq!(host["bundle"], id_of(name));
    }
}
