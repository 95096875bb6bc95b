//! Confirmed pushes: an action that can cut the host off runs under a revert
//! armed on the host, which lugc disarms over a new ssh connection; when that
//! connection fails, the host reverts on its own. And a pending
//! /etc/network/interfaces.new is noticed, never applied unseen.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::window::StandIn;
use super::{wait_for, Setup, RESTART_CHRONY};
use crate::common::snapshot::assert_output;
use crate::common::stdout;

pub(super) const IFRELOAD: &str = "ifreload -a";

impl Setup {
    /// Change the NTP server and a comment in pve-5's /etc/network/interfaces,
    /// rebuild and commit: a push restarts chrony, then runs `ifreload -a`.
    pub(super) fn change_network(&self) {
        self.edit_ntp_server();
        self.fixture.edit(
            "cluster.ncl",
            "GRETAP between pve-5 and esxi-5\", carrier",
            "GRETAP to esxi-5\", carrier",
        );
        self.build();
        self.commit("ntp and network");
    }

    /// Wait for pve-5 to revert a push on its own, then check it put back
    /// `old_files`, ran the push's actions again after the `ran` first
    /// actions, and left no push pending.
    fn assert_reverted(&self, old_files: &BTreeMap<PathBuf, Vec<u8>>, ran: usize) {
        self.assert_files_back("pve-5", old_files);
        assert_eq!(
            self.actions()[ran..],
            [RESTART_CHRONY, IFRELOAD, RESTART_CHRONY, IFRELOAD],
            "the push's actions ran, then ran again after the revert"
        );
        assert_eq!(self.host_record("pve-5", "pve-5.PENDING"), None);
    }

    /// Wait for `host` to revert a push on its own, then check it put back `old_files`.
    pub(super) fn assert_files_back(&self, host: &str, old_files: &BTreeMap<PathBuf, Vec<u8>>) {
        wait_for(&format!("{host} to revert"), || {
            self.host_record(host, &format!("{host}.REVERTED"))
                .is_some()
        });
        wait_for("the revert to end", || !self.revert_running());
        assert_eq!(&self.host_files(host), old_files, "the old files are back");
    }

    /// The backup directories of pushes to pve-5, by name.
    pub(super) fn push_dirs(&self) -> Vec<PathBuf> {
        let backup = self.host_root("pve-5").join("var/lib/lugc/backup");
        let mut dirs: Vec<PathBuf> = fs::read_dir(backup)
            .map(|entries| entries.map(|entry| entry.unwrap().path()).collect())
            .unwrap_or_default();
        dirs.sort();
        dirs
    }

    /// Whether a revert process of this test's hosts is still running.
    pub(super) fn revert_running(&self) -> bool {
        let needle = format!("{}/", self.sshd.dir().join("hosts").display());
        fs::read_dir("/proc").unwrap().flatten().any(|entry| {
            fs::read(entry.path().join("cmdline")).is_ok_and(|cmdline| {
                let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                text.contains("revert.sh revert") && text.contains(&needle)
            })
        })
    }
}

fn has(dir: &Path, name: &str) -> bool {
    dir.join(name).exists()
}

#[test]
fn a_confirmed_push_keeps_its_files_and_disarms_the_revert() {
    let setup = Setup::new();
    assert_output!("dry-run", setup.push_ok(&["pve-5"]));
    // Unguarded actions first, then the guarded ones under the revert.
    let output = setup.push_ok(&["pve-5", "--yes", "--confirm-timeout", "30"]);
    assert_output!("confirmed", output);

    let dirs = setup.push_dirs();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    assert!(has(&dirs[0], "CONFIRMED") && !has(&dirs[0], "ARMED"));
    wait_for("the disarmed revert to end", || !setup.revert_running());
    assert!(!has(&dirs[0], "REVERTED") && !has(&dirs[0], "REVERTING"));
    assert_eq!(setup.host_files("pve-5"), setup.bundle_files("pve-5"));
    assert_eq!(setup.host_record("pve-5", "pve-5.REVERTED"), None);
    assert_eq!(setup.actions().iter().filter(|a| *a == IFRELOAD).count(), 1);

    // --no-confirm says what it skips.
    setup.change_network();
    let output = setup.push_ok(&["pve-5", "--yes", "--no-confirm"]);
    assert_output!("no-confirm", output);

    // Undoing a network change is guarded as making it is.
    let output = setup.push_ok(&["pve-5", "--rollback", "--yes"]);
    assert_output!("rollback", output);
    assert_eq!(setup.actions().last().map(String::as_str), Some(IFRELOAD));
}

