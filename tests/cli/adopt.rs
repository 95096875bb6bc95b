//! `lugc adopt` and facts as inventory or state, on recorded facts of all
//! seven hosts: what `ip -j`, os-release, pveversion, storage.cfg, `qm
//! config`, `vgs`/`lvs`, `zfs list` and lsblk print on PVE 8, as `lugc
//! facts` keeps it. The facts differ from cluster.ncl's guesses where a
//! guess was wrong (pve-7's address and uplink, EL's intranet VLAN, the PBS
//! server's name and fingerprint, VM 230's size, boot order and MAC).

use serde_json::{json, Value};

use crate::common::{stderr, stdout, Fixture};

const FINGERPRINT: &str = "9A:C2:41:0D:5E:77:13:A8:6F:20:C4:BB:01:9E:3D:52:E8:7A:10:46:F5:2B:93:6C:D0:88:21:4E:A7:3F:B5:1C";

/// A NIC of the host's own, as `ip -j -d link` shows it.
fn nic(mac: &str, master: Option<&str>, speed: u64, addresses: &[&str]) -> Value {
    json!({ "kind": null, "bus": "pci", "mac": mac, "master": master, "mtu": 1500,
            "parent": null, "speed": speed, "state": "up", "vlan": null, "addresses": addresses })
}

fn vlan(parent: &str, id: u64, mac: &str, master: &str) -> Value {
    json!({ "kind": "vlan", "bus": null, "mac": mac, "master": master, "mtu": 1500,
            "parent": parent, "speed": null, "state": "up", "vlan": id, "addresses": [] })
}

fn bridge(mac: &str, addresses: &[&str]) -> Value {
    json!({ "kind": "bridge", "bus": null, "mac": mac, "master": null, "mtu": 1500,
            "parent": null, "speed": null, "state": "up", "vlan": null, "addresses": addresses })
}

fn tunnel(kind: &str, master: &str) -> Value {
    json!({ "kind": kind, "bus": null, "mac": null, "master": master, "mtu": 1462,
            "parent": null, "speed": null, "state": "unknown", "vlan": null, "addresses": [] })
}

/// /etc/pve/storage.cfg as every member reads it.
fn storage_cfg() -> Value {
    json!({
        "local": { "type": "dir", "path": "/var/lib/vz", "content": ["backup", "iso", "snippets", "vztmpl"] },
        "local-lvm": { "type": "lvmthin", "vgname": "pve", "thinpool": "data", "content": ["images", "rootdir"] },
        "local-zfs": { "type": "zfspool", "pool": "rpool/data", "sparse": 1, "content": ["images", "rootdir"], "nodes": ["pve-5"] },
        "esxi-5-data": { "type": "pbs", "server": "esxi-5.vm.ustclug.org", "datastore": "data", "username": "root@pam",
                         "fingerprint": FINGERPRINT, "content": ["backup"] },
        "esxi-5-vdp2": { "type": "pbs", "server": "esxi-5.vm.ustclug.org", "datastore": "vdp2", "username": "root@pam",
                         "fingerprint": FINGERPRINT, "content": ["backup"] },
    })
}

const VM_230: &str = "#VM 230 (mirrorlog)\nargs: -chardev socket,id=virtfs0,path=/run/virtiofsd-230.sock -device vhost-user-fs-pci,queue-size=1024,chardev=virtfs0,tag=mirrorlog -object memory-backend-file,id=mem,size=8192M,mem-path=/dev/shm,share=on -numa node,memdev=mem\nboot: order=scsi0;net0\ncores: 8\nhookscript: local:snippets/virtiofsd.sh\nmemory: 8192\nmeta: creation-qemu=8.1.2,ctime=1700000000\nname: mirrorlog\nnet0: virtio=BC:24:11:5E:02:30,bridge=vmbr0,firewall=1\nostype: l26\nscsi0: local-zfs:vm-230-disk-0,discard=on,size=64G\nscsihw: virtio-scsi-pci\nsmbios1: uuid=6c1a1f0e-1b7e-4c43-9b8e-2f0c3a9d1e42\nvmgenid: 1f0a6e2c-5b7d-4d8e-9c1a-3e2f4b5a6c7d\n\n[before-upgrade]\ncores: 4\nscsi0: local-zfs:vm-230-disk-0,discard=on,size=32G\n";

