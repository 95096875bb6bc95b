//! Every fact of FLEET.md, visible in the committed out/.

use std::collections::BTreeMap;

use super::{assert_block, assert_line, out, out_exists, HOSTS, MEMBERS, STANDALONE};
use crate::common::{repo_root, tree};

/// The MANIFEST line of `path` in `bundle`: `(mode, owner, action)`.
fn manifest_entry(bundle: &str, path: &str) -> (String, String, String) {
    let manifest = out(&format!("{bundle}/MANIFEST"));
    let line = crate::common::file_lines(&manifest)
        .find(|line| line.split(' ').nth(3) == Some(path))
        .unwrap_or_else(|| panic!("{path} is not in {bundle}'s MANIFEST:\n{manifest}"));
    let fields: Vec<&str> = line.splitn(5, ' ').collect();
    (
        fields[1].to_owned(),
        fields[2].to_owned(),
        fields[4].to_owned(),
    )
}

/// Sections of storage.cfg: `type: id` → property lines (without the TAB).
fn storage_sections() -> BTreeMap<String, Vec<String>> {
    let text = out("cluster/etc/pve/storage.cfg");
    assert!(
        text.ends_with("\n\n") && !text.ends_with("\n\n\n"),
        "{text:?}"
    );
    let mut sections = BTreeMap::new();
    for block in text.trim_end().split("\n\n") {
        let mut lines = block.lines();
        let header = lines.next().expect("header").to_owned();
        assert!(
            !header.starts_with('\t') && header.contains(": "),
            "header `{header}`"
        );
        let props: Vec<String> = lines
            .map(|line| {
                line.strip_prefix('\t')
                    .unwrap_or_else(|| panic!("`{line}` is not TAB-indented"))
                    .to_owned()
            })
            .collect();
        assert!(sections.insert(header.clone(), props).is_none(), "{header}");
    }
    sections
}

#[test]
fn all_seven_hosts_have_a_bundle_and_only_members_get_the_cluster_bundle() {
    let index = out("INDEX");
    let names: Vec<&str> = index
        .lines()
        .skip(1)
        .map(|line| line.split_once(' ').expect("id name").1)
        .collect();
    let mut expected: Vec<&str> = HOSTS.to_vec();
    expected.push("cluster");
    expected.sort_unstable();
    assert_eq!(names, expected);
    let cluster = out("cluster/MANIFEST");
    assert_line(&cluster, "reaches esxi-5 pve-5 pve-6 pve-7");
    for host in STANDALONE {
        assert!(!cluster.contains(host), "{host} in the cluster bundle");
        assert!(!out_exists(&format!("cluster/etc/pve/nodes/{host}")));
    }
}

#[test]
fn hostnames_are_host_dot_vm_ustclug_org_with_the_campus_addresses() {
    let addresses = [
        ("pve-5", "10.38.95.115"),
        ("esxi-5", "10.38.95.111"),
        ("pve-6", "192.168.93.6"),
        ("pve-7", "192.168.93.7"),
        ("pve-8", "192.168.93.8"),
        ("pve-9", "192.168.93.9"),
        ("pve-10", "192.168.93.10"),
    ];
    for host in HOSTS {
        assert_eq!(out(&format!("{host}/etc/hostname")), format!("{host}\n"));
        // Each host names itself; the rest of the fleet is in the campus DNS.
        let hosts = out(&format!("{host}/etc/hosts"));
        for (name, address) in addresses {
            let line = format!("{address} {name}.vm.ustclug.org {name}");
            assert_eq!(
                hosts.lines().any(|l| l == line),
                name == host,
                "{host}: {line}"
            );
        }
        // RFC 1918 campus addresses only, for the fleet itself.
        for (_, address) in addresses {
            assert!(address.starts_with("10.") || address.starts_with("192.168."));
        }
    }
}