#[test]
fn an_unconfirmed_push_is_reverted_by_the_host_and_reported_by_the_next_push() {
    let setup = Setup::new();
    setup.push_ok(&["pve-5", "--yes"]);
    let old_files = setup.host_files("pve-5");
    let old_manifest = setup.manifest("pve-5");
    setup.change_network();
    assert_ne!(setup.bundle_files("pve-5"), old_files);
    // The new network config "cuts the host off": from `ifreload -a` on,
    // sshd takes no new connection (the session under way goes on).
    let dir = setup.sshd.dir();
    setup.hook(&format!(
        "if [ \"$1\" = '{IFRELOAD}' ] && [ ! -f {revoked} ]; then : > {revoked}; : > {keys}; fi\n",
        revoked = dir.join("revoked").display(),
        keys = dir.join("authorized_keys").display(),
    ));
    let ran = setup.actions().len();

    let error = setup.push_fails(&["pve-5", "--yes", "--confirm-timeout", "5"]);
    assert_output!("unconfirmed", error);

    setup.assert_reverted(&old_files, ran);
    assert_eq!(
        setup.host_record("pve-5", "pve-5.MANIFEST"),
        Some(old_manifest),
        "the record names what is on the host"
    );
    let dirs = setup.push_dirs();
    let reverted: Vec<&PathBuf> = dirs.iter().filter(|dir| has(dir, "REVERTED")).collect();
    assert_eq!(reverted.len(), 1, "{dirs:?}");
    let reverted = reverted[0];
    assert!(!has(reverted, "ARMED") && !has(reverted, "REVERTING"));
    let record = setup.host_record("pve-5", "pve-5.REVERTED").unwrap();
    let id = reverted.file_name().unwrap().to_str().unwrap();
    assert!(record.contains(&format!("push {id}\n")), "{record}");
    assert!(record.ends_with("outcome complete\n"), "{record}");

    setup.restore_connection();
    let status = setup.status_command(&["pve-5"]).output().unwrap();
    assert_output!("status", stdout(&status));
    assert_output!("dry-run", setup.push_ok(&["pve-5"]));
    setup.push_ok(&["pve-5", "--yes", "--confirm-timeout", "30"]);
    assert_eq!(setup.host_files("pve-5"), setup.bundle_files("pve-5"));
    assert_eq!(setup.host_record("pve-5", "pve-5.REVERTED"), None);
    assert_output!("dry-run-again", setup.push_ok(&["pve-5"]));
}

#[test]
fn a_failed_guarded_action_has_the_host_revert_at_once() {
    let setup = Setup::new();
    setup.push_ok(&["pve-5", "--yes"]);
    let old_files = setup.host_files("pve-5");
    setup.change_network();
    setup.fail_action(IFRELOAD);
    let ran = setup.actions().len();

    // Were the host to wait out the window, the test would wait ten minutes.
    let error = setup.push_fails(&["pve-5", "--yes", "--confirm-timeout", "600"]);
    assert_output!("failed", error);
    setup.assert_reverted(&old_files, ran);
    // `ifreload -a` failed again after the files were put back: said so.
    let record = setup.host_record("pve-5", "pve-5.REVERTED").unwrap();
    assert!(record.ends_with("outcome incomplete\n"), "{record}");
    assert_output!("dry-run", setup.push_ok(&["pve-5"]));
}

#[test]
fn a_push_waits_for_an_armed_revert_and_names_one_a_reboot_stopped() {
    let setup = Setup::new();
    setup.push_ok(&["pve-5", "--yes"]);
    // The confirmed push's revert process notices within a second that it
    // was disarmed; an ARMED file made before it ended would wake it up.
    wait_for("the disarmed revert to end", || !setup.revert_running());
    // The push as it stands between its actions and its confirmation.
    let dir = setup.push_dirs().pop().unwrap();
    let id = dir.file_name().unwrap().to_str().unwrap().to_owned();
    let state = setup.host_root("pve-5").join("var/lib/lugc");
    fs::write(
        state.join("pve-5.PENDING"),
        format!("lugc-pushes 1\n{id}\n"),
    )
    .unwrap();
    fs::rename(dir.join("CONFIRMED"), dir.join("ARMED")).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    fs::write(dir.join("DEADLINE"), format!("{}\n", now + 600)).unwrap();
    let revert = StandIn::start(&dir);

    assert_output!("armed", setup.push_fails(&["pve-5", "--yes"]));
    assert_output!("armed-dry-run", setup.push_ok(&["pve-5"]));

    // The host restarted inside the window: the revert process is gone.
    drop(revert);
    fs::write(dir.join("DEADLINE"), format!("{}\n", now - 600)).unwrap();
    assert_output!("unconfirmed-dry-run", setup.push_ok(&["pve-5"]));
    setup.push_ok(&["pve-5", "--yes"]);
    assert_eq!(setup.host_record("pve-5", "pve-5.PENDING"), None);
    assert_eq!(setup.host_files("pve-5"), setup.bundle_files("pve-5"));
    assert_output!("dry-run-after", setup.push_ok(&["pve-5"]));
}

#[test]
fn a_pending_interfaces_new_blocks_the_push_until_forced() {
    let setup = Setup::new();
    setup.push_ok(&["pve-5", "--yes"]);
    let pending = setup.host_root("pve-5").join("etc/network/interfaces.new");
    let web_ui_change = "auto vmbr9\niface vmbr9 inet manual\n";
    fs::write(&pending, web_ui_change).unwrap();

    let output = setup.push(&["pve-5"]);
    assert_eq!(output.status.code(), Some(2));
    assert_output!("dry-run", stdout(&output));
    assert_output!("refused", setup.push_fails(&["pve-5", "--yes"]));
    assert_eq!(fs::read_to_string(&pending).unwrap(), web_ui_change);

    setup.push_ok(&["pve-5", "--yes", "--force"]);
    assert!(!pending.exists());
    let kept = setup
        .push_dirs()
        .iter()
        .map(|dir| dir.join("files/etc/network/interfaces.new"))
        .find(|path| path.exists())
        .expect("interfaces.new kept in a backup");
    assert_eq!(fs::read_to_string(kept).unwrap(), web_ui_change);
}