const VM_100: &str = "boot: order=scsi0\ncores: 2\nide2: none,media=cdrom\nmemory: 2048\nname: old-web\nnet0: virtio=BC:24:11:00:01:00,bridge=vmbr0\nostype: l26\nscsi0: local-lvm:vm-100-disk-0,size=20G\nscsihw: virtio-scsi-pci\n";

struct Host {
    name: &'static str,
    release: (&'static str, &'static str),
    links: Value,
    bridges: Value,
    member: bool,
    vms: Value,
    zfs: Value,
}

fn host_facts(host: &Host) -> Value {
    let (codename, pretty) = host.release;
    json!({
        "schema": "lugc-facts 1",
        "host": host.name,
        "os_release": { "ID": "debian", "VERSION_CODENAME": codename, "PRETTY_NAME": pretty },
        "pve_version": if codename == "bookworm" { "pve-manager/8.2.4/faa83925c9641325 (running kernel: 6.8.8-2-pve)" } else { "pve-manager/7.4-17/513c62be (running kernel: 5.15.143-1-pve)" },
        "links": host.links,
        "bridges": host.bridges,
        "routes": [],
        "storage": if host.member { storage_cfg() } else { Value::Null },
        "vms": host.vms,
        "pbs_fingerprint": if host.name == "esxi-5" { json!(FINGERPRINT) } else { Value::Null },
        "redacted": [],
        "volume_groups": { "pve": ["data"] },
        "zfs_datasets": host.zfs,
        "disks": { "sda": { "size": 240_057_409_536u64, "model": "SAMSUNG MZ7LM240", "serial": format!("S2{}", host.name) } },
    })
}

const BOOKWORM: (&str, &str) = ("bookworm", "Debian GNU/Linux 12 (bookworm)");

/// A NIC-site host: the fiber or enp3s0 untagged on vmbr0, VLANs 2-4, the
/// intranet on tunnels only, vmbr5 without ports.
fn nic_site(name: &'static str, port: &str, mac: &str, address: &str, intranet: &str) -> Host {
    let mut links = json!({
        port: nic(mac, Some("vmbr0"), 10000, &[]),
        "vmbr0": bridge(mac, &[address]),
        "vmbr1": bridge("3c:ec:ef:10:30:03", &[intranet]),
        "gretap1": tunnel("gretap", "vmbr1"),
        "vmbr5": bridge("3c:ec:ef:10:30:05", &[]),
    });
    let mut bridges = json!({ "vmbr0": [port], "vmbr1": ["gretap1"], "vmbr5": [] });
    for id in [2, 3, 4] {
        let vlan_port = format!("{port}.{id}");
        let bridge_name = format!("vmbr{id}");
        links[&vlan_port] = vlan(port, id, mac, &bridge_name);
        links[&bridge_name] = bridge(mac, &[]);
        bridges[&bridge_name] = json!([vlan_port]);
    }
    Host {
        name,
        release: BOOKWORM,
        links,
        bridges,
        member: true,
        vms: json!({}),
        zfs: json!([]),
    }
}

/// An EL-site host: `port` untagged on vmbr0, VLAN 11 (not 101) on vmbr1,
/// 102 on vmbr2, vmbr10 without ports.
fn el_site(name: &'static str, port: &str, last: u8, intranet: u8, member: bool) -> Host {
    let mac = format!("98:f2:b3:2a:{last:02x}:10");
    let links = json!({
        port: nic(&mac, Some("vmbr0"), 1000, &[]),
        "eno2": nic("98:f2:b3:2a:00:11", None, 1000, &[]),
        format!("{port}.11"): vlan(port, 11, &mac, "vmbr1"),
        format!("{port}.102"): vlan(port, 102, &mac, "vmbr2"),
        "vmbr0": bridge(&mac, &[&format!("192.168.93.{last}/24")]),
        "vmbr1": bridge(&mac, &[&format!("10.254.0.{intranet}/21")]),
        "vmbr2": bridge(&mac, &[]),
        "vmbr10": bridge("98:f2:b3:2a:00:99", &[]),
    });
    let bridges = json!({
        "vmbr0": [port], "vmbr1": [format!("{port}.11")], "vmbr2": [format!("{port}.102")], "vmbr10": [],
    });
    Host {
        name,
        release: BOOKWORM,
        links,
        bridges,
        member,
        vms: json!({}),
        zfs: json!(["tank"]),
    }
}

