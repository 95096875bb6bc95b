//! Rollbacks and reverts put back exactly what a push changed, and nothing
//! else, then run the actions of the paths they put back. Here the stand-in
//! runner also carries out each action on the host's root
//! (`common::actions`), so an action that runs a file a rollback removed
//! fails as it would on a host, and the firewall's unit ends as it began.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use super::{wait_for, Setup, CHRONY, RESTART_CHRONY};
use crate::common::actions::StandIns;
use crate::common::snapshot::assert_output;
use crate::common::stdout;

const FIREWALL: &str = "pve-firewall.service";
/// pve-firewall as Proxmox VE's installer leaves it: enabled and running.
const RUNNING: &str = "enabled unmasked active";
/// As lugc's marker leaves it: masked and stopped, its enablement kept.
const MASKED_STOPPED: &str = "enabled masked inactive";
const RULES_V6: &str = "etc/iptables/rules.v6";

impl Setup {
    /// From now on the runner carries out each action on the host's root
    /// after logging it (host.sh gives it the root as LUGC_ROOT).
    fn simulate(&self) -> StandIns {
        let stand_ins = StandIns::install(self.sshd.dir(), &self.sshd.dir().join("hosts"));
        assert_eq!(
            stand_ins.script(),
            fs::canonicalize(self.sshd.dir()).unwrap().join("simulate")
        );
        stand_ins
    }

    /// `host` as configured by hand before lugc, pve-firewall running: its
    /// /etc/hostname already the bundle's, the rest as Debian and Proxmox
    /// VE's installer write it (`/etc/pve` a directory, as pmxcfs mounts it;
    /// `storage` adds its storage.cfg). Returns its files.
    fn configured_by_hand(
        &self,
        stand_ins: &StandIns,
        host: &str,
        storage: bool,
    ) -> BTreeMap<PathBuf, Vec<u8>> {
        let root = self.host_root(host);
        let hostname = self.out_file(host, "etc/hostname");
        let interfaces = self.installer_interfaces(host);
        let mut files: Vec<(&str, &[u8])> = vec![
            ("etc/hostname", &hostname),
            (
                "etc/hosts",
                b"127.0.0.1 localhost\n192.0.2.5 pve.example pve\n",
            ),
            (CHRONY, b"pool 2.debian.pool.ntp.org iburst\n"),
            ("etc/network/interfaces", interfaces.as_bytes()),
            (
                "etc/apt/sources.list",
                b"deb http://deb.debian.org/debian bookworm main contrib\n",
            ),
        ];
        if storage {
            files.push((
                "etc/pve/storage.cfg",
                b"dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\nzfspool: local-zfs\n\tpool rpool/data\n\tsparse\n\tcontent images,rootdir\n",
            ));
        }
        for (path, bytes) in files {
            let file = root.join(path);
            fs::create_dir_all(file.parent().unwrap()).unwrap();
            fs::write(&file, bytes).unwrap();
            fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        }
        fs::create_dir_all(root.join("etc/pve")).unwrap();
        stand_ins.set_unit(host, FIREWALL, RUNNING);
        self.host_files(host)
    }

    /// /etc/network/interfaces as PVE's installer writes it: vmbr0 on the
    /// bundle's port with the bundle's address and gateway (the host is
    /// reached where it was, so the harm check has nothing to list).
    fn installer_interfaces(&self, host: &str) -> String {
        let bundle = String::from_utf8(self.out_file(host, "etc/network/interfaces")).unwrap();
        let vmbr0 = bundle.split("iface vmbr0 inet static\n").nth(1).unwrap();
        let value = |key: &str| {
            vmbr0
                .lines()
                .find_map(|line| line.trim().strip_prefix(key))
                .unwrap_or_else(|| panic!("no {key} on vmbr0 in out/{host}"))
                .trim()
                .to_owned()
        };
        let (address, gateway, port) = (value("address"), value("gateway"), value("bridge-ports"));
        format!(
            "auto lo\niface lo inet loopback\n\niface {port} inet manual\n\nauto vmbr0\niface vmbr0 inet static\n\taddress {address}\n\tgateway {gateway}\n\tbridge-ports {port}\n\tbridge-stp off\n\tbridge-fd 0\n"
        )
    }