#[test]
fn hardware_notes_membership_and_web_ports_are_in_motd() {
    let motd = out("pve-5/etc/motd");
    assert_line(
        &motd,
        "pve-5.vm.ustclug.org: Proxmox VE at site NIC (network information center), cluster member.",
    );
    assert_line(&motd, "Hardware: 2x Xeon E5-2667 v4, 256 GB; 2x 240 GB SSD as LVM VG (16 GB rootfs LVM mirror, 8 GB swap, rest a thinpool); 10x 1.92 TB SSD as a RAIDZ2 zpool");
    assert_line(&motd, "PVE web UI: https://pve-5.vm.ustclug.org:8006");
    assert!(!motd.contains("8007"));
    let esxi = out("esxi-5/etc/motd");
    assert_line(&esxi, "PBS web UI: https://esxi-5.vm.ustclug.org:8007");
    assert_line(
        &esxi,
        "Hardware: 2x Xeon E5620, 48 GB, 2x 240 GB SSD (LVM like pve-5), HDD arrays",
    );
    assert_line(
        &out("pve-6/etc/motd"),
        "Hardware: HP DL380G6, 2x Xeon E5620, 72 GB, 2x 300 GB SAS",
    );
    assert_line(
        &out("pve-7/etc/motd"),
        "Hardware: Oracle x86 server, 128 GB",
    );
    for host in STANDALONE {
        let motd = out(&format!("{host}/etc/motd"));
        assert!(motd.contains("standalone, not in the cluster."), "{motd}");
        assert_line(
            &motd,
            "Hardware: Dell R740xd, Skylake, ~80 TB HDD as a ZFS pool",
        );
    }
}

/// `auto vmbrN` lines of a host's interfaces file, in order.
fn bridges(host: &str) -> Vec<String> {
    out(&format!("{host}/etc/network/interfaces"))
        .lines()
        .filter_map(|line| line.strip_prefix("auto vmbr"))
        .map(|n| format!("vmbr{n}"))
        .collect()
}

#[test]
fn each_host_gets_its_sites_vmbr_table() {
    for host in ["pve-5", "esxi-5"] {
        assert_eq!(
            bridges(host),
            ["vmbr0", "vmbr1", "vmbr2", "vmbr3", "vmbr4", "vmbr5"],
            "{host} (NIC)"
        );
    }
    for host in ["pve-6", "pve-7", "pve-8", "pve-9", "pve-10"] {
        assert_eq!(
            bridges(host),
            ["vmbr0", "vmbr1", "vmbr2", "vmbr10"],
            "{host} (EL)"
        );
    }
    let pve5 = out("pve-5/etc/network/interfaces");
    assert_line(&pve5, "# vmbr3: unicom");
    assert_line(&pve5, "# vmbr4: mobile");
    assert_line(&pve5, "# vmbr5: special purpose");
    assert_line(&pve5, "# vmbr2: telecom");
    let pve6 = out("pve-6/etc/network/interfaces");
    assert_line(&pve6, "# vmbr2: telecom + mobile");
    assert_line(&pve6, "# vmbr10: spare");
    // The campus bridge holds the campus address and the site's gateway.
    assert_block(
        &pve5,
        &[
            "auto vmbr0",
            "iface vmbr0 inet static",
            "    address 10.38.95.115/24",
            "    gateway 10.38.95.254",
        ],
    );
    assert_block(
        &pve6,
        &[
            "auto vmbr0",
            "iface vmbr0 inet static",
            "    address 192.168.93.6/24",
            "    gateway 192.168.93.254",
        ],
    );
}

#[test]
fn gretap_tunnel_is_rendered_on_both_ends_exactly_as_the_wiki_shows() {
    let pve5 = out("pve-5/etc/network/interfaces");
    assert_block(
        &pve5,
        &[
            "auto gretap0esxi-5",
            "iface gretap0esxi-5 inet manual",
            "    pre-up ip link add name $IFACE mtu $IF_MTU type gretap local 10.38.95.115 remote 10.38.95.111",
            "    post-down ip link delete $IFACE",
            "    mtu 1500",
            "",
            "auto vmbr1",
            "iface vmbr1 inet static",
            "    address 10.254.0.240/21",
            "    bridge-ports gretap0esxi-5",
            "    bridge-stp off",
            "    bridge-fd 0",
        ],
    );
    let esxi5 = out("esxi-5/etc/network/interfaces");
    assert_block(
        &esxi5,
        &[
            "auto gretap0pve-5",
            "iface gretap0pve-5 inet manual",
            "    pre-up ip link add name $IFACE mtu $IF_MTU type gretap local 10.38.95.111 remote 10.38.95.115",
            "    post-down ip link delete $IFACE",
            "    mtu 1500",
            "",
            "auto vmbr1",
            "iface vmbr1 inet static",
            "    address 10.254.0.241/21",
            "    bridge-ports gretap0pve-5",
            "    bridge-stp off",
            "    bridge-fd 0",
        ],
    );
    for (path, bytes) in tree(&repo_root().join("out")) {
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("1462"), "{}", path.display());
        if !path.starts_with("pve-5") && !path.starts_with("esxi-5") {
            assert!(!text.contains("gretap"), "{}", path.display());
        }
    }
}

