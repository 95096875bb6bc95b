//! Health-checked confirm (issue 20, failure 7): a network change can leave
//! vmbr0 and ssh up and still cut VMs off (a wrong VLAN id on vmbr1 or
//! vmbr2). Before confirming, the host runs the bundle's health check
//! (/usr/local/lib/lugc/health, rendered from the description) through the
//! action runner; a failed check reverts the push and lugc names it.
//!
//! Nothing touches this machine's network: the stand-in `ifreload -a`
//! "applies" pve-6's interfaces file to a simulated kernel in the test's
//! directory, which the stand-in `ip`, `ping` and `carries` of
//! common::network read; a simulated switch carries VLANs 101 and 102. The
//! health script itself runs for real with the stand-ins first on PATH.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use super::Setup;
use crate::common::network::Network;
use crate::common::snapshot::assert_output;
use crate::common::stdout;

const HEALTH: &str = "/usr/local/lib/lugc/health";

impl Setup {
    /// pve-6 on the stand-in network; returns the simulation's directory.
    fn stand_in_network(&self) -> PathBuf {
        let network = Network::new(&self.sshd.dir().join("sim"), &[101, 102]);
        fs::create_dir_all(self.host_root("pve-6")).unwrap();
        self.hook(&format!(
            "case $1 in\n\
             \x20 'ifreload -a') cp {root}/etc/network/interfaces {applied} ;;\n\
             \x20 \"sh \"*{HEALTH}*) PATH={bin}:$PATH SIM={sim} sh -c \"$1\"; exit $? ;;\n\
             esac\n",
            root = self.host_root("pve-6").display(),
            applied = network.applied().display(),
            sim = network.sim.display(),
            bin = network.bin().display(),
        ));
        network.sim
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
    assert_output!("healthy", output);
    assert_eq!(setup.checks().len(), 1, "{:?}", setup.checks());
    let old_files = setup.host_files("pve-6");
    let applied = fs::read_to_string(sim.join("applied")).unwrap();

    // A wrong VLAN id on vmbr1: vmbr0 and ssh stay up, the intranet is gone.
    setup.describe(
        "carrier = 'Vlan 101 }, # assumed VLAN id",
        "carrier = 'Vlan 110 }, # assumed VLAN id",
    );
    let error = setup.push_reverted_unhealthy(&old_files);
    assert_output!("unhealthy", error);
    // The revert ran `ifreload -a` again: the old network is applied.
    assert_eq!(fs::read_to_string(sim.join("applied")).unwrap(), applied);
    // ssh stayed up all along: status reaches pve-6 and reports the revert.
    let status = setup.status_command(&["pve-6"]).output().unwrap();
    assert_output!("status", stdout(&status));
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
    assert_output!("healthy", output);
    let old_files = setup.host_files("pve-6");

    // vmbr2 has no address, so only the fleet's check sees its VLAN go.
    setup.describe(
        "carrier = 'Vlan 102 }, # assumed VLAN id",
        "carrier = 'Vlan 120 }, # assumed VLAN id",
    );
    let error = setup.push_reverted_unhealthy(&old_files);
    assert_output!("unhealthy", error);
}
