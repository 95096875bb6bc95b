//! Each contract in lib/ fed a wrong value: exit 2, a message naming the field
//! and the value, the value's `[cluster.ncl:LINE:COL]` first, out/ untouched.

use std::fs;

use crate::common::{copy_tree, repo_root, stderr, Fixture};

/// A failed build of the committed fleet after `edits` (each `from` must occur once).
struct Failure {
    /// What lugc printed.
    text: String,
    /// The edited cluster.ncl.
    source: String,
}

/// Copy the committed fleet and out/, apply `edits`, build, and check that the
/// build failed with exit 2, without a panic, and left out/ byte for byte as it was.
fn break_fleet(edits: &[(&str, &str)]) -> Failure {
    let fixture = Fixture::new();
    copy_tree(&repo_root().join("out"), &fixture.out());
    let before = fixture.tree("out");
    for (from, to) in edits {
        fixture.edit("cluster.ncl", from, to);
    }
    let output = fixture.run(&["build"]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    assert_eq!(
        before,
        fixture.tree("out"),
        "a failed build leaves out/ as it was"
    );
    let leftovers = fs::read_dir(fixture.path())
        .unwrap()
        .filter(|entry| {
            entry
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".lugc-tmp-")
        })
        .count();
    assert_eq!(leftovers, 0);
    Failure {
        text,
        source: fixture.read("cluster.ncl"),
    }
}

impl Failure {
    /// Assert the message holds every fragment and that the first location
    /// reported is `[cluster.ncl:LINE:COL]` of `needle`'s character at `offset`
    /// (byte offset inside `needle`) in the edited file.
    #[track_caller]
    fn assert(&self, fragments: &[&str], needle: &str, offset: usize) {
        for fragment in fragments {
            assert!(
                self.text.contains(fragment),
                "`{fragment}` not in:\n{}",
                self.text
            );
        }
        assert_eq!(
            self.source.matches(needle).count(),
            1,
            "`{needle}` once in cluster.ncl"
        );
        let expected = self.location_of(needle, offset);
        let first = self.locations().into_iter().next().unwrap_or_default();
        assert_eq!(first, expected, "first location in:\n{}", self.text);
    }

