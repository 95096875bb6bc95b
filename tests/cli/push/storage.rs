//! PVE's storage model on a loopback cluster member (issue 20, failure 5):
//! what PVE holds in storage.cfg beyond the description (sections of any
//! type, properties the description lacks) is gathered by `lugc facts`,
//! shown by `lugc status`, and a push refuses to drop it; every property
//! of PVE's plugins can be described and is rendered, none dropped.

use std::fs;

use super::Setup;
use crate::common::snapshot::assert_output;
use crate::common::{stderr, stdout};

const STORAGE_CFG: &str = "etc/pve/storage.cfg";

/// What PVE's web UI adds on esxi-5, through which the cluster bundle
/// lands: a CIFS and an RBD storage, a Ceph FS one, and properties of
/// storages the description has.
const ADDED: &[(&str, &str)] = &[
    ("\n\nlvmthin: local-lvm\n", "\n\ncifs: nas\n\tpath /mnt/pve/nas\n\tserver nas.example.org\n\tshare backups\n\tcontent backup\n\tusername lug\n\nrbd: ceph-vm\n\tpool vm\n\tmonhost 10.0.0.1,10.0.0.2\n\tcontent images\n\tkrbd 1\n\ncephfs: cephfs\n\tpath /mnt/pve/cephfs\n\tcontent backup\n\tfs-name cephfs\n\nlvmthin: local-lvm\n"),
    ("\tthinpool data\n\tvgname pve\n", "\tthinpool data\n\tvgname pve\n\tbwlimit default=102400\n"),
    ("\tdatastore data\n", "\tdatastore data\n\tencryption-key 4f:e1:0a:23:bc:11:7d:90\n\tmax-protected-backups 5\n"),
];

impl Setup {
    /// esxi-5 holds out/'s cluster bundle; then PVE's web UI adds `ADDED`.
    fn storage_edited_by_pve(&self) -> String {
        let root = self.host_root("esxi-5");
        fs::create_dir_all(root.join("etc/pve")).unwrap();
        self.push_ok(&["cluster", "--yes"]);
        let mut text = fs::read_to_string(root.join(STORAGE_CFG)).unwrap();
        for (from, to) in ADDED {
            assert_eq!(text.matches(from).count(), 1, "{from:?} in\n{text}");
            text = text.replacen(from, to, 1);
        }
        fs::write(root.join(STORAGE_CFG), &text).unwrap();
        text
    }
}

#[test]
fn what_pve_holds_beyond_the_description_is_gathered_shown_and_kept() {
    let setup = Setup::new();
    setup.storage_edited_by_pve();
    let before = setup.all_roots();

    // Facts gather every section and property, whatever its type.
    setup.record_facts("esxi-5", "debian12", &[]);
    let output = setup.facts(&["esxi-5"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let facts: serde_json::Value = serde_json::from_str(&setup.fact_file("esxi-5")).unwrap();
    let storage = &facts["storage"];
    assert_eq!(storage["nas"]["type"], "cifs");
    assert_eq!(storage["nas"]["share"], "backups");
    assert_eq!(storage["ceph-vm"]["type"], "rbd");
    assert_eq!(storage["ceph-vm"]["krbd"], 1);
    assert_eq!(storage["cephfs"]["fs-name"], "cephfs");
    assert_eq!(storage["local-lvm"]["bwlimit"], "default=102400");
    assert_eq!(storage["esxi-5-data"]["max-protected-backups"], 5);
    assert_eq!(
        storage["esxi-5-data"]["encryption-key"],
        "4f:e1:0a:23:bc:11:7d:90"
    );

    // The recorded `ip` output is another machine's: status builds without it.
    let facts = setup.fixture.path().join("facts");
    fs::remove_file(facts.join("esxi-5.json")).unwrap();
    fs::write(facts.join("index.ncl"), "{}\n").unwrap();

    // Status: not in sync, and what a push would drop is named.
    let output = setup.status_command(&["cluster"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_output!("status", stdout(&output));
    let output = setup
        .status_command(&["cluster", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let dropped = &json["bundles"][0]["storage_dropped"];
    assert_eq!(dropped.as_array().map(Vec::len), Some(6), "{json:#}");
    assert!(
        dropped.as_array().unwrap().contains(&serde_json::json!({
            "id": "nas", "type": "cifs", "property": null, "foreign": false
        })),
        "{json:#}"
    );

    assert_eq!(setup.all_roots(), before, "status or facts changed a host");

    // A push refuses to drop it.
    let files = setup.host_files("esxi-5");
    assert_output!("refused", setup.push_fails(&["cluster", "--yes"]));
    assert_eq!(
        setup.host_files("esxi-5"),
        files,
        "the refused push changed a file"
    );
}

/// Every property PVE's plugins define can be described; lib/ renders it.
#[test]
fn the_description_holds_every_property_pve_has_and_renders_it() {
    let setup = Setup::new();
    let source = setup.fixture.read("cluster.ncl");
    let edits = [
        (
            "      thinpool = \"data\", # assumed\n",
            "      thinpool = \"data\", # assumed\n      bwlimit = \"default=102400\",\n",
        ),
        (
            "      datastore = \"data\", # assumed\n",
            "      datastore = \"data\", # assumed\n      \"encryption-key\" = \"4f:e1:0a:23:bc:11:7d:90\",\n      \"max-protected-backups\" = 5,\n",
        ),
        (
            "      username = \"root@pam\", # assumed\n      fingerprint = esxi_5_pbs_fingerprint,\n",
            "      username = \"root@pam\", # assumed\n",
        ),
        (
            "  storage = {\n",
            "  storage = {\n    vdp = { type = \"nfs\", server = \"192.168.93.20\", export = \"/srv/nfs/el\", path = \"/mnt/nfs-el\", options = \"vers=4.2\", content = [\"iso\", \"vztmpl\"], nodes = [\"pve-6\"] },\n    nas = { type = \"cifs\", server = \"nas.example.org\", share = \"backups\", path = \"/mnt/pve/nas\", content = [\"backup\"], nodes = [\"pve-6\"] },\n",
        ),
    ];
    let mut edited = source.clone();
    for (from, to) in edits {
        assert_eq!(edited.matches(from).count(), 1, "{from:?}");
        edited = edited.replacen(from, to, 1);
    }
    setup.fixture.write("cluster.ncl", &edited);
    let output = setup.fixture.run(&["build"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let rendered = setup.fixture.read("out/cluster/etc/pve/storage.cfg");
    for line in [
        "\tbwlimit default=102400\n",
        "\tencryption-key 4f:e1:0a:23:bc:11:7d:90\n",
        "\tmax-protected-backups 5\n",
        "\toptions vers=4.2\n",
        "cifs: nas\n\tpath /mnt/pve/nas\n\tserver nas.example.org\n\tshare backups\n",
    ] {
        assert!(rendered.contains(line), "{line:?} in\n{rendered}");
    }
    let vdp2 = rendered.split("pbs: esxi-5-vdp2\n").nth(1).unwrap();
    let vdp2 = vdp2.split("\n\n").next().unwrap();
    assert!(!vdp2.contains("fingerprint"), "{vdp2}");
    let reading = lugc::storage_cfg::read(&rendered);
    assert_eq!(reading.warnings, [], "PVE drops nothing");
}