#[test]
fn esxi5_uplink_and_iscsi_nic() {
    let esxi5 = out("esxi-5/etc/network/interfaces");
    assert_line(&esxi5, "iface enp3s0 inet manual");
    assert_block(
        &esxi5,
        &[
            "auto vmbr2",
            "iface vmbr2 inet manual",
            "    bridge-ports enp3s0.2",
        ],
    );
    assert_block(
        &esxi5,
        &[
            "# enp4s0: external array vdp2 over iSCSI",
            "auto enp4s0",
            "iface enp4s0 inet static",
            "    address 192.168.10.2/24",
        ],
    );
}

#[test]
fn outside_hosts_are_pinned_in_hosts_and_routed_through_the_sites_gateway() {
    for host in HOSTS {
        assert_line(
            &out(&format!("{host}/etc/hosts")),
            "20.205.243.166 github.com",
        );
        let via = if host == "pve-5" || host == "esxi-5" {
            "10.254.0.2"
        } else {
            "10.254.0.1"
        };
        assert_line(
            &out(&format!("{host}/etc/network/interfaces")),
            &format!("    up ip route replace 20.205.243.166 via {via} dev vmbr1"),
        );
    }
}

#[test]
fn pve_firewall_is_off_everywhere_and_masked() {
    for host in MEMBERS {
        let path = format!("/etc/pve/nodes/{host}/host.fw");
        assert_eq!(out(&format!("cluster{path}")), "[OPTIONS]\nenable: 0\n");
        let (mode, owner, _) = manifest_entry("cluster", &path);
        assert_eq!((mode.as_str(), owner.as_str()), ("0640", "root:www-data"));
        assert!(
            !out_exists(&format!("{host}/etc/pve")),
            "{host}: /etc/pve belongs to the cluster bundle"
        );
    }
    for host in STANDALONE {
        let path = format!("/etc/pve/nodes/{host}/host.fw");
        assert_eq!(out(&format!("{host}{path}")), "[OPTIONS]\nenable: 0\n");
        let (mode, owner, _) = manifest_entry(host, &path);
        assert_eq!((mode.as_str(), owner.as_str()), ("0640", "root:www-data"));
    }
    for host in HOSTS {
        let (_, _, action) = manifest_entry(host, "/etc/lugc/pve-firewall.masked");
        assert_eq!(
            action,
            "if [ -e /etc/lugc/pve-firewall.masked ]; then systemctl mask --now pve-firewall.service; else systemctl unmask pve-firewall.service && if systemctl is-enabled --quiet pve-firewall.service; then systemctl start pve-firewall.service; fi; fi"
        );
    }
}

#[test]
fn https_redirects_to_8006_where_enabled_and_there_is_no_rules_v6() {
    for host in MEMBERS {
        let rules = out(&format!("{host}/etc/iptables/rules.v4"));
        assert_block(
            &rules,
            &[
                "*nat",
                ":PREROUTING ACCEPT [0:0]",
                ":INPUT ACCEPT [0:0]",
                ":OUTPUT ACCEPT [0:0]",
                ":POSTROUTING ACCEPT [0:0]",
                "-A PREROUTING -p tcp --dport 443 -m addrtype --dst-type LOCAL -j REDIRECT --to-ports 8006",
                "COMMIT",
            ],
        );
        let (_, _, action) = manifest_entry(host, "/etc/iptables/rules.v4");
        let redirect =
            "-p tcp --dport 443 -m addrtype --dst-type LOCAL -j REDIRECT --to-ports 8006";
        assert_eq!(action, format!("if [ -e /etc/iptables/rules.v4 ]; then update-alternatives --set iptables /usr/sbin/iptables-nft && update-alternatives --set ip6tables /usr/sbin/ip6tables-nft && systemctl restart netfilter-persistent.service; elif iptables -t nat -C PREROUTING {redirect} 2>/dev/null; then iptables -t nat -D PREROUTING {redirect}; fi"));
        // No action removes rules.v6: a push does, keeping it in its backup.
        assert!(
            out(&format!("{host}/MANIFEST")).contains("\nabsent /etc/iptables/rules.v6\n"),
            "{host}"
        );
    }
    for host in STANDALONE {
        assert!(
            !out_exists(&format!("{host}/etc/iptables/rules.v4")),
            "{host}: not enabled"
        );
        assert!(
            !out(&format!("{host}/MANIFEST")).contains("rules.v6"),
            "{host}"
        );
    }
    for path in tree(&repo_root().join("out")).keys() {
        assert!(!path.ends_with("rules.v6"), "{}", path.display());
    }
}

