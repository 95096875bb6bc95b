//! A dry run shows content: the host's files against the bundle's, as
//! `lugc diff` draws them, never printing what may be secret.

use std::fs;

use super::{Setup, CHRONY};
use crate::common::snapshot::assert_output;
use crate::common::{file_lines, stderr, stdout};

const INTERFACES: &str = "etc/network/interfaces";
const HOSTS: &str = "etc/hosts";
const STORAGE: &str = "etc/pve/storage.cfg";
const HAND_INTERFACES: &str =
    "auto lo\niface lo inet loopback\n\nauto vmbr0\niface vmbr0 inet static\n\taddress 10.38.95.115/24\n\tbridge-ports eno1\n";
const DEBIAN_CHRONY: &str = "pool 2.debian.pool.ntp.org iburst\nkeyfile /etc/chrony/chrony.keys\n";
const KEY_BODY: &str = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ";

impl Setup {
    fn plant(&self, host: &str, path: &str, content: &str) {
        let file = self.host_root(host).join(path);
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(file, content).unwrap();
    }
}

#[test]
fn a_dry_run_onto_a_hand_configured_host_shows_diffs_and_hides_secrets() {
    let setup = Setup::new();
    setup.plant("pve-5", INTERFACES, HAND_INTERFACES);
    setup.plant("pve-5", CHRONY, DEBIAN_CHRONY);
    let planted = format!(
        "127.0.0.1 localhost\n-----BEGIN OPENSSH PRIVATE KEY-----\n{KEY_BODY}\n-----END OPENSSH PRIVATE KEY-----\n"
    );
    setup.plant("pve-5", HOSTS, &planted);
    let before = setup.host_tree("pve-5");

    let shown = setup.push_ok(&["pve-5"]);
    assert_eq!(setup.host_tree("pve-5"), before, "a dry run wrote");
    assert!(!shown.contains(KEY_BODY), "the key was printed:\n{shown}");
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    assert_output!("text", shown);
    assert_output!("stat", setup.push_ok(&["pve-5", "--stat"]));
    assert_output!("name-only", setup.push_ok(&["pve-5", "--name-only"]));

    let output = setup.push(&["pve-5", "--json"]);
    assert!(output.status.success());
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", stdout(&output)));
    let hosts = json["bundles"][0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "/etc/hosts")
        .unwrap();
    assert_eq!(hosts["content"], "hidden");
    assert!(!stdout(&output).contains(KEY_BODY));
    assert_output!("json", stdout(&output));
    // The plan goes to stderr.
    assert_output!("json-stderr", stderr(&output));
    assert_eq!(setup.host_tree("pve-5"), before, "a dry run wrote");
}

#[test]
fn a_storage_cfg_pve_rewrote_is_not_drift_and_an_edit_is() {
    let setup = Setup::new();
    let member = "esxi-5";
    fs::create_dir_all(setup.host_root(member).join("etc/pve")).unwrap();
    setup.push_ok(&["cluster", "--yes"]);
    let ours = String::from_utf8(setup.out_file("cluster", STORAGE)).unwrap();

    // PVE writes sections and sets in its own order: the same configuration.
    let mut sections: Vec<&str> = ours.trim_end().split("\n\n").collect();
    sections.reverse();
    let rewritten = format!("{}\n\n", sections.join("\n\n"));
    assert_ne!(rewritten, ours);
    setup.plant(member, STORAGE, &rewritten);
    assert_output!("rewritten", setup.push_ok(&["cluster"]));

    // A real edit is drift.
    setup.plant(
        member,
        STORAGE,
        &ours.replace("datastore vdp2", "datastore other"),
    );
    let output = setup.push(&["cluster"]);
    assert_eq!(output.status.code(), Some(2));
    assert_output!("edited", stderr(&output));
    // The preview shows the drift.
    assert_output!("edited-preview", stdout(&output));
}

/// Every form of tests/secrets/corpus as a host's current file, one per
/// file of every host's bundle: the dry run of every bundle, its `--json`
/// and `status --diff` count each one's lines and never print it.
#[test]
fn no_form_of_secret_on_a_host_is_ever_printed() {
    let setup = Setup::new();
    let corpus = crate::secrets::corpus();
    let index = setup.fixture.read("out/INDEX");
    let slots: Vec<(String, String)> = index
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(' ').map(|(_, bundle)| bundle.to_owned()))
        .filter(|bundle| bundle != "cluster")
        .flat_map(|host| {
            let manifest = setup.manifest(&host);
            file_lines(&manifest)
                .map(|line| line.split(' ').nth(3).unwrap().to_owned())
                .map(|path| (host.clone(), path))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        slots.len() >= corpus.len(),
        "{} files for {} forms",
        slots.len(),
        corpus.len()
    );
    for ((host, path), (_, text)) in slots.iter().zip(&corpus) {
        setup.plant(host, path.trim_start_matches('/'), text);
    }
    let shown = setup.push(&["--all", "--keep-going"]);
    let json = setup.push(&["--all", "--keep-going", "--json"]);
    let status = setup.status_command(&["--diff"]).output().unwrap();
    for (what, output) in [
        ("push", &shown),
        ("push --json", &json),
        ("status --diff", &status),
    ] {
        let text = format!("{}{}", stdout(output), stderr(output));
        assert!(
            !crate::secrets::shows_a_secret(&text),
            "{what} printed a secret:\n{text}"
        );
    }
    for (what, output) in [("push", &shown), ("status --diff", &status)] {
        let hidden = stdout(output).matches("(content hidden, ").count();
        assert_eq!(hidden, corpus.len(), "{what}:\n{}", stdout(output));
    }
    let hidden_in_json = stdout(&json).matches("\"content\": \"hidden\"").count();
    assert_eq!(hidden_in_json, corpus.len(), "{}", stdout(&json));
}
