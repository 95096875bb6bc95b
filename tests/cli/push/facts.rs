//! `lugc facts` against loopback "hosts" (one sshd, a root per host): files
//! read below each root, commands answered by a stand-in runner from
//! recorded output (`tests/facts/`, captured on Debian 12), nothing written
//! on a host, and the same host state giving the same bytes.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output};

use super::Setup;
use crate::common::snapshot::assert_output;
use crate::common::{repo_root, require_tool, stderr, stdout};

const FINGERPRINT: &str = "9A:C2:41:0D:5E:77:13:A8:6F:20:C4:BB:01:9E:3D:52:E8:7A:10:46:F5:2B:93:6C:D0:88:21:4E:A7:3F:B5:1C";

impl Setup {
    /// `lugc facts ARGS` at the test sshd, `{host}` roots under its directory.
    pub(super) fn facts_command(&self, args: &[&str]) -> Command {
        self.remote_command("facts", args)
    }

    /// `lugc facts ARGS` with the recording runner.
    pub(super) fn facts(&self, args: &[&str]) -> Output {
        self.facts_command(args)
            .arg("--fact-runner")
            .arg(self.fact_runner())
            .output()
            .unwrap()
    }

    /// A stand-in for the host's commands: answers each from
    /// `recorded/<host>/` (the host named by its root), logging what it ran.
    pub(super) fn fact_runner(&self) -> PathBuf {
        let dir = self.sshd.dir();
        let runner = dir.join("facts.sh");
        fs::write(
            &runner,
            format!(
                r#"#!/bin/sh
dir={recorded}/${{LUGC_ROOT##*/}}
printf '%s\n' "$1" >> {log}
case $1 in
  "ip -j -d link") cat "$dir/ip-link.json" ;;
  "ip -j addr") cat "$dir/ip-addr.json" ;;
  "ip -j route") cat "$dir/ip-route.json" ;;
  pveversion) [ -f "$dir/pveversion" ] || exit 127; cat "$dir/pveversion" ;;
  "openssl x509 -noout -fingerprint -sha256") grep -q 'BEGIN CERTIFICATE' && cat "$dir/fingerprint" ;;
  "for nic in "*) cat "$dir/speed" 2> /dev/null ;;
  "vgs "*) [ -f "$dir/vgs" ] || exit 127; cat "$dir/vgs" ;;
  "lvs "*) [ -f "$dir/lvs" ] || exit 127; cat "$dir/lvs" ;;
  "zfs "*) [ -f "$dir/zfs" ] || exit 1; cat "$dir/zfs" ;;
  "lsblk "*) [ -f "$dir/lsblk" ] || exit 127; cat "$dir/lsblk" ;;
  *) exit 127 ;;
esac
"#,
                recorded = dir.join("recorded").display(),
                log = dir.join("facts.log").display(),
            ),
        )
        .unwrap();
        fs::set_permissions(&runner, fs::Permissions::from_mode(0o755)).unwrap();
        runner
    }

    /// Record `host`'s command output: the `ip` captures named `<capture>-ip-*.json`.
    pub(super) fn record_facts(&self, host: &str, capture: &str, extra: &[(&str, &str)]) {
        let dir = self.sshd.dir().join("recorded").join(host);
        fs::create_dir_all(&dir).unwrap();
        for what in ["link", "addr", "route"] {
            fs::copy(
                repo_root().join(format!("tests/facts/{capture}-ip-{what}.json")),
                dir.join(format!("ip-{what}.json")),
            )
            .unwrap();
        }
        for (name, text) in extra {
            fs::write(dir.join(name), text).unwrap();
        }
    }

    /// Write `text` at `path` below `host`'s root.
    pub(super) fn host_write(&self, host: &str, path: &str, text: &str) {
        let file = self.host_root(host).join(path);
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(file, text).unwrap();
    }

    /// The fact file lugc wrote for `host`.
    pub(super) fn fact_file(&self, host: &str) -> String {
        self.fixture.read(&format!("facts/{host}.json"))
    }
}

