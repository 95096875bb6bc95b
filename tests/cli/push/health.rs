//! Health-checked confirm (issue 20, failure 7): a network change can leave
//! vmbr0 and ssh up and still cut VMs off (a wrong VLAN id on vmbr1 or
//! vmbr2). Before confirming, the host runs the bundle's health check
//! (/usr/local/lib/lugc/health, rendered from the description) through the
//! action runner; a failed check reverts the push and lugc names it.
//!
//! Nothing touches this machine's network: the stand-in `ifreload -a`
//! "applies" pve-6's interfaces file to a simulated kernel in the test's
//! directory (sim/applied), which stand-in `ip`, `ping` and `carries`
//! read; a simulated switch carries VLANs 101 and 102 (sim/switch). The
//! health script itself runs for real with the stand-ins first on PATH.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use super::Setup;
use crate::common::{stderr, stdout};

const HEALTH: &str = "/usr/local/lib/lugc/health";

/// Stand-in `ip -o link show dev NAME`: a device of the applied interfaces
/// file, up, with its bridge as `master`.
const IP: &str = r#"#!/bin/sh
applied=$SIM/applied
[ "$1 $2 $3 $4" = "-o link show dev" ] || { echo "stand-in ip: $*" >&2; exit 2; }
grep -q "^iface $5 " "$applied" || { echo "Device \"$5\" does not exist." >&2; exit 1; }
master=$(awk -v n="$5" '/^iface /{b=$2} /^ *bridge-ports /{for(i=2;i<=NF;i++) if($i==n) print b}' "$applied")
printf '7: %s: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue%s state UP mode DEFAULT\n' "$5" "${master:+ master $master}"
"#;

/// Whether traffic on bridge $1 reaches the switch: a port untagged or in
/// a VLAN the switch carries (a tunnel always does).
const CARRIES: &str = r#"#!/bin/sh
applied=$SIM/applied
for port in $(awk -v b="$1" '/^iface /{i=$2} i==b && /^ *bridge-ports /{for(n=2;n<=NF;n++) print $n}' "$applied"); do
  case $port in
    none) ;;
    *.*) grep -qx "${port##*.}" "$SIM/switch" && exit 0 ;;
    *) exit 0 ;;
  esac
done
echo "$1: no port the switch carries" >&2
exit 1
"#;