/// The facts of all seven hosts, as `lugc facts` would write them.
fn seven_hosts() -> Vec<Host> {
    let mut pve_5 = nic_site(
        "pve-5",
        "enp65s0f0np0",
        "b4:96:91:a2:00:10",
        "10.38.95.115/24",
        "10.254.0.240/21",
    );
    pve_5.links["tinc0"] = tunnel("tun", "vmbr1");
    pve_5.bridges["vmbr1"] = json!(["gretap1", "tinc0"]);
    pve_5.vms = json!({ "230": VM_230 });
    pve_5.zfs = json!(["rpool", "rpool/ROOT", "rpool/ROOT/pve-1", "rpool/data"]);
    let mut esxi_5 = nic_site(
        "esxi-5",
        "enp3s0",
        "3c:ec:ef:10:30:01",
        "10.38.95.111/24",
        "10.254.0.241/21",
    );
    esxi_5.release = ("bullseye", "Debian GNU/Linux 11 (bullseye)");
    esxi_5.links["enp4s0"] = nic("3c:ec:ef:10:30:02", None, 10000, &["192.168.10.2/24"]);
    let mut pve_6 = el_site("pve-6", "eno1", 6, 242, true);
    pve_6.vms = json!({ "100": VM_100 });
    vec![
        pve_5,
        esxi_5,
        pve_6,
        el_site("pve-7", "ens1f0", 17, 243, true),
        el_site("pve-8", "eno1", 8, 244, false),
        el_site("pve-9", "eno1", 9, 245, false),
        el_site("pve-10", "eno1", 10, 246, false),
    ]
}

/// A fleet with the seven hosts' facts in facts/.
fn with_facts() -> Fixture {
    let fixture = Fixture::new();
    for host in seven_hosts() {
        let text = serde_json::to_string_pretty(&host_facts(&host)).unwrap();
        lugc::facts::write(fixture.path(), host.name, &format!("{text}\n")).unwrap();
    }
    fixture
}

fn ok(fixture: &Fixture, args: &[&str]) -> (String, String) {
    let output = fixture.run(args);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    (stdout(&output), stderr(&output))
}

#[test]
fn adopt_takes_what_the_facts_tell_then_the_build_passes_and_again_changes_nothing() {
    let fixture = with_facts();
    let before = fixture.read("cluster.ncl");
    // Without --write: a diff, nothing written.
    let (shown, _) = ok(&fixture, &["adopt"]);
    assert_eq!(fixture.read("cluster.ncl"), before);
    for line in [
        "--- a/cluster.ncl",
        "+++ b/cluster.ncl",
        "-      address = \"192.168.93.7\", # assumed",
        "+      address = \"192.168.93.17\",",
        "+      uplink = \"ens1f0\",",
        "+      uplink = \"enp65s0f0np0\",",
        "+      cores = 8,",
        "+      boot = \"order=scsi0;net0\",",
        "+        vmbr1 = { carries = \"intranet, bridged in by gateway-el\", carrier = 'Vlan 11 },",
        "+      server = \"esxi-5.vm.ustclug.org\",",
        "+      username = \"root@pam\", # its password lives in /etc/pve/priv/storage/",
        "+      debian = \"bullseye\", # installed as PVE 7.1 in January 2022",
        "+        scsi0 = { storage = \"local-zfs\", volume = \"vm-230-disk-0\", size = \"64G\", discard = true },",
        "+        net0 = { mac = \"BC:24:11:5E:02:30\", bridge = \"vmbr0\" },",
        &format!("+let esxi_5_pbs_fingerprint = \"{FINGERPRINT}\" in"),
    ] {
        assert!(shown.lines().any(|l| l == line), "no `{line}` in:\n{shown}");
    }
    assert!(shown.contains("cluster.ncl:23:7: stays a guess: gateway_intranet_address = \"10.254.0.1\" (the facts do not tell it)"), "{shown}");
    assert!(
        shown.contains("  # VM 100 on pve-6, in `vms`\n  { id = 100, "),
        "{shown}"
    );
    assert!(
        shown.contains(
            "scsi0 = { storage = \"local-lvm\", volume = \"vm-100-disk-0\", size = \"20G\" }"
        ),
        "{shown}"
    );
    assert!(
        shown.ends_with("cluster.ncl is unchanged: `lugc adopt --write` writes the edit above\n"),
        "{shown}"
    );

    let (written, _) = ok(&fixture, &["adopt", "--write"]);
    assert!(
        written.ends_with("wrote cluster.ncl; review it, commit, then `lugc build`\n"),
        "{written}"
    );
    let adopted = fixture.read("cluster.ncl");
    assert!(adopted.contains("      address = \"192.168.93.17\",\n"));
    // Comments and layout stay: only adopted values and their marks change.
    assert_eq!(adopted.lines().count(), before.lines().count());

    let (_, warnings) = ok(&fixture, &["build"]);
    assert!(!warnings.contains(": change: "), "{warnings}");
    let (listing, _) = ok(&fixture, &["build", "--assumed"]);
    let values: Vec<&str> = listing
        .lines()
        .filter(|l| l.starts_with("cluster.ncl:"))
        .collect();
    assert!(!values.is_empty());
    for value in &values {
        assert!(
            value.ends_with("(facts do not cover it)"),
            "{value}\n{listing}"
        );
    }
    let (again, _) = ok(&fixture, &["adopt"]);
    assert!(!again.contains("--- a/cluster.ncl"), "{again}");
    assert!(
        again.ends_with("cluster.ncl already holds what the facts tell\n"),
        "{again}"
    );
    assert_eq!(fixture.read("cluster.ncl"), adopted);
}