#[test]
fn chrony_uses_campus_ntp_instead_of_the_debian_pool() {
    for host in HOSTS {
        let chrony = out(&format!("{host}/etc/chrony/chrony.conf"));
        assert_block(
            &chrony,
            &[
                "# Use Debian vendor zone.",
                "#pool 2.debian.pool.ntp.org iburst",
                "server time.ustc.edu.cn iburst",
            ],
        );
        assert!(!chrony.lines().any(|line| line.starts_with("pool ")));
        let (_, _, action) = manifest_entry(host, "/etc/chrony/chrony.conf");
        assert_eq!(action, "systemctl restart chrony.service");
    }
}

/// The Debian release of each host: esxi-5 was installed as PVE 7.1 (bullseye).
fn release(host: &str) -> &'static str {
    if host == "esxi-5" {
        "bullseye"
    } else {
        "bookworm"
    }
}

#[test]
fn apt_uses_mirrors_ustc_edu_cn_for_debian_and_proxmox() {
    for host in HOSTS {
        let release = release(host);
        let components = if release == "bullseye" {
            "main contrib non-free"
        } else {
            "main contrib non-free non-free-firmware"
        };
        let sources = out(&format!("{host}/etc/apt/sources.list"));
        assert_block(
            &sources,
            &[
                &format!("deb https://mirrors.ustc.edu.cn/debian {release} {components}"),
                &format!("deb https://mirrors.ustc.edu.cn/debian {release}-updates {components}"),
                &format!("deb https://mirrors.ustc.edu.cn/debian-security {release}-security {components}"),
            ],
        );
        assert_line(
            &out(&format!(
                "{host}/etc/apt/sources.list.d/pve-no-subscription.list"
            )),
            &format!(
                "deb https://mirrors.ustc.edu.cn/proxmox/debian/pve {release} pve-no-subscription"
            ),
        );
        for disabled in ["pve-enterprise.list", "ceph.list"] {
            let text = out(&format!("{host}/etc/apt/sources.list.d/{disabled}"));
            assert!(
                text.lines().all(|line| line.starts_with('#')),
                "{host} {disabled}"
            );
        }
        for (path, bytes) in tree(&repo_root().join("out").join(host).join("etc/apt")) {
            for line in String::from_utf8_lossy(&bytes).lines() {
                if line.starts_with("deb ") {
                    assert!(
                        line.contains("https://mirrors.ustc.edu.cn/"),
                        "{}: {line}",
                        path.display()
                    );
                }
            }
        }
    }
    assert_line(
        &out("esxi-5/etc/apt/sources.list.d/pbs-no-subscription.list"),
        "deb https://mirrors.ustc.edu.cn/proxmox/debian/pbs bullseye pbs-no-subscription",
    );
    assert!(!out_exists(
        "pve-5/etc/apt/sources.list.d/pbs-no-subscription.list"
    ));
}

#[test]
fn pve6_distributes_the_certificate_to_every_member() {
    let script = out("pve-6/etc/cron.daily/sync-cert");
    assert!(script.starts_with("#!/bin/bash\n"));
    for line in [
        "src=\"/etc/pve/nodes/pve-6\"",
        "certsrc=\"/mnt/nfs-el/cert\"",
        "cp -u \"${certsrc}/privkey.pem\" \"${src}/pveproxy-ssl.key\"",
        "cp -u \"${certsrc}/fullchain.pem\" \"${src}/pveproxy-ssl.pem\"",
        "systemctl reload pveproxy.service",
        "for node in pve-5 esxi-5 pve-7; do",
        "  cp \"${src}/pveproxy-ssl.key\" \"${src}/pveproxy-ssl.pem\" \"/etc/pve/nodes/${node}/\"",
        "  ssh \"${node}\" 'systemctl reload pveproxy.service' &",
        "wait",
    ] {
        assert_line(&script, line);
    }
    let (mode, owner, _) = manifest_entry("pve-6", "/etc/cron.daily/sync-cert");
    assert_eq!((mode.as_str(), owner.as_str()), ("0755", "root:root"));
}

