use super::*;

/// 230.conf as configured by hand, as PVE 8 writes it.
const VM_BY_HAND: &str = "\
#mirror logs%3A kept 90 days
boot: order=scsi0;net0
cores: 8
memory: 8192
meta: creation-qemu=8.1.5,ctime=1712345678
name: mirrorlog
net0: virtio=BC:24:11:5A:0F:01,bridge=vmbr1,firewall=1
net1: virtio=BC:24:11:5A:0F:02,bridge=vmbr2
ostype: l26
scsi0: local-zfs:vm-230-disk-0,discard=on,iothread=1,size=64G
scsi1: local-zfs:vm-230-disk-1,backup=0,size=2T
scsihw: virtio-scsi-single
smbios1: uuid=3f2a8c1e-9d4b-4c7a-8e1f-2b6d5a9c0e71
unused0: local-zfs:vm-230-disk-2
vmgenid: 8d1c2b3a-4e5f-4a6b-9c7d-0e1f2a3b4c5d

[before-upgrade]
boot: order=scsi0;net0
cores: 8
memory: 8192
name: mirrorlog
scsi0: local-zfs:vm-230-disk-0,discard=on,iothread=1,size=64G
snaptime: 1712345999
";

/// 230.conf as lugc renders it.
const VM_BY_LUGC: &str = "\
#VM 230 (mirrorlog) on pve-5, rendered by lugc from cluster.ncl.
boot: order=scsi0
cores: 4
memory: 8192
name: mirrorlog
net0: virtio=BC:24:11:00:02:30,bridge=vmbr0
ostype: l26
scsi0: local-zfs:vm-230-disk-0,discard=on,size=32G
scsihw: virtio-scsi-pci
";

const STORAGE_BY_HAND: &str = "\
dir: local
\tpath /var/lib/vz
\tcontent iso,vztmpl,backup
\tprune-backups keep-last=3

zfspool: local-zfs
\tpool rpool/data
\tcontent images,rootdir
\tsparse 1

cifs: nas
\tpath /mnt/pve/nas
\tserver 192.168.93.20
\tshare backup
\tcontent backup
\tusername lug

pbs: esxi-5-data
\tdatastore data
\tserver esxi-5.vm.ustclug.org
\tcontent backup
\tencryption-key 4f:1b:2c:3d:4e:5f:60:71:82:93:a4:b5:c6:d7:e8:f9:0a:1b:2c:3d:4e:5f:60:71:82:93:a4:b5:c6:d7:e8:f9
\tfingerprint 00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00
\tusername root@pam
";

const STORAGE_BY_LUGC: &str = "\
dir: local
\tpath /var/lib/vz
\tcontent iso,vztmpl,backup,snippets

pbs: esxi-5-data
\tdatastore data
\tserver esxi-5.vm.ustclug.org
\tcontent backup
\tfingerprint 00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00
\tusername root@pam

lvmthin: local-zfs
\tthinpool data
\tvgname pve
\tcontent images,rootdir
";

const VM_PATH: &str = "/etc/pve/nodes/pve-5/qemu-server/230.conf";

fn files(entries: &[(&str, &str)]) -> Files {
    entries
        .iter()
        .map(|(path, text)| ((*path).to_owned(), text.as_bytes().to_vec()))
        .collect()
}

fn first_push() -> Vec<Harm> {
    check(
        &files(&[(VM_PATH, VM_BY_HAND), (STORAGE_CFG, STORAGE_BY_HAND)]),
        &files(&[(VM_PATH, VM_BY_LUGC), (STORAGE_CFG, STORAGE_BY_LUGC)]),
    )
}

#[test]
fn a_first_push_onto_a_hand_configured_node_lists_its_harms() {
    let harms = first_push();
    let kinds: BTreeSet<Kind> = harms.iter().map(|harm| harm.kind).collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [
            Kind::DiskRemoved,
            Kind::DiskShrunk,
            Kind::SnapshotRemoved,
            Kind::NicRemoved,
            Kind::NicChanged,
            Kind::StorageRemoved,
            Kind::PropertyRemoved,
        ]
    );
    insta::assert_snapshot!(render(&harms, &BTreeSet::from([Kind::NicChanged])));
    insta::assert_json_snapshot!(harms);
}