/// Stand-in `ping ... -I BRIDGE ADDRESS`: answered when the bridge has an
/// address and reaches the switch.
const PING: &str = r#"#!/bin/sh
while [ $# -gt 1 ]; do
  [ "$1" = -I ] && dev=$2
  shift
done
if awk -v b="$dev" '/^iface /{i=$2} i==b && /^ *address /{found=1} END{exit !found}' "$SIM/applied" && carries "$dev" 2> /dev/null; then
  echo "1 packets transmitted, 1 received, 0% packet loss"
else
  echo "PING $1: 1 packets transmitted, 0 received, 100% packet loss"
  exit 1
fi
"#;

impl Setup {
    /// pve-6 on the stand-in network; returns the simulation's directory.
    fn stand_in_network(&self) -> PathBuf {
        let sim = self.sshd.dir().join("sim");
        let bin = sim.join("bin");
        fs::create_dir_all(&bin).unwrap();
        for (name, text) in [("ip", IP), ("carries", CARRIES), ("ping", PING)] {
            fs::write(bin.join(name), text).unwrap();
            fs::set_permissions(bin.join(name), fs::Permissions::from_mode(0o755)).unwrap();
        }
        fs::write(sim.join("switch"), "101\n102\n").unwrap();
        fs::create_dir_all(self.host_root("pve-6")).unwrap();
        self.hook(&format!(
            "case $1 in\n\
             \x20 'ifreload -a') cp {root}/etc/network/interfaces {sim}/applied ;;\n\
             \x20 \"sh \"*{HEALTH}*) PATH={bin}:$PATH SIM={sim} sh -c \"$1\"; exit $? ;;\n\
             esac\n",
            root = self.host_root("pve-6").display(),
            sim = sim.display(),
            bin = bin.display(),
        ));
        sim
    }

    /// Replace `from` with `to` in cluster.ncl, rebuild and commit.
    fn describe(&self, from: &str, to: &str) {
        self.fixture.edit("cluster.ncl", from, to);
        self.build();
        self.commit(to);
    }

    /// Push pve-6, which fails its health check; wait for the revert and
    /// check that it put back `old_files` and completed. Returns lugc's error.
    fn push_reverted_unhealthy(&self, old_files: &BTreeMap<PathBuf, Vec<u8>>) -> String {
        let ran = self.checks().len();
        let error = self.push_fails(&["pve-6", "--yes", "--confirm-timeout", "600"]);
        assert_eq!(self.checks().len(), ran + 1, "the check ran once");
        self.assert_files_back("pve-6", old_files);
        let record = self.host_record("pve-6", "pve-6.REVERTED").unwrap();
        assert!(record.ends_with("outcome complete\n"), "{record}");
        error
    }
}

#[test]
fn a_vlan_that_cuts_vms_off_fails_the_health_check_and_the_push_is_reverted() {
    let setup = Setup::new();
    let sim = setup.stand_in_network();
    // A healthy first push: every check passes, the push is confirmed.
    let output = setup.push_ok(&["pve-6", "--yes", "--confirm-timeout", "30"]);
    for line in [
        &format!("  checking: {HEALTH}\n"),
        "    | ok bridge vmbr0 is up with eno1\n",
        "    | ok bridge vmbr1 is up with eno1.101\n",
        "    | ok bridge vmbr10 is up\n",
        "    | ok vmbr0 reaches 192.168.93.254\n",
        "    | ok vmbr1 reaches 10.254.0.1\n",
        "  confirmed: ",
    ] {
        assert!(output.contains(line), "{line:?} in\n{output}");
    }
    assert_eq!(setup.checks().len(), 1, "{:?}", setup.checks());
    let old_files = setup.host_files("pve-6");
    let applied = fs::read_to_string(sim.join("applied")).unwrap();

    // A wrong VLAN id on vmbr1: vmbr0 and ssh stay up, the intranet is gone.
    setup.describe(
        "carrier = 'Vlan 101 }, # assumed VLAN id",
        "carrier = 'Vlan 110 }, # assumed VLAN id",
    );
    let error = setup.push_reverted_unhealthy(&old_files);
    assert!(
        error.contains(
            "pve-6 is not healthy after the push: 1 check failed: vmbr1 reaches 10.254.0.1: "
        ),
        "{error}"
    );
    assert!(
        error.contains("puts back the files it replaced and runs their actions now"),
        "{error}"
    );
    // The revert ran `ifreload -a` again: the old network is applied.
    assert_eq!(fs::read_to_string(sim.join("applied")).unwrap(), applied);
    // ssh stayed up all along: status reaches pve-6 and reports the revert.
    let status = setup.status_command(&["pve-6"]).output().unwrap();
    assert!(
        stdout(&status).contains("pve-6 reverted push "),
        "{}\n{}",
        stdout(&status),
        stderr(&status)
    );
}

#[test]
fn a_check_of_the_fleets_own_guards_a_bridge_without_an_address() {
    let setup = Setup::new();
    setup.stand_in_network();
    setup.describe(
        "  tunnels = [",
        "  health_checks = [\n    { name = \"vmbr2 carries telecom + mobile\", command = \"carries vmbr2\", hosts = [\"pve-6\"] },\n  ],\n\n  tunnels = [",
    );
    let output = setup.push_ok(&["pve-6", "--yes", "--confirm-timeout", "30"]);
    assert!(
        output.contains("    | ok vmbr2 carries telecom + mobile\n"),
        "{output}"
    );
    let old_files = setup.host_files("pve-6");

    // vmbr2 has no address, so only the fleet's check sees its VLAN go.
    setup.describe(
        "carrier = 'Vlan 102 }, # assumed VLAN id",
        "carrier = 'Vlan 120 }, # assumed VLAN id",
    );
    let error = setup.push_reverted_unhealthy(&old_files);
    assert!(
        error.contains(
            "1 check failed: vmbr2 carries telecom + mobile: vmbr2: no port the switch carries"
        ),
        "{error}"
    );
}