    /// Each distinct action of `bundle`'s files but those at `unchanged`, in
    /// path order: what a rollback of its first push runs.
    fn actions_but(&self, bundle: &str, unchanged: &[&str]) -> Vec<String> {
        let mut actions: Vec<String> = Vec::new();
        for line in crate::common::file_lines(&self.manifest(bundle)) {
            let fields: Vec<&str> = line.splitn(5, ' ').collect();
            if unchanged.contains(&fields[3]) || fields[4] == "-" {
                continue;
            }
            if !actions.iter().any(|action| action == fields[4]) {
                actions.push(fields[4].to_owned());
            }
        }
        actions
    }

    /// After a first push of `bundles` to `host` and its undoing: the host
    /// has its files `before`, pve-firewall runs again, the actions since
    /// the first `ran` were those of the paths put back (all but the
    /// hostname, which already matched), and lugc records no push.
    fn assert_as_before(
        &self,
        stand_ins: &StandIns,
        (host, bundles): (&str, &[&str]),
        before: &BTreeMap<PathBuf, Vec<u8>>,
        ran: usize,
    ) {
        assert_eq!(&self.host_files(host), before);
        assert_eq!(stand_ins.unit(host, FIREWALL), RUNNING);
        assert_eq!(
            self.actions()[ran..],
            self.actions_but(host, &["/etc/hostname"]),
            "the actions of the paths put back, once each in path order"
        );
        for bundle in bundles {
            for record in ["MANIFEST", "PENDING"] {
                let name = format!("{bundle}.{record}");
                assert_eq!(self.host_record(host, &name), None, "{name}");
            }
            let status = self.status_of(bundle);
            assert!(status.contains("never pushed"), "{status}");
        }
    }

    /// The state `lugc status BUNDLE` reports, with what follows it.
    fn status_of(&self, bundle: &str) -> String {
        let output = self.status_command(&[bundle]).output().unwrap();
        let text = stdout(&output);
        text.lines()
            .find(|line| line.starts_with(bundle))
            .unwrap_or_else(|| panic!("no row for {bundle}:\n{text}"))
            .to_owned()
    }
}

/// Failures 1 to 3 of issue 20 on a cluster member, whose /etc/pve the
/// cluster bundle writes: a first push of both bundles, then their rollback,
/// leave the host as it was: /etc/hostname (which already matched) stays,
/// rules.v6 (which the push removed) is back, the package script (which the
/// rollback removed) does not run, and pve-firewall runs again.
#[test]
fn rolling_back_a_first_push_to_a_cluster_member_leaves_it_as_it_was() {
    let setup = Setup::new();
    let stand_ins = setup.simulate();
    let cluster = setup.manifest("cluster");
    assert!(cluster.contains("\nreaches esxi-5 "), "{cluster}");
    let member = "esxi-5";
    let root = setup.host_root(member);
    fs::create_dir_all(root.join("etc/iptables")).unwrap();
    fs::write(
        root.join(RULES_V6),
        "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n",
    )
    .unwrap();
    let before = setup.configured_by_hand(&stand_ins, member, true);

    // rules.v6 holds rules lugc does not render: the push stops until forced.
    assert_output!("refused", setup.push_fails(&[member, "--yes"]));
    assert_output!("forced", setup.push_ok(&[member, "--yes", "--force"]));
    setup.push_ok(&["cluster", "--yes"]);
    assert!(!root.join(RULES_V6).exists());
    assert_eq!(stand_ins.unit(member, FIREWALL), MASKED_STOPPED);
    let ran = setup.actions().len();

    // Taking away the storages and VMs the push added is harm, allowed by name.
    let error = setup.push_fails(&["cluster", "--rollback", "--yes"]);
    let allow = "property-removed,storage-removed,vm-removed";
    assert_output!("harm", error);
    assert_eq!(stand_ins.unit(member, FIREWALL), MASKED_STOPPED);
    setup.push_ok(&["cluster", "--rollback", "--yes", "--allow", allow]);
    assert_eq!(
        setup.actions().len(),
        ran,
        "the cluster bundle has no actions"
    );
    assert_output!("rollback", setup.push_ok(&[member, "--rollback", "--yes"]));
    setup.assert_as_before(&stand_ins, (member, &[member, "cluster"]), &before, ran);
}

