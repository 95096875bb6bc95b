#!/usr/bin/env python3
"""Write a synthetic fleet shaped like cluster.ncl with N hosts, for benchmarks.

    bench/gen-fleet.py --hosts 1000 --out /tmp/fleet-1000
    cargo run --release -- build --file /tmp/fleet-1000/cluster.ncl

Writes DIR/cluster.ncl and copies the repository's lib/ beside it, so the
fleet goes through the same contracts and renderers as the real one, with
facts/index.ncl saying that no host has facts. Every
part of cluster.ncl is there, scaled with N: sites (one per 1000 hosts, at
least two, each a /16 with the real vmbr table), hosts (seven in ten cluster
members, as in the real fleet), GRETAP tunnels, storage.cfg, the certificate
pipeline, VMs with virtiofs shares, units and cron jobs. Deterministic: the
same N gives the same bytes.
"""

import argparse
import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parent.parent
FINGERPRINT = ":".join(["00"] * 32)
# facts/index.ncl as `lugc facts` writes it when no host has facts.
NO_FACTS = """# The hosts' facts: facts/<host>.json by host, as `lugc facts` gathered them.
# lib/facts.ncl imports this file; `lugc facts` rewrites it. Without facts,
# it is `{}`.
{}
"""


def fleet(n):
    sites = max(2, -(-n // 1000))
    out = []
    w = out.append
    w("# A synthetic fleet of %d hosts, written by bench/gen-fleet.py." % n)
    w('let lugc = import "lib/lugc.ncl" in')
    w("lugc.build {")
    w('  domain = "vm.ustclug.org",')
    w('  ntp_servers = ["time.ustc.edu.cn"],')
    w('  mirror = "mirrors.ustc.edu.cn",')
    w('  debian = "bookworm",')
    w("  ports = { pve = 8006, pbs = 8007 },")
    w('  intranet = "10.254.0.0/16",')
    w("  sites = {")
    for s in range(sites):
        w("    S%d = {" % s)
        w('      description = "synthetic site %d",' % s)
        w('      subnet = "10.%d.0.0/16",' % (100 + s))
        w('      gateway = "10.%d.255.254",' % (100 + s))
        w('      gateway_host = "gateway-%d",' % s)
        w('      gateway_intranet_address = "10.254.255.%d",' % (s + 1))
        w('      campus_bridge = "vmbr0",')
        w('      intranet_bridge = "vmbr1",')
        w("      bridges = {")
        w("        vmbr0 = { carries = \"campus (CERNET)\", carrier = 'Uplink },")
        w("        vmbr1 = { carries = \"intranet\", carrier = 'Headless },")
        w("        vmbr2 = { carries = \"telecom\", carrier = 'Vlan 2 },")
        w("        vmbr3 = { carries = \"unicom\", carrier = 'Vlan 3 },")
        w("        vmbr4 = { carries = \"mobile\", carrier = 'Vlan 4 },")
        w("      },")
        w("    },")
    w("  },")
    w('  outside_hosts = [{ name = "github.com", address = "20.205.243.166" }],')
    w("  hosts = {")
    members = []
    zfs_hosts = []
    pbs_host = None
    for i in range(n):
        name = "h-%d" % i
        site = i % sites
        k = i // sites
        member = i % 10 < 7
        w("    %s = {" % name)
        w('      site = "S%d",' % site)
        w('      address = "10.%d.%d.%d",' % (100 + site, k // 250, k % 250 + 1))
        w('      intranet_address = "10.254.%d.%d/16",' % (i // 250, i % 250 + 1))
        w("      cluster = %s," % ("true" if member else "false"))
        w('      uplink = "eno1",')
        w('      hardware = "synthetic host %d",' % i)
        if member:
            members.append(name)
            w("      https_redirect = true,")
            if i % 10 == 0:
                zfs_hosts.append(name)
                w("      vm_policy = {")
                w('        scsihw = ["virtio-scsi-pci"],')
                w("        iothread = false,")
                w('        reason = "LSI controllers and iothread hang the host when a VM reboots",')
                w("      },")
            if pbs_host is None and i % 10 == 1:
                pbs_host = name
                w('      roles = ["pbs"],')
        w("    },")
    w("  },")
    # One GRETAP tunnel per 50 hosts, between two hosts of one site.
    w("  tunnels = [")
    for i in range(0, n - sites, 50):
        w('    { ends = ["h-%d", "h-%d"], bridge = "vmbr1", mtu = 1500 },' % (i, i + sites))
    w("  ],")
    w("  storage = {")
    w('    local = { type = "dir", path = "/var/lib/vz", content = ["iso", "vztmpl", "backup", "snippets"] },')
    w('    local-lvm = { type = "lvmthin", vgname = "pve", thinpool = "data", content = ["images", "rootdir"], nodes = [%s] },'
      % ", ".join('"%s"' % m for m in members))
    w('    local-zfs = { type = "zfspool", pool = "rpool/data", sparse = true, content = ["images", "rootdir"], nodes = [%s] },'
      % ", ".join('"%s"' % m for m in zfs_hosts))
    if pbs_host:
        w('    pbs-data = { type = "pbs", server = "%s", datastore = "data", username = "root@pam", fingerprint = "%s", content = ["backup"] },'
          % (pbs_host, FINGERPRINT))
    w("  },")
    distributor, targets = members[0], [m for m in members[1:] if m != pbs_host]
    w("  certificates = {")
    w('    source = "/mnt/nfs/cert",')
    w('    distributor = "%s",' % distributor)
    w("    targets = [%s]," % ", ".join('"%s"' % t for t in targets))
    if pbs_host and pbs_host != distributor:
        w('    pbs = [{ host = "%s" }],' % pbs_host)
    w("  },")
    # One VM with a virtiofs share on every host with a VM policy.
    w("  vms = [")
    for j, host in enumerate(zfs_hosts):
        vm_id = 1000 + j
        w("    {")
        w('      id = %d, name = "vm-%d", host = "%s", cores = 4, memory = 8192, scsihw = "virtio-scsi-pci",' % (vm_id, vm_id, host))
        w('      disks = { scsi0 = { storage = "local-zfs", volume = "vm-%d-disk-0", size = "32G", discard = true } },' % vm_id)
        w('      nets = { net0 = { mac = "BC:24:11:%02X:%02X:%02X", bridge = "vmbr0" } },' % ((vm_id >> 16) & 255, (vm_id >> 8) & 255, vm_id & 255))
        w("    },")
    w("  ],")
    w("  virtiofs = [")
    for j in range(len(zfs_hosts)):
        vm_id = 1000 + j
        w('    { vm = %d, tag = "share-%d", host_dir = "/srv/share-%d", memory = 8192, guest_mount = "/mnt/share" },' % (vm_id, vm_id, vm_id))
    w("  ],")
    # A backup unit and its cron line on one host in 50.
    w("  units = [")
    for i in range(0, n, 50):
        w('    { host = "h-%d", name = "rootfs-backup.service", description = "Back up rootfs", type = "oneshot", exec_start = "/usr/bin/rsync -aHAXx --delete / /mnt/backup/rootfs/" },' % i)
    w("  ],")
    w("  cron = [")
    for i in range(0, n, 50):
        w('    { host = "h-%d", name = "rootfs-backup", schedule = "21 4 * * *", command = "systemctl start rootfs-backup.service" },' % i)
    w("  ],")
    w("}")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, required=True, help="number of hosts (at least 10)")
    parser.add_argument("--out", type=pathlib.Path, required=True, help="directory to write cluster.ncl and lib/ into, outside the repository (its lib/ is replaced)")
    args = parser.parse_args()
    if args.hosts < 10:
        parser.error("--hosts must be at least 10")
    out = args.out.resolve()
    if out == ROOT or ROOT in out.parents:
        parser.error("--out %s is inside the repository %s; give a directory outside it" % (args.out, ROOT))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cluster.ncl").write_text(fleet(args.hosts))
    shutil.rmtree(args.out / "lib", ignore_errors=True)
    shutil.copytree(ROOT / "lib", args.out / "lib")
    (args.out / "facts").mkdir(exist_ok=True)
    (args.out / "facts" / "index.ncl").write_text(NO_FACTS)


if __name__ == "__main__":
    main()