#[test]
fn an_intended_address_change_builds_and_shows_as_a_change() {
    let fixture = with_facts();
    ok(&fixture, &["adopt", "--write"]);
    fixture.edit(
        "cluster.ncl",
        "address = \"192.168.93.6\",",
        "address = \"192.168.93.60\",",
    );
    let (_, shown) = ok(&fixture, &["build"]);
    let line = shown
        .lines()
        .find(|l| l.contains(": change: host pve-6: address 192.168.93.60"))
        .unwrap_or_else(|| panic!("{shown}"));
    let at = fixture
        .read("cluster.ncl")
        .lines()
        .position(|l| l.contains("192.168.93.60"))
        .unwrap()
        + 1;
    assert!(
        line.starts_with(&format!("cluster.ncl:{at}:17: change:")),
        "{line}"
    );
    assert!(line.ends_with("a push changes it"), "{line}");
}

/// esxi-5's uplink named as a NIC it does not have.
fn name_a_missing_uplink(fixture: &Fixture) {
    fixture.edit(
        "cluster.ncl",
        "uplink = \"enp3s0\",",
        "uplink = \"enp5s0\",",
    );
}

/// `lugc build`, which must fail as bad input does; its stderr.
fn failed_build(fixture: &Fixture) -> String {
    let output = fixture.run(&["build"]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    stderr(&output)
}

#[test]
fn an_uplink_the_host_lacks_fails_at_its_line() {
    let fixture = with_facts();
    name_a_missing_uplink(&fixture);
    let shown = failed_build(&fixture);
    assert!(
        shown.contains("host esxi-5: uplink `enp5s0` is not a NIC of esxi-5 (facts/esxi-5.json)"),
        "{shown}"
    );
    let at = fixture
        .read("cluster.ncl")
        .lines()
        .position(|l| l.contains("enp5s0"))
        .unwrap()
        + 1;
    assert!(shown.contains(&format!("[cluster.ncl:{at}:16]")), "{shown}");
    assert!(
        !fixture.out().join("INDEX").exists()
            || fixture.read("out/INDEX") == Fixture::new().read("out/INDEX")
    );
}

#[test]
fn two_storage_mismatches_and_a_nic_mismatch_are_reported_in_one_build() {
    let fixture = with_facts();
    fixture.edit("cluster.ncl", "vgname = \"pve\",", "vgname = \"vg0\",");
    fixture.edit(
        "cluster.ncl",
        "pool = \"rpool/data\",",
        "pool = \"tank/data\",",
    );
    name_a_missing_uplink(&fixture);
    let shown = failed_build(&fixture);
    let text = fixture.read("cluster.ncl");
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    for (message, needle) in [
        ("storage local-lvm: volume group `vg0` is not on esxi-5: facts/esxi-5.json has pve", "\"vg0\""),
        ("storage local-zfs: ZFS dataset `tank/data` is not on pve-5: facts/pve-5.json has rpool, rpool/ROOT, rpool/ROOT/pve-1, rpool/data", "\"tank/data\""),
        ("host esxi-5: uplink `enp5s0` is not a NIC of esxi-5", "\"enp5s0\""),
    ] {
        assert!(shown.contains(message), "{message}\n{shown}");
        assert!(shown.contains(&format!("[cluster.ncl:{}:", line_of(needle))), "{needle}\n{shown}");
    }
    assert!(!shown.contains("lib/facts.ncl"), "{shown}");
}

#[test]
fn a_named_host_adopts_only_what_it_alone_decides() {
    let fixture = with_facts();
    let (shown, _) = ok(&fixture, &["adopt", "pve-7"]);
    assert!(
        shown.contains("+      address = \"192.168.93.17\","),
        "{shown}"
    );
    assert!(!shown.contains("+      cores = 8,"), "{shown}");
    // EL's VLANs concern every EL host.
    assert!(
        shown.contains("stays a guess: 'Vlan 101 (it also concerns pve-6, pve-8, pve-9, pve-10)"),
        "{shown}"
    );
    let output = fixture.run(&["adopt", "pve-11"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no facts of pve-11"),
        "{}",
        stderr(&output)
    );
}

/// The Nickel `lugc adopt` proposes after `# <what>`.
fn proposal<'a>(shown: &'a str, what: &str) -> &'a str {
    let mut lines = shown.lines();
    lines
        .find(|line| *line == format!("  # {what}"))
        .and_then(|_| lines.next())
        .unwrap_or_else(|| panic!("no proposal for {what}:\n{shown}"))
        .trim()
}

