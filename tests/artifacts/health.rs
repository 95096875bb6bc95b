//! Health checks: each host's /usr/local/lib/lugc/health passes on the
//! network its own bundle describes, so a correct push is never reverted;
//! and it fails, naming the check, when a bridge loses a port or is gone.
//! The script runs for real on the simulated network of common::network
//! (stand-in `ip` and `ping` reading the bundle's interfaces file), never
//! on this machine's; only its parsing of `ip -o link show` meets the real
//! `ip`, which reads.

use std::collections::BTreeSet;
use std::fs;

use crate::common::network::Network;

use super::{artifacts, scratch, Artifact};

const HEALTH: &str = "/usr/local/lib/lugc/health";

/// Each host bundle's health script and the interfaces file beside it.
fn bundles() -> Vec<(Artifact, String)> {
    let all = artifacts();
    let bundles: Vec<(Artifact, String)> = all
        .iter()
        .filter(|a| a.target == HEALTH)
        .map(|health| {
            let interfaces = all
                .iter()
                .find(|a| a.bundle == health.bundle && a.target == "/etc/network/interfaces")
                .unwrap_or_else(|| panic!("{}: no /etc/network/interfaces", health.bundle));
            (health.clone(), interfaces.text())
        })
        .collect();
    assert!(
        bundles.len() > 1,
        "health scripts in out/: {}",
        bundles.len()
    );
    bundles
}

/// The VLAN ids of the ports `interfaces` defines (`iface eno1.101 …`).
fn vlans(interfaces: &str) -> Vec<u16> {
    let ids: BTreeSet<u16> = interfaces
        .lines()
        .filter_map(|line| line.strip_prefix("iface ")?.split_whitespace().next())
        .filter_map(|device| device.rsplit_once('.')?.1.parse().ok())
        .collect();
    ids.into_iter().collect()
}

/// Run `health` on `applied` as the kernel's network: its exit status and
/// the `failed` lines it printed.
fn run(health: &Artifact, interfaces: &str, applied: &str) -> (i32, Vec<String>, String) {
    let dir = scratch();
    let network = Network::new(dir.path(), &vlans(interfaces));
    network.apply(applied);
    let output = network.run(&health.file).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let failed = text
        .lines()
        .filter(|line| line.starts_with("failed "))
        .map(str::to_owned)
        .collect();
    (output.status.code().unwrap_or(-1), failed, text)
}

#[test]
fn every_host_is_healthy_on_the_network_its_bundle_describes() {
    for (health, interfaces) in bundles() {
        let (status, failed, text) = run(&health, &interfaces, &interfaces);
        let checks = fs::read_to_string(&health.file)
            .unwrap()
            .matches("\nreport ")
            .count();
        assert_eq!((status, failed), (0, vec![]), "{health}:\n{text}");
        assert_eq!(text.matches("ok ").count(), checks, "{health}:\n{text}");
    }
}

#[test]
fn a_bridge_without_its_port_or_gone_fails_its_check_by_name() {
    let (health, interfaces) = bundles()
        .into_iter()
        .find(|(health, _)| health.bundle == "pve-5")
        .expect("out/pve-5");
    let without_port = interfaces.replace("    bridge-ports enp65s0f0.2\n", "");
    assert_ne!(without_port, interfaces);
    let (status, failed, _) = run(&health, &interfaces, &without_port);
    assert_eq!(
        (status, failed),
        (
            1,
            vec![
                "failed bridge vmbr2 is up with enp65s0f0.2: enp65s0f0.2 is not a port of vmbr2"
                    .to_owned()
            ]
        )
    );

    let without_vmbr0 = interfaces.replace("iface vmbr0 ", "iface vmbr9 ");
    let (status, failed, text) = run(&health, &interfaces, &without_vmbr0);
    assert_eq!(status, 1);
    for name in [
        "bridge vmbr0 is up with enp65s0f0",
        "vmbr0 reaches 10.38.95.254",
        "VM 230 (mirrorlog) net0: bridge vmbr0 exists",
    ] {
        assert!(
            failed
                .iter()
                .any(|line| line.starts_with(&format!("failed {name}: "))),
            "{name} in\n{text}"
        );
    }
}

/// The helpers of a health script (everything before its first check)
/// read real iproute2 output: `lo` is up, is no bridge's port, and a
/// missing device fails. Only `ip -o link show` runs, which reads.
#[test]
fn the_checks_read_what_the_real_ip_prints() {
    let (health, _) = bundles().remove(0);
    let text = health.text();
    let helpers = &text[..text.find("\nwhy=$(").expect("a check")];
    let dir = scratch();
    let script = super::write(
        dir.path(),
        "helpers",
        &format!(
            "{helpers}\nup lo || exit 10\n\
             up lo vmbr0 && exit 11\n\
             up lugc-no-such-device && exit 12\n\
             bridge lo && exit 0\n\
             exit 13\n"
        ),
    );
    let output = std::process::Command::new("sh")
        .arg(&script)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("lo is not a port of vmbr0\n"), "{said}");
    assert!(said.contains("lugc-no-such-device"), "{said}");
}
