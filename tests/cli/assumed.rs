//! `lugc build --assumed`: the values cluster.ncl marks `# assumed`, each
//! backed by the hosts' facts or still a guess; a report that writes nothing.

use crate::common::{repo_root, stderr, stdout, Fixture};

/// esxi-5's facts as the committed fleet describes it (a bad-input case's
/// fixture: its mistake is in its .ncl), running the release cluster.ncl
/// names for esxi-5.
fn with_esxi_5_facts() -> Fixture {
    let fixture = Fixture::new();
    let path = repo_root().join("tests/bad/facts_uplink_not_a_nic.facts/esxi-5.json");
    let mut facts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    facts["os_release"]["VERSION_CODENAME"] = "bullseye".into();
    lugc::facts::write(
        fixture.path(),
        "esxi-5",
        &serde_json::to_string_pretty(&facts).unwrap(),
    )
    .unwrap();
    fixture
}

/// The lines of cluster.ncl with code and a comment saying `assumed`.
fn marked_lines() -> usize {
    std::fs::read_to_string(repo_root().join("cluster.ncl"))
        .unwrap()
        .lines()
        .filter(|line| !line.trim_start().starts_with('#') && line.contains("assumed"))
        .count()
}

/// `lugc build --assumed ARGS`, which must succeed; its output.
fn assumed(fixture: &Fixture, args: &[&str]) -> String {
    let output = fixture
        .lugc()
        .args(["build", "--assumed"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    stdout(&output)
}

/// The listed line whose text is `text`.
fn line_of<'a>(listing: &'a str, text: &str) -> &'a str {
    listing
        .lines()
        .find(|line| line.contains(&format!(": {text} (")))
        .unwrap_or_else(|| panic!("no line for {text}:\n{listing}"))
}

#[test]
fn without_facts_every_assumed_value_is_a_guess() {
    let fixture = Fixture::new();
    let listing = assumed(&fixture, &[]);
    let total = marked_lines();
    assert!(total >= 40, "{total}");
    let values: Vec<&str> = listing
        .lines()
        .filter(|l| l.starts_with("cluster.ncl:"))
        .collect();
    assert_eq!(values.len(), total, "{listing}");
    assert!(values.iter().all(|l| l.contains(": guess: ")), "{listing}");
    assert!(
        listing.ends_with(&format!(
            "0 of {total} assumed values are backed by facts; {total} still a guess\n"
        )),
        "{listing}"
    );
    // Located at the value, with the host whose facts would decide it.
    let uplink = line_of(&listing, "uplink = \"enp65s0f0\"");
    assert!(uplink.starts_with("cluster.ncl:63:16: guess:"), "{uplink}");
    assert!(uplink.ends_with("(no facts for pve-5)"), "{uplink}");
    let vlan = line_of(&listing, "carrier = 'Vlan 2");
    assert!(vlan.ends_with("(no facts for esxi-5, pve-5)"), "{vlan}");
    let gateway = line_of(&listing, "gateway_intranet_address = \"10.254.0.1\"");
    assert!(gateway.ends_with("(facts do not cover it)"), "{gateway}");
    assert!(!fixture.out().exists(), "--assumed wrote out/");
}

#[test]
fn values_a_hosts_facts_agree_with_are_backed() {
    let fixture = with_esxi_5_facts();
    let listing = assumed(&fixture, &[]);
    for text in [
        "intranet_address = \"10.254.0.241/21\"",
        "debian = \"bullseye\"",
        "address = \"192.168.10.2/24\"",
    ] {
        let line = line_of(&listing, text);
        assert!(
            line.contains(": backed: ") && line.ends_with("(backed by facts of esxi-5)"),
            "{line}"
        );
    }
    // The volume group and its thin pool must be on every node of the
    // storage: backed on esxi-5, still a guess for the others.
    for text in ["vgname = \"pve\"", "thinpool = \"data\""] {
        let line = line_of(&listing, text);
        assert!(
            line.contains(": partly: ")
                && line.ends_with("(backed by facts of esxi-5; no facts for pve-5, pve-6, pve-7)"),
            "{line}"
        );
    }
    // A site's VLAN: backed on esxi-5, still a guess for pve-5.
    let vlan = line_of(&listing, "carrier = 'Vlan 2");
    assert!(
        vlan.contains(": partly: ")
            && vlan.ends_with("(backed by facts of esxi-5; no facts for pve-5)"),
        "{vlan}"
    );
    let other = line_of(&listing, "address = \"192.168.93.6\"");
    assert!(
        other.ends_with(": guess: address = \"192.168.93.6\" (no facts for pve-6)"),
        "{other}"
    );
    let total = marked_lines();
    assert!(
        listing.ends_with(&format!(
            "3 of {total} assumed values are backed by facts, 5 more in part; {} still a guess\n",
            total - 8
        )),
        "{listing}"
    );
}

#[test]
fn json_lists_the_same_values() {
    let fixture = with_esxi_5_facts();
    let json: serde_json::Value = serde_json::from_str(&assumed(&fixture, &["--json"])).unwrap();
    assert_eq!(json["schema"], "lugc-assumed 1");
    assert_eq!(json["file"], "cluster.ncl");
    let values = json["values"].as_array().unwrap();
    assert_eq!(json["assumed"], values.len());
    assert_eq!(values.len(), marked_lines());
    assert_eq!(
        (json["backed"].clone(), json["partly"].clone()),
        (3.into(), 5.into())
    );
    let vgname = values
        .iter()
        .find(|v| v["text"] == "vgname = \"pve\"")
        .unwrap();
    assert_eq!(vgname["standing"], "partly");
    assert_eq!(vgname["backed_by"], serde_json::json!(["esxi-5"]));
    assert_eq!(vgname["comment"], "assumed: the installer's names");
    assert!(vgname["line"].as_u64().unwrap() > 100);
}

#[test]
fn inventory_the_facts_contradict_fails_as_a_build_does() {
    let fixture = with_esxi_5_facts();
    fixture.edit("cluster.ncl", "uplink = \"enp3s0\"", "uplink = \"enp5s0\"");
    let output = fixture.run(&["build", "--assumed"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("host esxi-5: uplink `enp5s0` is not a NIC of esxi-5"),
        "{}",
        stderr(&output)
    );
    let output = fixture.run(&["build", "--assumed", "--check"]);
    assert_eq!(output.status.code(), Some(2));
    let help = stdout(&fixture.run(&["build", "--help"]));
    assert!(help.contains("--assumed"), "{help}");
}

#[test]
fn state_the_facts_show_otherwise_differs_and_is_no_error() {
    let fixture = with_esxi_5_facts();
    fixture.edit(
        "cluster.ncl",
        "intranet_address = \"10.254.0.241/21\"",
        "intranet_address = \"10.254.0.251/21\"",
    );
    let listing = assumed(&fixture, &[]);
    let line = line_of(&listing, "intranet_address = \"10.254.0.251/21\"");
    assert!(
        line.contains(": differs: ")
            && line.ends_with("(facts of esxi-5 hold another value; `lugc adopt` takes it)"),
        "{line}"
    );
}