    /// `[cluster.ncl:LINE:COL]` of `needle`'s character at `offset`.
    fn location_of(&self, needle: &str, offset: usize) -> String {
        let at = self.source.find(needle).unwrap() + offset;
        let line = self.source[..at].matches('\n').count() + 1;
        let column = at - self.source[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
        format!("[cluster.ncl:{line}:{column}]")
    }

    /// Every excerpt's location, in the order printed.
    fn locations(&self) -> Vec<String> {
        self.text
            .match_indices(",-[")
            .filter_map(|(index, _)| {
                let rest = &self.text[index + 2..];
                rest.split_once(']')
                    .map(|(location, _)| format!("{location}]"))
            })
            .collect()
    }
}

#[test]
fn three_mistakes_in_three_records_are_reported_together_in_order() {
    let failure = break_fleet(&[
        (
            "      address = \"10.38.95.111\",",
            "      adress = \"10.38.95.111\",",
        ),
        ("cores = 4,", "cores = \"4\","),
        ("schedule = \"21 4 * * *\"", "schedule = \"21 4 * *\""),
    ]);
    for fragment in [
        "unknown field `adress` in a host; did you mean `address`?",
        "`cores` must be a number, found the string \"4\"",
        "schedule `21 4 * *` is not five cron time fields",
        "found 3 errors",
    ] {
        assert!(
            failure.text.contains(fragment),
            "`{fragment}` not in:\n{}",
            failure.text
        );
    }
    let expected = [
        failure.location_of("adress = ", 0),
        failure.location_of("\"4\"", 0),
        failure.location_of("\"21 4 * *\"", 0),
    ];
    assert_eq!(failure.locations(), expected, "{}", failure.text);
}

#[test]
fn renaming_a_host_reports_every_stale_reference_in_one_build() {
    let failure = break_fleet(&[("    esxi-5 = {", "    esxi-6 = {")]);
    let references = failure.source.matches("\"esxi-5\"").count();
    let locations = failure.locations();
    assert_eq!(locations.len(), references, "{}", failure.text);
    assert!(
        failure.text.contains(&format!("found {references} errors")),
        "{}",
        failure.text
    );
    assert_eq!(
        failure.text.matches("did you mean `esxi-6`?").count(),
        references,
        "{}",
        failure.text
    );
}

/// Offset of `part` inside `needle`.
fn offset(needle: &str, part: &str) -> usize {
    needle
        .find(part)
        .unwrap_or_else(|| panic!("`{part}` in `{needle}`"))
}

#[test]
fn zfspool_that_no_node_lists() {
    let failure = break_fleet(&[(
        "vm_storage = [\"local-lvm\", \"local-zfs\"],",
        "vm_storage = [\"local-lvm\"],",
    )]);
    let needle = "type = \"zfspool\"";
    failure.assert(
        &[
            "storage local-zfs (zfspool): a zfspool storage exists on some nodes only: list it in the vm_storage of the hosts that have it, or name them in `nodes`",
            "cannot open 'rpool': no such pool",
        ],
        needle,
        offset(needle, "\"zfspool\""),
    );
}

#[test]
fn member_without_storage_for_vm_disks() {
    let failure = break_fleet(&[(
        "vm_storage = [\"local-lvm\"], # assumed: the installer's LVM on the SAS disks",
        "vm_storage = [],",
    )]);
    // An empty list has no position of its own: the error points at `cluster = true`.
    let needle = "cluster = true,\n      uplink = \"eno1\", # assumed: one of the three ports";
    failure.assert(
        &["host pve-6: a cluster member may run VMs, but no storage for VM disks is available on it"],
        needle,
        offset(needle, "true"),
    );
}

#[test]
fn vm_storage_that_holds_no_vm_disks() {
    let failure = break_fleet(&[(
        "vm_storage = [\"local-lvm\"], # assumed: the installer's LVM on the SAS disks",
        "vm_storage = [\"isos\"],",
    ), (
        "  storage = {\n",
        "  storage = {\n    isos = { type = \"nfs\", server = \"192.168.93.20\", export = \"/srv/iso\", path = \"/mnt/pve/isos\", content = [\"iso\"] },\n",
    )]);
    let needle = "[\"isos\"]";
    failure.assert(
        &["host pve-6: vm_storage: storage `isos` holds no VM disks (its content lacks images)"],
        needle,
        offset(needle, "\"isos\""),
    );
}

#[test]
fn a_listed_storage_naming_its_nodes_too() {
    let failure = break_fleet(&[(
        "      thinpool = \"data\", # assumed\n",
        "      thinpool = \"data\", # assumed\n      nodes = [\"pve-5\"],\n",
    )]);
    let needle = "nodes = [\"pve-5\"]";
    failure.assert(
        &["storage local-lvm: its nodes are the hosts that list it in vm_storage (esxi-5, pve-5, pve-6, pve-7); remove `nodes` here"],
        needle,
        offset(needle, "\"pve-5\""),
    );
}

#[test]
fn address_outside_the_site_subnet() {
    let failure = break_fleet(&[("address = \"192.168.93.6\",", "address = \"192.168.94.6\",")]);
    let needle = "address = \"192.168.94.6\",";
    failure.assert(
        &["host pve-6: address 192.168.94.6 is outside site EL's subnet 192.168.93.0/24"],
        needle,
        offset(needle, "\""),
    );
}

#[test]
fn intranet_address_outside_the_intranet() {
    let failure = break_fleet(&[(
        "intranet_address = \"10.254.0.243/21\"",
        "intranet_address = \"10.255.0.243/21\"",
    )]);
    let needle = "\"10.255.0.243/21\"";
    failure.assert(
        &["host pve-7: intranet_address 10.255.0.243/21 is not inside the intranet 10.254.0.0/21"],
        needle,
        0,
    );
}

#[test]
fn bridge_vmbr5000() {
    let failure = break_fleet(&[("vmbr5 = { carries", "vmbr5000 = { carries")]);
    let needle = "vmbr5000 = { carries";
    failure.assert(
        &["bridge `vmbr5000` is not a valid PVE bridge name: VM bridges are vmbrN with N an integer from 0 to 4094"],
        needle,
        offset(needle, "vmbr5000"),
    );
}

#[test]
fn bridge_vlan_out_of_range() {
    let failure = break_fleet(&[("carrier = 'Vlan 101", "carrier = 'Vlan 5000")]);
    let needle = "'Vlan 5000";
    failure.assert(&["carrier 'Vlan 5000 is not"], needle, 0);
}

#[test]
fn lsi_controller_on_pve5() {
    let failure = break_fleet(&[("scsihw = \"virtio-scsi-pci\",", "scsihw = \"lsi\",")]);
    let needle = "scsihw = \"lsi\",";
    failure.assert(
        &["VM 230 (mirrorlog): scsihw `lsi` is not allowed on pve-5; use virtio-scsi-pci"],
        needle,
        offset(needle, "\""),
    );
}

#[test]
fn virtio_scsi_single_on_pve5() {
    let failure = break_fleet(&[(
        "scsihw = \"virtio-scsi-pci\",",
        "scsihw = \"virtio-scsi-single\",",
    )]);
    let needle = "scsihw = \"virtio-scsi-single\",";
    failure.assert(
        &["scsihw `virtio-scsi-single` is not allowed on pve-5"],
        needle,
        offset(needle, "\""),
    );
}

#[test]
fn unknown_scsi_controller() {
    let failure = break_fleet(&[("scsihw = \"virtio-scsi-pci\",", "scsihw = \"buslogic\",")]);
    let needle = "scsihw = \"buslogic\",";
    failure.assert(
        &["scsihw `buslogic` is not one of lsi, lsi53c810, megasas, pvscsi, virtio-scsi-pci, virtio-scsi-single"],
        needle,
        offset(needle, "\""),
    );
}

#[test]
fn iothread_on_pve5() {
    let failure = break_fleet(&[("discard = true }", "discard = true, iothread = true }")]);
    let needle = "iothread = true }";
    failure.assert(
        &["VM 230 (mirrorlog): scsi0: iothread = true is not allowed on pve-5"],
        needle,
        offset(needle, "true"),
    );
}

#[test]
fn zfs_disk_without_discard() {
    let failure = break_fleet(&[("discard = true }", "discard = false }")]);
    let needle = "{ storage = \"local-zfs\"";
    failure.assert(
        &["VM 230 (mirrorlog): scsi0 lives on ZFS storage local-zfs and must set discard = true"],
        needle,
        offset(needle, "\"local-zfs\""),
    );
}

#[test]
fn unknown_node_in_storage_nodes() {
    let failure = break_fleet(&[(
        "      datastore = \"data\", # assumed\n",
        "      datastore = \"data\", # assumed\n      nodes = [\"pve-55\"],\n",
    )]);
    let needle = "nodes = [\"pve-55\"],";
    failure.assert(
        &["storage esxi-5-data: nodes: `pve-55` is not a cluster member; did you mean `pve-5`?"],
        needle,
        offset(needle, "\"pve-55\""),
    );
}

#[test]
fn standalone_host_in_storage_nodes() {
    let failure = break_fleet(&[(
        "      datastore = \"data\", # assumed\n",
        "      datastore = \"data\", # assumed\n      nodes = [\"pve-6\", \"pve-8\"],\n",
    )]);
    let needle = "nodes = [\"pve-6\", \"pve-8\"],";
    failure.assert(
        &["storage esxi-5-data: nodes: `pve-8` is not a cluster member"],
        needle,
        offset(needle, "\"pve-8\""),
    );
}

#[test]
fn duplicate_ip() {
    let failure = break_fleet(&[("address = \"192.168.93.7\",", "address = \"192.168.93.6\",")]);
    // pve-6 keeps the address; pve-7, the later one, is reported.
    let needle =
        "address = \"192.168.93.6\", # assumed\n      intranet_address = \"10.254.0.243/21\"";
    failure.assert(
        &["host pve-7: address 192.168.93.6 is already used by host pve-6"],
        needle,
        offset(needle, "\""),
    );
}

#[test]
fn duplicate_name() {
    let failure = break_fleet(&[("name = \"github.com\"", "name = \"gateway-el\"")]);
    let needle = "{ name = \"gateway-el\"";
    failure.assert(
        &["outside host gateway-el: name `gateway-el` is already used by site EL's gateway_host"],
        needle,
        offset(needle, "\""),
    );
}

#[test]
fn tunnel_mtu_1462() {
    let failure = break_fleet(&[("mtu = 1500", "mtu = 1462")]);
    let needle = "mtu = 1462";
    failure.assert(
        &["tunnel mtu 1462 is not allowed", "it must be 1500"],
        needle,
        offset(needle, "1462"),
    );
}

#[test]
fn tunnel_end_that_is_not_a_host() {
    let failure = break_fleet(&[(
        "ends = [\"pve-5\", \"esxi-5\"]",
        "ends = [\"pve-5\", \"esxi-55\"]",
    )]);
    let needle = "\"esxi-55\"";
    failure.assert(
        &["tunnel: unknown host `esxi-55`; did you mean `esxi-5`?"],
        needle,
        0,
    );
}

#[test]
fn pve_port_is_fixed() {
    let failure = break_fleet(&[("ports = { pve = 8006,", "ports = { pve = 443,")]);
    let needle = "pve = 443";
    failure.assert(
        &[
            "`pve`: The PVE web UI port 443 cannot be changed: The PVE web UI always listens on 8006",
        ],
        needle,
        offset(needle, "443"),
    );
}

#[test]
fn pbs_port_is_fixed() {
    let failure = break_fleet(&[("pbs = 8007 }", "pbs = 8443 }")]);
    let needle = "pbs = 8443";
    failure.assert(
        &["The PBS web UI port 8443 cannot be changed: The PBS web UI always listens on 8007"],
        needle,
        offset(needle, "8443"),
    );
}

#[test]
fn password_in_a_storage() {
    let failure = break_fleet(&[(
        "datastore = \"data\", # assumed",
        "datastore = \"data\", # assumed\n      password = \"hunter2\",",
    )]);
    let needle = "esxi-5-data = {";
    failure.assert(
        &["storage esxi-5-data: `password` never goes into storage.cfg or out/; PVE keeps it in /etc/pve/priv/storage/esxi-5-data.pw"],
        needle,
        offset(needle, "{"),
    );
    assert!(!failure.text.contains("hunter2") || failure.text.matches("hunter2").count() == 1);
}

#[test]
fn storage_missing_a_required_key() {
    let failure = break_fleet(&[("      pool = \"rpool/data\",\n", "")]);
    let needle = "local-zfs = {";
    failure.assert(
        &["storage local-zfs (zfspool): missing required key `pool`"],
        needle,
        offset(needle, "{"),
    );
}

#[test]
fn storage_with_a_key_its_type_does_not_know() {
    let failure = break_fleet(&[(
        "sparse = true,",
        "sparse = true,\n      compression = \"lz4\",",
    )]);
    failure.assert(
        &["storage local-zfs (zfspool): unknown key `compression`"],
        "compression = ",
        0,
    );
}

#[test]
fn storage_id_pattern() {
    let failure = break_fleet(&[("    esxi-5-data = {", "    Esxi-5-data = {")]);
    let needle = "Esxi-5-data = {";
    failure.assert(
        &["storage id `Esxi-5-data` does not match PVE's pattern [a-z][a-z0-9-_.]*[a-z0-9]"],
        needle,
        offset(needle, "Esxi-5-data"),
    );
}

#[test]
fn pbs_storage_server_without_the_pbs_role() {
    let failure = break_fleet(&[(
        "server = \"esxi-5\", # assumed\n      datastore = \"vdp2\"",
        "server = \"pve-5\", # assumed\n      datastore = \"vdp2\"",
    )]);
    let needle = "server = \"pve-5\"";
    failure.assert(
        &["storage esxi-5-vdp2: server `pve-5` is not a cluster member with the pbs role (by its name, FQDN or address)"],
        needle,
        offset(needle, "\""),
    );
}

#[test]
fn host_name_breaking_the_node_name_rule() {
    let failure = break_fleet(&[("    pve-7 = {", "    Pve_7 = {")]);
    let needle = "Pve_7 = {";
    failure.assert(
        &["host name `Pve_7` is not a valid PVE node name; did you mean `pve-7`?"],
        needle,
        offset(needle, "Pve_7"),
    );
}

#[test]
fn certificate_distributor_outside_the_cluster() {
    let failure = break_fleet(&[("distributor = \"pve-6\"", "distributor = \"pve-8\"")]);
    let needle = "distributor = \"pve-8\"";
    failure.assert(
        &["certificates: distributor: `pve-8` is not a cluster member"],
        needle,
        offset(needle, "\""),
    );
}

#[test]
fn certificate_target_outside_the_cluster() {
    let failure = break_fleet(&[(
        "targets = [\"pve-5\", \"esxi-5\", \"pve-7\"]",
        "targets = [\"pve-5\", \"esxi-5\", \"pve-9\"]",
    )]);
    let needle = "\"pve-9\"]";
    failure.assert(
        &["certificates: targets: `pve-9` is not a cluster member"],
        needle,
        0,
    );
}

#[test]
fn virtiofs_memory_differs_from_the_vm() {
    let failure = break_fleet(&[(
        "memory = 8192,\n      guest_mount",
        "memory = 4096,\n      guest_mount",
    )]);
    let needle = "memory = 4096";
    failure.assert(
        &["virtiofs share mirrorlog: memory 4096 MiB must equal VM 230's memory 8192 MiB"],
        needle,
        offset(needle, "4096"),
    );
}

#[test]
fn vm_nic_on_a_bridge_its_site_lacks() {
    let failure = break_fleet(&[("bridge = \"vmbr0\" }", "bridge = \"vmbr10\" }")]);
    let needle = "\"vmbr10\" }";
    failure.assert(
        &[
            "VM 230 (mirrorlog): net0: bridge `vmbr10` is not in the vmbr table of pve-5's site NIC",
            "bridges of site NIC: vmbr0, vmbr1, vmbr2, vmbr3, vmbr4, vmbr5",
        ],
        needle,
        0,
    );
}

#[test]
fn cron_schedule_with_four_fields() {
    let failure = break_fleet(&[("schedule = \"21 4 * * *\"", "schedule = \"21 4 * *\"")]);
    let needle = "schedule = \"21 4 * *\"";
    failure.assert(
        &["schedule `21 4 * *` is not five cron time fields"],
        needle,
        offset(needle, "\""),
    );
}

#[test]
fn unit_with_a_relative_program() {
    let failure = break_fleet(&[("exec_start = \"/usr/bin/rsync", "exec_start = \"rsync")]);
    let needle = "exec_start = \"rsync";
    failure.assert(
        &[
            "`exec_start`: `rsync -aHAXx --delete / /mnt/vdp2/rootfs/` does not start with an absolute program path",
        ],
        needle,
        offset(needle, "\""),
    );
}

#[test]
fn outside_host_with_a_campus_address() {
    let failure = break_fleet(&[("address = \"20.205.243.166\"", "address = \"10.1.2.3\"")]);
    let needle = "address = \"10.1.2.3\"";
    failure.assert(
        &["outside host address 10.1.2.3 is a private (RFC 1918) address"],
        needle,
        offset(needle, "\""),
    );
}

#[test]
fn iscsi_portal_unreachable_from_the_hosts_nics() {
    let failure = break_fleet(&[(
        "portal = \"192.168.10.1:3260\"",
        "portal = \"192.168.11.1:3260\"",
    )]);
    let needle = "\"192.168.11.1:3260\"";
    failure.assert(
        &["iscsi vdp2: portal 192.168.11.1:3260 is not on a subnet of one of esxi-5's NICs"],
        needle,
        0,
    );
}

#[test]
fn a_second_tunnel_between_the_same_hosts() {
    let failure = break_fleet(&[(
        "    { ends = [\"pve-5\", \"esxi-5\"], bridge = \"vmbr1\", mtu = 1500 },\n",
        "    { ends = [\"pve-5\", \"esxi-5\"], bridge = \"vmbr1\", mtu = 1500 },\n    { ends = [\"esxi-5\", \"pve-5\"], bridge = \"vmbr1\", mtu = 1500 },\n",
    )]);
    let needle = "{ ends = [\"esxi-5\"";
    failure.assert(
        &["tunnel esxi-5-pve-5: these hosts already have a tunnel (tunnel pve-5-esxi-5)"],
        needle,
        offset(needle, "\"esxi-5\""),
    );
}

#[test]
fn a_cron_job_declared_twice_on_one_host() {
    let failure = break_fleet(&[(
        "  cron = [\n",
        "  cron = [\n    { host = \"esxi-5\", name = \"rootfs-backup\", schedule = \"1 1 * * *\", command = \"true\" },\n",
    )]);
    let needle = "name = \"rootfs-backup\", schedule = \"21 4";
    failure.assert(
        &["cron job rootfs-backup on esxi-5 is declared twice; both would write the same file"],
        needle,
        offset(needle, "\""),
    );
}

#[test]
fn content_a_storage_type_cannot_hold() {
    let failure = break_fleet(&[(
        "      sparse = true,\n      content = [\"images\", \"rootdir\"],",
        "      sparse = true,\n      content = [\"images\", \"backup\"],",
    )]);
    let needle = "local-zfs = {";
    failure.assert(
        &["storage local-zfs (zfspool): content `backup` is not allowed on zfspool (allowed: images, rootdir)"],
        needle,
        offset(needle, "{"),
    );
}

#[test]
fn a_host_on_a_debian_release_lugc_does_not_render() {
    let failure = break_fleet(&[("debian = \"bullseye\",", "debian = \"buster\",")]);
    let needle = "debian = \"buster\"";
    failure.assert(
        &["Debian release `buster` is not one of bullseye, bookworm"],
        needle,
        offset(needle, "\"buster\""),
    );
}

#[test]
fn virtiofs_on_a_release_without_virtiofsd() {
    let failure = break_fleet(&[(
        "vm_storage = [\"local-lvm\", \"local-zfs\"],",
        "debian = \"bullseye\", vm_storage = [\"local-lvm\", \"local-zfs\"],",
    )]);
    let needle = "{\n      vm = 230,";
    failure.assert(
        &["virtiofs share mirrorlog: VM 230 runs on pve-5, whose Debian bullseye has no virtiofsd package"],
        needle,
        offset(needle, "230"),
    );
}

#[test]
fn a_unit_requiring_a_mount_no_target_has() {
    let failure = break_fleet(&[(
        "requires_mounts_for = [\"/mnt/vdp2\"]",
        "requires_mounts_for = [\"/mnt/vdp3\"]",
    )]);
    let needle = "requires_mounts_for = [\"/mnt/vdp3\"]";
    failure.assert(
        &["unit rootfs-backup.service on esxi-5: RequiresMountsFor=/mnt/vdp3, but no iSCSI target of esxi-5 is mounted there"],
        needle,
        offset(needle, "\"/mnt/vdp3\""),
    );
}

#[test]
fn vm_nic_with_a_multicast_mac() {
    let failure = break_fleet(&[("mac = \"BC:24:11:00:02:30\"", "mac = \"BD:24:11:00:02:30\"")]);
    let needle = "mac = \"BD:24:11:00:02:30\"";
    failure.assert(
        &["MAC `BD:24:11:00:02:30` is not a unicast MAC like BC:24:11:00:02:30"],
        needle,
        offset(needle, "\"BD"),
    );
}
