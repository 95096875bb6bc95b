//! What a push means to a Proxmox VE node: PVE's own rewrites of the files
//! it manages are no change and no drift, and a push that would take away
//! what PVE holds (a VM disk, a storage, a bridge a VM uses) lists it above
//! its diff and is refused with `--yes` unless allowed by name. The hosts
//! are seeded from tests/pve8: files as the PVE 8 installer, the web UI and
//! `pvesm`/`qm` leave them on hand-configured nodes.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;

use super::Setup;
use crate::common::snapshot::assert_output;
use crate::common::{copy_tree, repo_root, stderr, stdout};

const MEMBERS: [&str; 4] = ["esxi-5", "pve-5", "pve-6", "pve-7"];
const STANDALONE: [&str; 3] = ["pve-8", "pve-9", "pve-10"];

/// Every kind the cluster bundle's first push onto tests/pve8 would do.
const CLUSTER_HARMS: &str = "disk-removed,disk-shrunk,nic-changed,property-removed,storage-removed";

impl Setup {
    /// Every host's root as configured by hand (tests/pve8): the files the
    /// installer and the operator left; on members the cluster's pmxcfs with
    /// the `qemu-server` link pmxcfs makes to the node's own directory, on
    /// the others a pmxcfs of their own.
    fn hand_configured(&self) {
        let fixtures = repo_root().join("tests/pve8");
        for host in MEMBERS.iter().chain(&STANDALONE) {
            let root = self.host_root(host);
            copy_tree(&fixtures.join("common"), &root);
            copy_tree(&fixtures.join(host), &root);
            let pmxcfs = if MEMBERS.contains(host) {
                "cluster"
            } else {
                "standalone"
            };
            copy_tree(&fixtures.join(pmxcfs), &root);
            let vms = root.join(format!("etc/pve/nodes/{host}/qemu-server"));
            fs::create_dir_all(&vms).unwrap();
            std::os::unix::fs::symlink(
                format!("nodes/{host}/qemu-server"),
                root.join("etc/pve/qemu-server"),
            )
            .unwrap();
            for entry in walkdir::WalkDir::new(root.join("etc/pve")) {
                let entry = entry.unwrap();
                if entry.file_type().is_file() {
                    fs::set_permissions(entry.path(), fs::Permissions::from_mode(0o640)).unwrap();
                }
            }
        }
    }

    /// Every entry below every host root: mode (with its type), owner,
    /// group, and the bytes of a file or the target of a link.
    fn roots(&self) -> BTreeMap<PathBuf, (u32, u32, u32, Vec<u8>)> {
        walkdir::WalkDir::new(self.sshd.dir().join("hosts"))
            .into_iter()
            .map(|entry| entry.unwrap())
            .map(|entry| {
                let path = entry.path();
                let meta = path.symlink_metadata().unwrap();
                let content = if meta.is_file() {
                    fs::read(path).unwrap()
                } else if meta.file_type().is_symlink() {
                    fs::read_link(path)
                        .unwrap()
                        .into_os_string()
                        .into_encoded_bytes()
                } else {
                    Vec::new()
                };
                (
                    path.to_path_buf(),
                    (meta.mode(), meta.uid(), meta.gid(), content),
                )
            })
            .collect()
    }
}

const VM_230: &str = "etc/pve/nodes/pve-5/qemu-server/230.conf";

/// The VM config with the notes as PVE's writer leaves them (`encode_text`:
/// `:` as `%3A`, `%` as `%25`) or, with `encoded` false, with both decoded.
fn notes(text: &[u8], encoded: bool) -> Vec<u8> {
    let text = String::from_utf8(text.to_vec()).unwrap();
    let lines: Vec<String> = text
        .lines()
        .map(|line| match line.strip_prefix('#') {
            Some(note) if encoded => format!(
                "#{}",
                note.replace("%3A", ":")
                    .replace("%25", "%")
                    .replace('%', "%25")
                    .replace(':', "%3A")
            ),
            Some(note) => format!("#{}", note.replace("%3A", ":").replace("%25", "%")),
            None => line.to_owned(),
        })
        .collect();
    format!("{}\n", lines.join("\n")).into_bytes()
}