/// The same on a standalone host, whose own /etc/pve the host bundle writes.
#[test]
fn rolling_back_a_first_push_to_a_standalone_host_leaves_it_as_it_was() {
    let setup = Setup::new();
    let stand_ins = setup.simulate();
    let host = "pve-8";
    assert!(setup
        .manifest(host)
        .contains("/etc/pve/nodes/pve-8/host.fw"));
    let before = setup.configured_by_hand(&stand_ins, host, false);
    setup.push_ok(&[host, "--yes"]);
    assert_eq!(stand_ins.unit(host, FIREWALL), MASKED_STOPPED);
    let ran = setup.actions().len();

    setup.push_ok(&[host, "--rollback", "--yes"]);
    setup.assert_as_before(&stand_ins, (host, &[host]), &before, ran);
}

/// Failure 2: a rollback cut short by a failed action is what `lugc status`
/// reports and `--rollback` finishes, instead of pushing the bundle again.
#[test]
fn a_rollback_cut_short_is_finished_by_the_next_rollback() {
    let setup = Setup::new();
    let stand_ins = setup.simulate();
    let before = setup.configured_by_hand(&stand_ins, "pve-5", false);
    setup.push_ok(&["pve-5", "--yes"]);
    setup.fail_action(RESTART_CHRONY);
    assert_output!(
        "failed",
        setup.push_fails(&["pve-5", "--rollback", "--yes"])
    );
    assert_eq!(
        setup.host_file("pve-5", CHRONY),
        before[&PathBuf::from(CHRONY)]
    );

    assert_output!("status", setup.status_of("pve-5"));
    assert_output!("dry-run", setup.push_ok(&["pve-5", "--rollback"]));

    fs::remove_file(setup.sshd.dir().join("fail")).unwrap();
    let ran = setup.actions().len();
    // Finishing runs every action of the paths put back, again.
    setup.push_ok(&["pve-5", "--rollback", "--yes"]);
    setup.assert_as_before(&stand_ins, ("pve-5", &["pve-5"]), &before, ran);
}

/// Failure 3: a first push the host reverts on its own (the new network
/// config cut it off) ends complete, with pve-firewall running again: the
/// revert runs the actions of the paths it put back, not the push's.
#[test]
fn the_revert_of_a_first_push_ends_complete_and_puts_the_firewall_back() {
    let setup = Setup::new();
    let stand_ins = setup.simulate();
    let before = setup.configured_by_hand(&stand_ins, "pve-5", false);
    let dir = setup.sshd.dir();
    setup.hook(&format!(
        "if [ \"$1\" = 'ifreload -a' ] && [ ! -f {revoked} ]; then : > {revoked}; : > {keys}; fi\n",
        revoked = dir.join("revoked").display(),
        keys = dir.join("authorized_keys").display(),
    ));

    // The window runs from the end of each action: long enough that a loaded
    // machine does not revert between two of the push's actions.
    let error = setup.push_fails(&["pve-5", "--yes", "--confirm-timeout", "15"]);
    assert_output!(error);
    wait_for("pve-5 to revert", || {
        setup.host_record("pve-5", "pve-5.REVERTED").is_some()
    });
    wait_for("the revert to end", || !setup.revert_running());
    let record = setup.host_record("pve-5", "pve-5.REVERTED").unwrap();
    assert!(record.ends_with("outcome complete\n"), "{record}");
    setup.restore_connection();
    // The push ran every action of the bundle, the revert those of the paths it put back.
    let pushed = setup.actions_but("pve-5", &[]);
    assert_eq!(setup.actions()[..pushed.len()], pushed);
    setup.assert_as_before(&stand_ins, ("pve-5", &["pve-5"]), &before, pushed.len());
}