#[test]
fn esxi5_hands_the_certificate_to_pbs_when_it_changed() {
    let script = out("esxi-5/etc/cron.daily/sync-cert");
    assert!(script.starts_with("#!/bin/bash\n"));
    assert_block(
        &script,
        &[
            "if ! cmp -s \"${src}/pveproxy-ssl.pem\" \"${dst}/proxy.pem\"; then",
            "  cp \"${src}/pveproxy-ssl.key\" \"${dst}/proxy.key\"",
            "  cp \"${src}/pveproxy-ssl.pem\" \"${dst}/proxy.pem\"",
            "  systemctl reload proxmox-backup-proxy.service",
            "fi",
        ],
    );
    assert_line(&script, "src=\"/etc/pve/nodes/esxi-5\"");
    assert_line(&script, "dst=\"/etc/proxmox-backup\"");
    let (mode, _, _) = manifest_entry("esxi-5", "/etc/cron.daily/sync-cert");
    assert_eq!(mode, "0755");
    for host in ["pve-5", "pve-7", "pve-8", "pve-9", "pve-10"] {
        assert!(
            !out_exists(&format!("{host}/etc/cron.daily/sync-cert")),
            "{host}"
        );
    }
}

#[test]
fn esxi5_logs_in_to_vdp2_at_boot() {
    let path = "/usr/local/sbin/iscsi-node-vdp2";
    let script = out(&format!("esxi-5{path}"));
    for setting in ["node.startup", "node.conn[0].startup"] {
        assert_line(
            &script,
            &format!("iscsiadm -m node -T 'iqn.2002-10.com.infortrend:raid.sn8223150.001' -p '192.168.10.1:3260' -o update -n '{setting}' -v 'automatic'"),
        );
    }
    assert!(script.contains("RS-3116I-S42-6, 14.55 TiB, mounted at /mnt/vdp2"));
    // It runs while it exists; a rollback that removed it skips it.
    let (mode, _, action) = manifest_entry("esxi-5", path);
    assert_eq!(
        (mode.as_str(), action),
        ("0755", format!("if [ -e {path} ]; then {path}; fi"))
    );
}

#[test]
fn esxi5_backs_up_its_rootfs_daily_at_4_21() {
    let unit = out("esxi-5/etc/systemd/system/rootfs-backup.service");
    assert_block(
        &unit,
        &[
            "[Unit]",
            "Description=Backup rootfs to vdp2",
            "RequiresMountsFor=/mnt/vdp2",
            "",
            "[Service]",
            "Type=oneshot",
            "ExecStart=/usr/bin/rsync -aHAXx --delete / /mnt/vdp2/rootfs/",
        ],
    );
    let (_, _, action) = manifest_entry("esxi-5", "/etc/systemd/system/rootfs-backup.service");
    assert_eq!(action, "systemctl daemon-reload");
    assert_line(
        &out("esxi-5/etc/cron.d/rootfs-backup"),
        "21 4 * * * root systemctl start rootfs-backup.service",
    );
}

/// The seed names neither vdp2's filesystem nor how esxi-5 mounts it: lugc
/// renders no mount unit, which in /etc/systemd/system would override the
/// one systemd makes from the host's /etc/fstab. Given a `filesystem`, it
/// renders one, after open-iscsi, as a network mount, that systemd verifies.
#[test]
fn esxi5_keeps_its_own_mount_of_vdp2_unless_the_filesystem_is_described() {
    let path = "/etc/systemd/system/mnt-vdp2.mount";
    assert!(!out_exists(&format!("esxi-5{path}")));
    let fixture = crate::common::Fixture::new();
    fixture.edit(
        "cluster.ncl",
        "      mount = \"/mnt/vdp2\",",
        "      mount = \"/mnt/vdp2\",\n      filesystem = { device = 'Label \"vdp2\", type = \"ext4\" },",
    );
    let output = fixture.run(&["build"]);
    assert!(
        output.status.success(),
        "{}",
        crate::common::stderr(&output)
    );
    let unit = fixture.read(&format!("out/esxi-5{path}"));
    assert_block(
        &unit,
        &[
            "[Unit]",
            "Description=vdp2 over iSCSI at /mnt/vdp2",
            "Wants=open-iscsi.service",
            "After=iscsid.service open-iscsi.service",
        ],
    );
    for line in [
        "What=/dev/disk/by-label/vdp2",
        "Where=/mnt/vdp2",
        "Type=ext4",
        "Options=_netdev",
        "WantedBy=remote-fs.target",
    ] {
        assert_line(&unit, line);
    }
    let manifest = fixture.read("out/esxi-5/MANIFEST");
    assert!(
        manifest.contains(&format!(
            " {path} systemctl daemon-reload && if [ -e {path} ]; then systemctl enable mnt-vdp2.mount; fi\n"
        )),
        "{manifest}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mnt-vdp2.mount");
    std::fs::write(&file, &unit).unwrap();
    crate::artifacts::systemd::check(&file).unwrap();
}