/// Issue 20, failure 6: once PVE rewrote 230.conf (a `qm set`, a backup's
/// lock), status reported drift and the next push was refused.
#[test]
fn a_vm_config_pve_rewrote_is_neither_a_change_nor_drift() {
    let setup = Setup::new();
    fs::create_dir_all(setup.host_root("esxi-5").join("etc/pve")).unwrap();
    setup.push_ok(&["cluster", "--yes"]);
    let conf = setup.host_root("esxi-5").join(VM_230);
    let pushed = fs::read(&conf).unwrap();
    let rewritten = notes(&pushed, true);
    assert!(
        String::from_utf8_lossy(&rewritten)
            .contains("#Guest /etc/fstab line for virtiofs%3A mirrorlog"),
        "{}",
        String::from_utf8_lossy(&rewritten)
    );
    // What PVE reads the same: the notes as PVE writes them, and decoded.
    for (notes_are, host_has) in [
        ("encoded", rewritten.clone()),
        ("decoded", notes(&pushed, false)),
    ] {
        fs::write(&conf, &host_has).unwrap();
        let status = setup.status_command(&["cluster"]).output().unwrap();
        assert!(status.status.success(), "{}", stderr(&status));
        assert_output!(format!("status-{notes_are}"), stdout(&status));
        assert_output!(format!("dry-run-{notes_are}"), setup.push_ok(&["cluster"]));
    }

    // The next change pushes over PVE's rewrite without --force.
    fs::write(&conf, &rewritten).unwrap();
    setup.fixture.edit("cluster.ncl", "cores = 4", "cores = 6");
    setup.build();
    setup.commit("more cores");
    assert_output!("more-cores", setup.push_ok(&["cluster", "--yes"]));
    assert_eq!(fs::read(&conf).unwrap(), setup.out_file("cluster", VM_230));
    assert!(String::from_utf8(fs::read(&conf).unwrap())
        .unwrap()
        .contains("\ncores: 6\n"));

    // A change PVE does read (another disk size) is drift.
    let edited = String::from_utf8(fs::read(&conf).unwrap())
        .unwrap()
        .replace("size=32G", "size=64G");
    fs::write(&conf, edited).unwrap();
    let status = setup.status_command(&["cluster"]).output().unwrap();
    assert_output!("drift", stdout(&status));
}

/// Issue 20, failure 4: a first push onto a hand-configured node replaced
/// 230.conf and storage.cfg, detaching a 2T disk and dropping a storage,
/// shown only as `-` lines of the diff.
#[test]
fn a_push_that_would_destroy_what_pve_holds_lists_it_and_yes_refuses() {
    let setup = Setup::new();
    setup.hand_configured();
    let before = setup.roots();

    // The list comes above the diff.
    assert_output!("dry-run", setup.push_ok(&["cluster"]));
    assert_eq!(setup.roots(), before);

    let output = setup.push(&["cluster", "--json"]);
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let harms = document["harms"].as_array().unwrap();
    assert_eq!(harms.len(), 6, "{harms:#?}");
    assert_eq!(harms[0]["bundle"], "cluster");
    assert_eq!(harms[0]["host"], "esxi-5");
    assert_eq!(harms[0]["kind"], "disk-shrunk");
    assert_eq!(
        harms[0]["path"],
        "/etc/pve/nodes/pve-5/qemu-server/230.conf"
    );

    // The push takes lugc's lock on esxi-5 before it refuses: nothing else is new.
    let but_the_lock = |mut roots: BTreeMap<PathBuf, (u32, u32, u32, Vec<u8>)>| {
        let root = setup.host_root("esxi-5");
        for lugc in ["var/lib/lugc/lock", "var/lib/lugc", "var/lib", "var"] {
            roots.remove(&root.join(lugc));
        }
        roots
    };
    assert_output!("refused", setup.push_fails(&["cluster", "--yes"]));
    assert_eq!(
        but_the_lock(setup.roots()),
        before,
        "a refused push changes nothing"
    );
    let error = setup.push_fails(&["cluster", "--yes", "--allow", "disk-removed,nic-changed"]);
    assert_output!("partly-allowed", error);
    assert_eq!(but_the_lock(setup.roots()), before);

    let shown = setup.push_ok(&["cluster", "--yes", "--allow", CLUSTER_HARMS]);
    assert_output!("allowed", shown);
    assert_eq!(
        fs::read(setup.host_root("esxi-5").join(VM_230)).unwrap(),
        setup.out_file("cluster", VM_230)
    );
}

/// The second "Done when" of issue 20: a first `push --all --yes` onto all
/// seven hosts, configured by hand, refuses with the harm list, changes
/// nothing on any root and says what to do.
#[test]
fn a_first_push_onto_seven_hand_configured_hosts_refuses_and_changes_nothing() {
    let setup = Setup::new();
    setup.hand_configured();
    let before = setup.roots();

    let output = setup.push(&["--all", "--yes"]);
    let (shown, error) = (stdout(&output), stderr(&output));
    assert_eq!(output.status.code(), Some(2), "{shown}\n{error}");
    assert_output!("stdout", shown);
    assert_output!("stderr", error);
    assert_eq!(
        setup.roots(),
        before,
        "no root changed, not even lugc's records"
    );
    assert!(setup.actions().is_empty(), "{:?}", setup.actions());

    // What is allowed already stays in the command the refusal gives.
    let error = setup.push_fails(&["--all", "--yes", "--allow", "disk-removed"]);
    assert_output!("partly-allowed", error);
    assert_eq!(setup.roots(), before);

    // The dry run shows the same list, each above its diff, and counts it.
    assert_output!("dry-run", setup.push_ok(&["--all"]));
    assert_eq!(setup.roots(), before);
}