#[test]
fn nothing_is_listed_when_nothing_is_lost() {
    let same = files(&[(VM_PATH, VM_BY_HAND), (STORAGE_CFG, STORAGE_BY_HAND)]);
    assert_eq!(check(&same, &same), []);
    // Added disks, NICs, storages and properties take nothing away.
    assert_eq!(
        check(
            &files(&[(VM_PATH, VM_BY_LUGC), (STORAGE_CFG, STORAGE_BY_LUGC)]),
            &files(&[
                (
                    VM_PATH,
                    &format!("{VM_BY_LUGC}scsi1: local-zfs:vm-230-disk-1,size=8G\n")
                ),
                (
                    STORAGE_CFG,
                    &format!("{STORAGE_BY_LUGC}\tnodes pve-5\n\nnfs: more\n\tserver a\n")
                ),
            ]),
        ),
        []
    );
    // A file that is not there before loses nothing.
    assert_eq!(check(&Files::new(), &files(&[(VM_PATH, VM_BY_LUGC)])), []);
}

#[test]
fn a_removed_vm_config_and_disks_moved_or_detached() {
    let harms = check(&files(&[(VM_PATH, VM_BY_HAND)]), &Files::new());
    assert_eq!(harms.len(), 1);
    assert_eq!(harms[0].kind, Kind::VmRemoved);
    assert!(
        harms[0].words.contains("scsi1 local-zfs:vm-230-disk-1, 2T"),
        "{}",
        harms[0].words
    );
    // Moved to another node, it is named so and compared where it went.
    let moved = "/etc/pve/nodes/pve-6/qemu-server/230.conf";
    let after = files(&[(moved, VM_BY_HAND)]);
    let harms = check(&files(&[(VM_PATH, VM_BY_HAND)]), &after);
    assert_eq!(harms.len(), 1, "{harms:?}");
    assert_eq!(
        (harms[0].kind, harms[0].path.as_str()),
        (Kind::VmMoved, VM_PATH)
    );
    assert!(
        harms[0]
            .words
            .starts_with("VM 230's config moves from node pve-5 to node pve-6: "),
        "{}",
        harms[0].words
    );
    let after = files(&[(moved, VM_BY_LUGC)]);
    let kinds: Vec<Kind> = check(&files(&[(VM_PATH, VM_BY_HAND)]), &after)
        .iter()
        .map(|harm| harm.kind)
        .collect();
    assert_eq!(kinds[0], Kind::VmMoved);
    assert!(kinds.contains(&Kind::DiskRemoved), "{kinds:?}");

    let before = "scsi0: local-zfs:vm-1-disk-0,size=32G\nscsi1: local-zfs:vm-1-disk-1,size=8G\nvirtio0: local-zfs:vm-1-disk-2\n";
    let after = "scsi0: local-lvm:vm-1-disk-0,size=32G\nunused0: local-zfs:vm-1-disk-1\nvirtio1: local-zfs:vm-1-disk-2\nide2: none,media=cdrom\n";
    let path = "/etc/pve/qemu-server/1.conf";
    let harms = check(&files(&[(path, before)]), &files(&[(path, after)]));
    let found: Vec<(Kind, &str)> = harms
        .iter()
        .map(|harm| (harm.kind, harm.words.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (Kind::DiskMoved, "VM 1's scsi0 moves from local-zfs:vm-1-disk-0, 32G to local-lvm:vm-1-disk-0, 32G: the disk on local-zfs is detached, and the VM starts on the other volume"),
            (Kind::DiskRemoved, "VM 1 loses scsi1 (local-zfs:vm-1-disk-1, 8G): the disk is detached, left as unused0"),
        ]
    );
}