#[test]
fn storage_cfg_scopes_local_zfs_to_pve5_and_shares_the_pbs_storages() {
    let sections = storage_sections();
    let zfs = &sections["zfspool: local-zfs"];
    assert!(zfs.contains(&"nodes pve-5".to_owned()), "{zfs:?}");
    assert!(zfs.contains(&"pool rpool/data".to_owned()), "{zfs:?}");
    assert!(out("cluster/etc/pve/storage.cfg").contains("zfspool: local-zfs\n"));
    assert!(out("cluster/etc/pve/storage.cfg").contains("\tnodes pve-5\n"));
    assert_eq!(
        sections["dir: local"][..],
        ["path /var/lib/vz", "content iso,vztmpl,backup,snippets"]
    );
    for (id, datastore) in [("esxi-5-data", "data"), ("esxi-5-vdp2", "vdp2")] {
        let pbs = &sections[&format!("pbs: {id}")];
        assert!(
            pbs.contains(&"server esxi-5.vm.ustclug.org".to_owned()),
            "{pbs:?}"
        );
        assert!(pbs.contains(&format!("datastore {datastore}")), "{pbs:?}");
        assert!(pbs.contains(&"port 8007".to_owned()), "{pbs:?}");
        assert!(
            pbs.iter()
                .any(|line| line.starts_with("fingerprint ")
                    && line.len() == "fingerprint ".len() + 95),
            "{pbs:?}"
        );
        assert!(
            !pbs.iter().any(|line| line.starts_with("nodes ")),
            "{id} is shared by the cluster"
        );
    }
    // Storage that lives on some nodes only names them; names are cluster members.
    for (header, props) in &sections {
        let node_local = ["dir", "lvm", "lvmthin", "zfspool"]
            .iter()
            .any(|kind| header.starts_with(&format!("{kind}: ")));
        let nodes = props.iter().find_map(|line| line.strip_prefix("nodes "));
        if node_local && header != "dir: local" {
            assert!(nodes.is_some(), "{header} must name its nodes");
        }
        for node in nodes.into_iter().flat_map(|list| list.split(',')) {
            assert!(MEMBERS.contains(&node), "{header}: {node}");
        }
    }
    let (mode, owner, _) = manifest_entry("cluster", "/etc/pve/storage.cfg");
    assert_eq!((mode.as_str(), owner.as_str()), ("0640", "root:www-data"));
}

/// pve-6 and pve-7 run VMs too: every member has a storage.cfg storage that
/// holds VM disks (`images`) and is not scoped away from it, so pushing
/// storage.cfg never hides a node's disk storage.
#[test]
fn every_member_has_storage_for_vm_disks() {
    let cfg = crate::storage_cfg::parse(&out("cluster/etc/pve/storage.cfg")).expect("storage.cfg");
    for member in MEMBERS {
        let storages: Vec<&str> = cfg
            .sections
            .iter()
            .filter(|s| s.content().contains(&"images"))
            .filter(|s| s.nodes().is_empty() || s.nodes().contains(&member))
            .map(|s| s.id.as_str())
            .collect();
        assert!(!storages.is_empty(), "{member}: no storage for VM disks");
    }
    let lvm = cfg.section("local-lvm").expect("local-lvm");
    let mut nodes = lvm.nodes();
    nodes.sort_unstable();
    assert_eq!(nodes, ["esxi-5", "pve-5", "pve-6", "pve-7"]);
}

