//! `lugc status` against seven loopback "hosts" (one sshd, a root per host)
//! in mixed states, sharing one built fleet: each state, a host that is
//! unreachable, one that answers slowly, and nothing written on any host.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::{Setup, CHRONY};
use crate::common::snapshot::assert_output;
use crate::common::{stderr, stdout};

const HOSTS: [&str; 7] = [
    "pve-5", "esxi-5", "pve-6", "pve-7", "pve-8", "pve-9", "pve-10",
];

impl Setup {
    /// `lugc status ARGS` at the test sshd, `{host}` roots under its directory.
    pub(super) fn status_command(&self, args: &[&str]) -> Command {
        self.remote_command("status", args)
    }

    /// Every entry below every host root: path, kind, mode, owner, bytes.
    pub(super) fn all_roots(&self) -> BTreeMap<PathBuf, (u32, u32, Vec<u8>)> {
        walkdir::WalkDir::new(self.sshd.dir().join("hosts"))
            .into_iter()
            .map(|entry| entry.unwrap())
            .map(|entry| {
                let meta = entry.path().symlink_metadata().unwrap();
                let bytes = if meta.is_file() {
                    fs::read(entry.path()).unwrap()
                } else {
                    Vec::new()
                };
                (entry.path().to_path_buf(), (meta.mode(), meta.uid(), bytes))
            })
            .collect()
    }
}

/// pve-5, esxi-5, pve-10 and the cluster bundle hold out/'s bundles; esxi-5's
/// chrony.conf was edited by hand; pve-6 holds an older bundle; pve-7 has a
/// push cut short; pve-8 was never pushed but has one matching file; pve-9
/// does not answer ssh; pve-10 answers only once `release` exists.
fn mixed_fleet() -> (Setup, PathBuf) {
    let setup = Setup::new();
    // Every host runs pmxcfs: a member shares the cluster's, a standalone host has its own.
    for host in HOSTS {
        fs::create_dir_all(setup.host_root(host).join("etc/pve")).unwrap();
    }
    setup.push_ok(&["pve-6", "--yes"]);
    setup.change_ntp_server();
    for bundle in ["pve-5", "esxi-5", "pve-10", "cluster"] {
        setup.push_ok(&[bundle, "--yes"]);
    }
    fs::write(
        setup.host_root("esxi-5").join(CHRONY),
        "server edited.by.hand iburst\n",
    )
    .unwrap();
    let state = setup.host_root("pve-7").join("var/lib/lugc");
    fs::create_dir_all(&state).unwrap();
    fs::write(
        state.join("pve-7.PENDING"),
        "lugc-pushes 1\npve-7-0123456789ab.Xy3kP0aQ\n",
    )
    .unwrap();
    let hostname = setup.host_root("pve-8").join("etc/hostname");
    fs::create_dir_all(hostname.parent().unwrap()).unwrap();
    fs::write(&hostname, setup.out_file("pve-8", "etc/hostname")).unwrap();
    fs::set_permissions(&hostname, fs::Permissions::from_mode(0o644)).unwrap();

    let release = setup.sshd.dir().join("release");
    let hosts = setup.sshd.dir().join("hosts");
    setup.wrap_sessions(&format!(
        r#"  *"lugc hold {hosts}/pve-9 "*)
    echo "ssh: connect to host pve-9 port 22: No route to host" >&2
    exit 255 ;;
  *"lugc hold {hosts}/pve-10 "*)
    while [ ! -f {release} ]; do sleep 0.05; done ;;
"#,
        hosts = hosts.display(),
        release = release.display(),
    ));
    (setup, release)
}

#[test]
fn status_reports_each_state_in_parallel_and_writes_nothing() {
    let (setup, release) = mixed_fleet();
    let before = setup.all_roots();

    let mut child = setup
        .status_command(&[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (send, lines) = mpsc::channel();
    let stdout_pipe = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout_pipe).lines() {
            if send.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    // Piped, rows keep host order: those before pve-10 arrive while it
    // still holds its answer back, the cluster's only after it.
    let mut seen: Vec<String> = Vec::new();
    let others = ["esxi-5", "pve-5", "pve-6", "pve-7", "pve-8", "pve-9"];
    while !others.iter().all(|bundle| {
        seen.iter()
            .any(|l| l.split_whitespace().next() == Some(bundle))
    }) {
        let line = lines
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("rows so far: {seen:#?}"));
        seen.push(line);
    }
    assert!(
        !seen
            .iter()
            .any(|l| l.starts_with("pve-10 ") || l.starts_with("cluster ")),
        "pve-10 answered before its release: {seen:#?}"
    );
    fs::write(&release, "").unwrap();
    seen.extend(lines.iter());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2), "pve-9 is unreachable: {seen:#?}");
    let order: Vec<&str> = seen[1..seen.len() - 1]
        .iter()
        .map(|line| line.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        order,
        ["esxi-5", "pve-5", "pve-6", "pve-7", "pve-8", "pve-9", "pve-10", "cluster"]
    );

    assert_output!("rows", seen.join("\n"));
    assert_eq!(setup.all_roots(), before, "status changed a host");

    // JSON: the same states, by bundle in natural order.
    let output = setup.status_command(&["--json"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_output!("json", stdout(&output));
    let states: Vec<(String, String)> = json["bundles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["bundle"].as_str().unwrap().to_owned(),
                b["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("esxi-5", "drift"),
        ("pve-5", "in_sync"),
        ("pve-6", "not_pushed"),
        ("pve-7", "cut_short"),
        ("pve-8", "never_pushed"),
        ("pve-9", "unreachable"),
        ("pve-10", "in_sync"),
        ("cluster", "in_sync"),
    ]
    .map(|(a, b)| (a.to_owned(), b.to_owned()));
    assert_eq!(states, expected);
    assert_eq!(json["bundles"][0]["drift"][0], format!("/{CHRONY}"));
    assert_eq!(json["bundles"][4]["matching"], 1);

    // In sync alone: exit 0; out of sync but reached: 1, as `git diff --exit-code`.
    // --diff shows the content that drifted.
    let output = setup
        .status_command(&["pve-5", "cluster"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let output = setup
        .status_command(&["pve-6", "esxi-5", "pve-7"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let output = setup
        .status_command(&["esxi-5", "--diff"])
        .output()
        .unwrap();
    assert_output!("diff", stdout(&output));
    assert_eq!(setup.all_roots(), before, "status changed a host");
}