/// pve-6 is a PVE node with the captured bridges, storage.cfg and a VM
/// whose config holds a password hash; esxi-5 a plain Debian 12 machine
/// with a PBS certificate.
pub(super) fn recorded_hosts() -> Setup {
    let setup = Setup::new();
    setup.record_facts(
        "pve-6",
        "pve",
        &[
            (
                "pveversion",
                "pve-manager/8.2.4/faa83925c9641325 (running kernel: 6.8.8-2-pve)\n",
            ),
            ("speed", "eno1 1000\neno2 -1\nvmbr0 \n"),
            // As LVM, ZFS (not installed: no module) and lsblk print them on PVE 8.
            ("vgs", "  pve\n"),
            (
                "lvs",
                "  pve:data:twi-aotz--\n  pve:root:-wi-ao----\n  pve:swap:-wi-ao----\n  pve:vm-100-disk-0:Vwi-aotz--\n",
            ),
            (
                "lsblk",
                "{\n   \"blockdevices\": [\n      {\"name\":\"sda\", \"size\":299966445568, \"model\":\"LOGICAL VOLUME  \", \"serial\":\"600508b1001c3a1d\", \"type\":\"disk\"},\n      {\"name\":\"sr0\", \"size\":1073741312, \"model\":\"DVD-ROM\", \"serial\":null, \"type\":\"rom\"}\n   ]\n}\n",
            ),
        ],
    );
    setup.host_write(
        "pve-6",
        "usr/lib/os-release",
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
    );
    // Debian's /etc/os-release is a link, which lugc does not follow: read /usr/lib's.
    fs::create_dir_all(setup.host_root("pve-6").join("etc")).unwrap();
    std::os::unix::fs::symlink(
        "../usr/lib/os-release",
        setup.host_root("pve-6").join("etc/os-release"),
    )
    .unwrap();
    setup.host_write(
        "pve-6",
        "etc/pve/storage.cfg",
        "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\nlvmthin: local-lvm\n\tthinpool data\n\tvgname pve\n\tcontent rootdir,images\n\nnfs: old-nas\n\tserver 192.168.93.30\n\texport /srv/old\n\tpath /mnt/pve/old-nas\n\tcontent iso\n",
    );
    setup.host_write(
        "pve-6",
        "etc/pve/nodes/pve-6/qemu-server/100.conf",
        "cipassword: $5$abcdefgh$0123456789012345678901234567890123456789012\nmemory: 2048\nname: old-web\nnet0: virtio=BC:24:11:00:01:00,bridge=vmbr0\n",
    );
    std::os::unix::fs::symlink(
        "nodes/pve-6/qemu-server",
        setup.host_root("pve-6").join("etc/pve/qemu-server"),
    )
    .unwrap();
    setup.record_facts(
        "esxi-5",
        "debian12",
        &[(
            "fingerprint",
            &format!("sha256 Fingerprint={FINGERPRINT}\n"),
        )],
    );
    setup.host_write(
        "esxi-5",
        "etc/proxmox-backup/proxy.pem",
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    );
    setup
}

/// `lugc facts` output with its host rows, which come as each host
/// answers, in host order; the summary line stays last.
fn in_host_order(text: &str) -> String {
    let mut rows: Vec<&str> = text.lines().collect();
    let summary = rows.pop().unwrap_or_default();
    rows.sort_by(|a, b| lugc::natural::cmp(a, b));
    rows.push(summary);
    rows.join("\n") + "\n"
}