/// iptables-persistent for the 443 redirect, virtiofsd for VM 230's share,
/// open-iscsi for vdp2; ssacli only as the seed has it, a .deb from HPE's pool.
#[test]
fn each_host_installs_the_packages_its_setup_needs() {
    for (host, packages) in [
        ("pve-5", "iptables-persistent virtiofsd"),
        ("esxi-5", "iptables-persistent open-iscsi"),
        ("pve-6", "iptables-persistent"),
        ("pve-7", "iptables-persistent"),
    ] {
        let script = out(&format!("{host}/etc/apt/lugc-packages"));
        assert_line(&script, &format!("set -- {packages}"));
        let (mode, _, action) = manifest_entry(host, "/etc/apt/lugc-packages");
        assert_eq!(
            (mode.as_str(), action.as_str()),
            (
                "0755",
                "if [ -e /etc/apt/lugc-packages ]; then /etc/apt/lugc-packages; fi"
            )
        );
        assert_eq!(
            script.contains("ssacli"),
            host == "pve-6",
            "{host}: ssacli is for pve-6's HP Smart Array"
        );
    }
    assert!(out("pve-6/etc/apt/lugc-packages")
        .contains("http://downloads.linux.hpe.com/SDR/repo/mcp/Debian/pool/non-free/"));
    for host in STANDALONE {
        assert!(
            !out_exists(&format!("{host}/etc/apt/lugc-packages")),
            "{host}"
        );
    }
}

#[test]
fn no_password_or_private_key_anywhere_in_out() {
    for (path, bytes) in tree(&repo_root().join("out")) {
        let text = String::from_utf8_lossy(&bytes).to_lowercase();
        assert!(!text.contains("password"), "{}", path.display());
        assert!(!text.contains("private key-----"), "{}", path.display());
    }
}

#[test]
fn vm_230_shares_mirrorlog_over_virtiofs_with_the_exact_args_line() {
    let conf = out("cluster/etc/pve/nodes/pve-5/qemu-server/230.conf");
    assert_line(&conf, "args: -chardev socket,id=virtfs0,path=/run/virtiofsd-230.sock -device vhost-user-fs-pci,queue-size=1024,chardev=virtfs0,tag=mirrorlog -object memory-backend-file,id=mem,size=8192M,mem-path=/dev/shm,share=on -numa node,memdev=mem");
    assert_line(&conf, "hookscript: local:snippets/virtiofsd.sh");
    assert_line(&conf, "memory: 8192");
    assert_line(
        &conf,
        "#Guest /etc/fstab line for virtiofs%3A mirrorlog /mnt/mirrorlog virtiofs defaults 0 0",
    );
    let (mode, owner, _) = manifest_entry("cluster", "/etc/pve/nodes/pve-5/qemu-server/230.conf");
    assert_eq!((mode.as_str(), owner.as_str()), ("0640", "root:www-data"));

    let hook = out("pve-5/var/lib/vz/snippets/virtiofsd.sh");
    assert_line(
        &hook,
        "  230) shared_dir=\"/srv/mirrorlog\"; set -- --announce-submounts --inode-file-handles=mandatory ;;",
    );
    assert_line(&hook, "    systemd-run --collect --unit=\"${unit}\" \\");
    assert_line(&hook, "socket=\"/run/${unit}.sock\"");
    let (mode, _, _) = manifest_entry("pve-5", "/var/lib/vz/snippets/virtiofsd.sh");
    assert_eq!(mode, "0755");
    assert_line(
        &out("pve-5/var/lib/vz/snippets/virtiofs-230.fstab"),
        "mirrorlog /mnt/mirrorlog virtiofs defaults 0 0",
    );
}

#[test]
fn vms_on_pve5_use_virtio_scsi_pci_without_iothread_and_discard_on_zfs() {
    let conf = out("cluster/etc/pve/nodes/pve-5/qemu-server/230.conf");
    assert_line(&conf, "scsihw: virtio-scsi-pci");
    assert_line(&conf, "scsi0: local-zfs:vm-230-disk-0,discard=on,size=32G");
    assert!(!conf.contains("iothread"));
    assert!(!conf.contains("lsi"));
    assert!(!conf.contains("virtio-scsi-single"));
}

#[test]
fn standalone_hosts_get_nothing_of_the_cluster() {
    for host in STANDALONE {
        let manifest = out(&format!("{host}/MANIFEST"));
        assert_line(&manifest, &format!("reaches {host}"));
        for line in crate::common::file_lines(&manifest) {
            let path = line.split(' ').nth(3).expect("path");
            if path.starts_with("/etc/pve/") {
                assert_eq!(path, format!("/etc/pve/nodes/{host}/host.fw"), "{host}");
            }
        }
    }
}