#[test]
fn nics_lose_their_bridge_mac_vlan_or_link() {
    let path = "/etc/pve/qemu-server/100.conf";
    let before = "net0: virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=10\n";
    for (after, words) in [
        (
            "net0: virtio=bc:24:11:00:00:01,bridge=vmbr0,tag=10,firewall=1\n",
            None,
        ),
        (
            "net0: model=virtio,macaddr=BC:24:11:00:00:01,bridge=vmbr0,tag=10\n",
            None,
        ),
        (
            "net0: virtio=BC:24:11:00:00:01,bridge=vmbr1,tag=10\n",
            Some("VM 100's net0: bridge vmbr0 → vmbr1"),
        ),
        (
            "net0: e1000=BC:24:11:00:00:02,bridge=vmbr0\n",
            Some("VM 100's net0: MAC BC:24:11:00:00:01 → BC:24:11:00:00:02, VLAN tag 10 → none"),
        ),
        (
            "net0: virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=10,link_down=1\n",
            Some("VM 100's net0: link down"),
        ),
    ] {
        let harms = check(&files(&[(path, before)]), &files(&[(path, after)]));
        let found: Vec<&str> = harms.iter().map(|harm| harm.words.as_str()).collect();
        assert_eq!(found, words.into_iter().collect::<Vec<_>>(), "{after}");
    }
}

const INTERFACES_BY_HAND: &str = "\
auto lo
iface lo inet loopback

iface eno1 inet manual

auto vmbr0
iface vmbr0 inet static
\taddress 192.168.93.6/24
\tgateway 192.168.93.254
\tbridge-ports eno1
\tbridge-stp off
\tbridge-fd 0

auto vmbr1
iface vmbr1 inet manual
\tbridge-ports eno1.101
\tbridge-stp off
\tbridge-fd 0

auto vmbr2
iface vmbr2 inet manual
\tbridge-ports eno2
\tbridge-stp off
\tbridge-fd 0
\tbridge-vlan-aware yes
\tbridge-vids 2-4094

auto vmbr9
iface vmbr9 inet manual
\tbridge-ports none
\tbridge-stp off
\tbridge-fd 0

source /etc/network/interfaces.d/*
";

#[test]
fn bridges_that_vms_use_and_the_management_address() {
    let vm = "net0: virtio=BC:24:11:00:00:01,bridge=vmbr1\nnet1: virtio=BC:24:11:00:00:02,bridge=vmbr2\n";
    let other = "net0: virtio=BC:24:11:00:00:03,bridge=vmbr2\n";
    let before = files(&[
        (INTERFACES, INTERFACES_BY_HAND),
        ("/etc/pve/nodes/pve-6/qemu-server/100.conf", vm),
        ("/etc/pve/nodes/pve-6/qemu-server/101.conf", other),
    ]);
    let changed = INTERFACES_BY_HAND
        .replace("address 192.168.93.6/24", "address 192.168.93.7/24")
        .replace("eno1.101", "eno1.102")
        .replace("\tbridge-vlan-aware yes\n", "")
        .replace(
            "auto vmbr9\niface vmbr9 inet manual\n\tbridge-ports none\n",
            "",
        );
    let mut after = before.clone();
    after.insert(INTERFACES.to_owned(), changed.into_bytes());
    let harms = check(&before, &after);
    insta::assert_snapshot!(render(&harms, &BTreeSet::new()));

    // Without VMs on them, bridges may change; the address still counts.
    let mut alone = files(&[(INTERFACES, INTERFACES_BY_HAND)]);
    let mut moved = alone.clone();
    moved.insert(
        INTERFACES.to_owned(),
        INTERFACES_BY_HAND.replace("vmbr0", "vmbr10").into_bytes(),
    );
    let harms = check(&alone, &moved);
    assert_eq!(harms.len(), 1, "{harms:?}");
    assert!(
        harms[0].words.contains("moves to vmbr10"),
        "{}",
        harms[0].words
    );
    alone.clear();
    assert_eq!(check(&alone, &moved), []);
}

#[test]
fn refused_kinds_and_the_allow_list() {
    let harms = first_push();
    let allowed = BTreeSet::from([Kind::DiskRemoved, Kind::NicChanged]);
    let refused = refused(&harms, &allowed);
    assert!(!refused.contains(&Kind::DiskRemoved));
    assert_eq!(
        allow_list(&refused),
        "disk-shrunk,nic-removed,property-removed,snapshot-removed,storage-removed"
    );
    assert!(judges(VM_PATH) && judges(STORAGE_CFG) && judges(INTERFACES));
    assert!(!judges("/etc/hosts"));
    for kind in [Kind::DiskRemoved, Kind::AddressChanged] {
        use clap::ValueEnum;
        assert_eq!(kind.to_possible_value().unwrap().get_name(), kind.name());
    }
}