#[test]
fn facts_are_gathered_read_only_into_sorted_files() {
    let setup = recorded_hosts();
    // pve-9 does not answer ssh; the others are gathered all the same.
    let hosts = setup.sshd.dir().join("hosts");
    let wrapper = setup.sshd.dir().join("unreachable.sh");
    fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\ncase $SSH_ORIGINAL_COMMAND in\n  *\"lugc hold {}/pve-9 \"*)\n    echo 'ssh: connect to host pve-9 port 22: No route to host' >&2\n    exit 255 ;;\nesac\nexec \"${{SHELL:-/bin/sh}}\" -c \"$SSH_ORIGINAL_COMMAND\"\n",
            hosts.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
    setup.forced_command(&wrapper.display().to_string());
    let before = setup.all_roots();

    let output = setup.facts(&["pve-6", "esxi-5", "pve-9"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    assert_output!("gathered", in_host_order(&stdout(&output)));
    assert_output!("gathered-stderr", stderr(&output));
    assert_eq!(setup.all_roots(), before, "facts changed a host");
    let index = setup.fixture.read("facts/index.ncl");
    assert!(
        index.ends_with(
            "{\n  \"esxi-5\" = import \"esxi-5.json\",\n  \"pve-6\" = import \"pve-6.json\",\n}\n"
        ),
        "lib/ sees every fact file through facts/index.ncl: {index}"
    );

    let text = setup.fact_file("pve-6");
    let facts: serde_json::Value = serde_json::from_str(&text).unwrap();
    let sorted = serde_json::to_string_pretty(&facts).unwrap() + "\n";
    assert_eq!(text, sorted, "pretty, keys sorted, a final newline");
    assert_eq!(facts["schema"], "lugc-facts 1");
    assert_eq!(facts["host"], "pve-6");
    assert_eq!(facts["os_release"]["VERSION_CODENAME"], "bookworm");
    assert_eq!(
        facts["pve_version"],
        "pve-manager/8.2.4/faa83925c9641325 (running kernel: 6.8.8-2-pve)"
    );
    let eno1 = &facts["links"]["eno1"];
    assert_eq!(eno1["mac"], "3c:ec:ef:10:20:01");
    assert_eq!(eno1["master"], "vmbr0");
    assert_eq!(eno1["state"], "up");
    assert_eq!(eno1["speed"], 1000);
    assert_eq!(facts["links"]["eno2"]["speed"], serde_json::Value::Null);
    assert_eq!(facts["links"]["vmbr0"]["addresses"][0], "192.168.93.6/24");
    assert_eq!(facts["bridges"]["vmbr0"], serde_json::json!(["eno1"]));
    assert!(facts["links"].get("tap100i0").is_none(), "a guest's port");
    assert_eq!(facts["storage"]["old-nas"]["type"], "nfs");
    assert_eq!(facts["storage"]["local-lvm"]["vgname"], "pve");
    assert_eq!(
        facts["volume_groups"],
        serde_json::json!({ "pve": ["data"] })
    );
    assert_eq!(facts["zfs_datasets"], serde_json::Value::Null, "zfs failed");
    assert_eq!(
        facts["disks"],
        serde_json::json!({ "sda": { "size": 299966445568u64, "model": "LOGICAL VOLUME", "serial": "600508b1001c3a1d" } })
    );
    assert_eq!(
        facts["vms"]["100"],
        "cipassword: (redacted)\nmemory: 2048\nname: old-web\nnet0: virtio=BC:24:11:00:01:00,bridge=vmbr0\n"
    );
    assert_eq!(
        facts["redacted"],
        serde_json::json!(["vms.100 line 1: password hash (cipassword)"])
    );
    assert_eq!(facts["pbs_fingerprint"], serde_json::Value::Null);
    assert!(facts.get("time").is_none());

    let esxi = setup.fact_file("esxi-5");
    let esxi: serde_json::Value = serde_json::from_str(&esxi).unwrap();
    assert_eq!(esxi["pbs_fingerprint"], FINGERPRINT);
    assert_eq!(esxi["pve_version"], serde_json::Value::Null);
    assert_eq!(esxi["storage"], serde_json::Value::Null);
    assert_eq!(esxi["volume_groups"], serde_json::Value::Null, "no LVM");
    assert_eq!(esxi["links"]["eth0"]["addresses"][0], "192.0.2.2/24");

    // The same host state gives the same bytes.
    setup.restore_connection();
    let output = setup.facts(&["pve-6"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_output!("unchanged", in_host_order(&stdout(&output)));
    assert_eq!(setup.fact_file("pve-6"), text);
    assert_eq!(setup.all_roots(), before, "facts changed a host");

    let output = setup.facts(&["cluster"]);
    assert_eq!(output.status.code(), Some(2));
    assert_output!("cluster", stderr(&output));
}

/// Without `--fact-runner` the real commands run (`ip` of this machine).
#[test]
fn facts_run_the_real_commands_by_default() {
    require_tool("ip");
    let setup = Setup::new();
    let output = setup.facts_command(&["pve-5"]).output().unwrap();
    assert!(
        output.status.success(),
        "{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    let facts: serde_json::Value = serde_json::from_str(&setup.fact_file("pve-5")).unwrap();
    let links = facts["links"].as_object().unwrap();
    assert!(!links.is_empty(), "{facts:#}");
    assert!(
        links.values().all(|link| link["state"].is_string()),
        "{facts:#}"
    );
    assert!(facts["routes"].is_array(), "{facts:#}");
}

/// Gathered facts meet the build: a storage the cluster has and the
/// description lacks is a change the next push makes (state), a VM it does
/// not describe is a warning, an invented NIC name fails at its line
/// (inventory); `lugc facts` still runs while the build fails, so that
/// stale facts can be refreshed.
#[test]
fn a_build_is_checked_against_the_gathered_facts() {
    let setup = recorded_hosts();
    let output = setup.facts(&["pve-6"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = setup.fixture.run(&["build"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_output!("storage-change", stderr(&output));

    // The old storage goes from the host; gathered again, the build passes.
    setup.host_write(
        "pve-6",
        "etc/pve/storage.cfg",
        "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup,snippets\n\nlvmthin: local-lvm\n\tthinpool data\n\tvgname pve\n\tcontent rootdir,images\n",
    );
    let output = setup.facts(&["pve-6"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = setup.fixture.run(&["build"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_output!("undescribed-vm", stderr(&output));

    setup.fixture.edit(
        "cluster.ncl",
        "uplink = \"eno1\", # assumed: one of the three",
        "uplink = \"eno7\", # assumed: one of the three",
    );
    let output = setup.fixture.run(&["build"]);
    assert_eq!(output.status.code(), Some(2));
    assert_output!("invented-nic", stderr(&output));
}

/// Secrets a PVE node keeps in what `lugc facts` reads (a VM's notes in
/// PVE's `%3A` form, QEMU's secret object in `args`, `cipassword`,
/// storage.cfg's `encryption-key` and `password`) never reach the fact
/// file, which names where each was redacted.
#[test]
fn facts_redact_every_secret_and_say_where() {
    let setup = recorded_hosts();
    setup.host_write(
        "pve-6",
        "etc/pve/storage.cfg",
        "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\npbs: offsite\n\tdatastore store1\n\tserver 192.0.2.30\n\tcontent backup\n\tusername backup@pbs\n\tpassword S3cr3tPbsPassword\n\tencryption-key {\"kdf\":null,\"key\":\"S3cr3tEncryptionKey\"}\n",
    );
    setup.host_write(
        "pve-6",
        "etc/pve/nodes/pve-6/qemu-server/101.conf",
        "#Database server\n#root password%3A S3cr3tNotePassword\nargs: -object secret,id=sec0,data=S3cr3tQemuSecret,format=raw\ncipassword: $6$S3cr3tSalt$abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ\nmemory: 4096\nname: db\n",
    );
    let output = setup.facts(&["pve-6"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!crate::secrets::shows_a_secret(&stdout(&output)));
    let text = setup.fact_file("pve-6");
    assert!(!crate::secrets::shows_a_secret(&text), "{text}");
    let facts: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        facts["vms"]["101"],
        "#Database server\n#(redacted)\nargs: -object secret,id=sec0,data=(redacted),format=raw\ncipassword: (redacted)\nmemory: 4096\nname: db\n"
    );
    assert_eq!(facts["storage"]["offsite"]["encryption-key"], "(redacted)");
    assert_eq!(facts["storage"]["offsite"]["username"], "backup@pbs");
    assert_eq!(
        facts["redacted"],
        serde_json::json!([
            "storage.offsite.encryption-key: token",
            "storage.offsite.password: password",
            "vms.100 line 1: password hash (cipassword)",
            "vms.101 line 2: password (notes)",
            "vms.101 line 3: token (args)",
            "vms.101 line 4: password hash (cipassword)",
        ])
    );
}