#[test]
fn what_adopt_proposes_builds_where_it_says_and_is_then_managed() {
    let fixture = with_facts();
    let path = fixture.path().join("facts/esxi-5.json");
    let mut facts: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    facts["storage"]["old-nas"] = json!({ "type": "nfs", "server": "192.168.93.30", "export": "/srv/old",
                                          "path": "/mnt/pve/old-nas", "content": ["iso"] });
    let text = serde_json::to_string_pretty(&facts).unwrap();
    lugc::facts::write(fixture.path(), "esxi-5", &format!("{text}\n")).unwrap();

    let (shown, _) = ok(&fixture, &["adopt", "--write"]);
    let vm = proposal(&shown, "VM 100 on pve-6, in `vms`").to_owned();
    let storage = proposal(
        &shown,
        "storage `old-nas` of the cluster's storage.cfg (facts/esxi-5.json), in `storage`",
    )
    .to_owned();
    assert_eq!(
        storage,
        "old-nas = { content = [\"iso\"], export = \"/srv/old\", path = \"/mnt/pve/old-nas\", server = \"192.168.93.30\", type = \"nfs\" },"
    );
    let (_, before) = ok(&fixture, &["build"]);
    assert!(
        before.contains("has `old-nas` (nfs), which this description lacks"),
        "{before}"
    );
    assert!(before.contains("pve-6 runs VM 100"), "{before}");

    fixture.edit(
        "cluster.ncl",
        "  vms = [\n",
        &format!("  vms = [\n    {vm}\n"),
    );
    fixture.edit(
        "cluster.ncl",
        "  storage = {\n",
        &format!("  storage = {{\n    {storage}\n"),
    );
    let (_, after) = ok(&fixture, &["build"]);
    assert!(!after.contains(": change: "), "{after}");
    assert!(!after.contains("VM 100"), "{after}");
    // Described, VM 100's config is lugc's to write.
    let manifest = fixture.read("out/cluster/MANIFEST");
    assert!(
        manifest.contains(" /etc/pve/nodes/pve-6/qemu-server/100.conf "),
        "{manifest}"
    );
    let (again, _) = ok(&fixture, &["adopt"]);
    assert!(!again.contains("The hosts have what"), "{again}");
}

#[test]
fn a_nic_name_the_host_lacks_fails_on_its_line() {
    let fixture = with_facts();
    fixture.edit("cluster.ncl", "enp4s0 = { address", "enp9s0 = { address");
    let shown = failed_build(&fixture);
    assert!(
        shown.contains("host esxi-5: NIC `enp9s0` is not a NIC of esxi-5 (facts/esxi-5.json)"),
        "{shown}"
    );
    let at = fixture
        .read("cluster.ncl")
        .lines()
        .position(|l| l.contains("enp9s0"))
        .unwrap()
        + 1;
    assert!(shown.contains(&format!("[cluster.ncl:{at}:")), "{shown}");
}
