//! What lugc reads of its own state on a host is not trusted to stay inside
//! the root: a record naming `..` or any other non-canonical path is refused
//! by the host's script and by lugc's parser alike, and a state file that is
//! not a regular file is never opened (a FIFO would block its reader).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::confirm::IFRELOAD;
use super::{wait_for, Setup, RESTART_CHRONY, VIRTIOFSD};
use crate::common::snapshot::assert_output;
use crate::common::{stderr, stdout};

impl Setup {
    /// lugc's state directory on `host`.
    pub(super) fn state_dir(&self, host: &str) -> PathBuf {
        self.host_root(host).join("var/lib/lugc")
    }

    /// A file beside the host roots, outside every one of them.
    fn victim(&self) -> PathBuf {
        let victim = self.sshd.dir().join("hosts/victim");
        fs::write(&victim, "not lugc's\n").unwrap();
        victim
    }

    /// `host`'s last push, a confirmed one, as it stands between its
    /// actions and its confirmation: pending, ARMED, with no revert process
    /// running; its DEADLINE is left to the caller. Returns its backup
    /// directory.
    pub(super) fn armed_by_hand(&self, host: &str) -> PathBuf {
        wait_for("the disarmed revert to end", || !self.revert_running());
        let previous = self.host_record(host, &format!("{host}.PREVIOUS")).unwrap();
        let id = previous.lines().last().unwrap().to_owned();
        let dir = self.state_dir(host).join("backup").join(&id);
        fs::write(
            self.state_dir(host).join(format!("{host}.PENDING")),
            format!("lugc-pushes 1\n{id}\n"),
        )
        .unwrap();
        fs::rename(dir.join("CONFIRMED"), dir.join("ARMED")).unwrap();
        fs::remove_file(dir.join("DEADLINE")).unwrap();
        dir
    }
}

/// Processes whose command line holds `needle`.
pub(super) fn processes_with(needle: &str) -> Vec<String> {
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| fs::read(entry.path().join("cmdline")).ok())
        .map(|cmdline| String::from_utf8_lossy(&cmdline).replace('\0', " "))
        .filter(|text| text.contains(needle))
        .collect()
}

#[test]
fn a_revert_never_leaves_the_root_whatever_before_says() {
    let setup = Setup::new();
    setup.push_ok(&["pve-5", "--yes"]);
    let old_files = setup.host_files("pve-5");
    setup.change_network();
    let victim = setup.victim();
    // As chrony restarts (before the guarded action), the push's BEFORE
    // gains paths that leave the root or are not canonical; then the
    // guarded action fails, and the host reverts the push at once.
    let state = setup.state_dir("pve-5");
    let hostile = [
        "/../victim".to_owned(),
        format!("/var/lib/vz/snippets/../snippets/{}", "virtiofsd.sh"),
        format!("/./{VIRTIOFSD}"),
        format!("//{VIRTIOFSD}"),
        format!("/{VIRTIOFSD}/"),
    ];
    let lines: String = hostile
        .iter()
        .map(|path| format!(" 'absent {path}'"))
        .collect();
    setup.hook(&format!(
        "if [ \"$1\" = '{RESTART_CHRONY}' ]; then\n  id=$(tail -n 1 {state}/pve-5.PENDING)\n  printf '%s\\n'{lines} >> {state}/backup/$id/BEFORE\nfi\n",
        state = state.display()
    ));
    setup.fail_action(IFRELOAD);
    setup.push_fails(&["pve-5", "--yes", "--confirm-timeout", "600"]);
    wait_for("pve-5 to revert", || {
        setup.host_record("pve-5", "pve-5.REVERTED").is_some()
    });
    wait_for("the revert to end", || !setup.revert_running());

    assert_eq!(fs::read_to_string(&victim).unwrap(), "not lugc's\n");
    assert_eq!(
        setup.host_files("pve-5"),
        old_files,
        "nothing else was removed"
    );
    let dir = setup
        .push_dirs()
        .into_iter()
        .find(|dir| dir.join("REVERTED").exists())
        .unwrap();
    let log = fs::read_to_string(dir.join("REVERT.log")).unwrap();
    for path in &hostile {
        assert!(
            log.contains(&format!("not restored: {path} ")),
            "{path}:\n{log}"
        );
    }
    let record = setup.host_record("pve-5", "pve-5.REVERTED").unwrap();
    assert!(record.ends_with("outcome incomplete\n"), "{record}");
}

#[test]
fn a_recorded_path_outside_the_root_is_refused_not_removed() {
    let setup = Setup::new();
    setup.push_ok(&["pve-5", "--yes"]);
    let victim = setup.victim();
    // pve-5's record claims the last push wrote ../victim (with its very
    // content, so that a push would remove it as a file it no longer has).
    let record = setup.state_dir("pve-5").join("pve-5.MANIFEST");
    let text = fs::read_to_string(&record).unwrap();
    let line = format!(
        "{} 0644 root:root /../victim -",
        blake3::hash(b"not lugc's\n").to_hex()
    );
    let mut lines: Vec<&str> = text.lines().collect();
    let first_file = lines
        .iter()
        .position(|line| line.split(' ').next().is_some_and(|word| word.len() == 64))
        .unwrap();
    lines.insert(first_file, &line);
    fs::write(&record, lines.join("\n") + "\n").unwrap();

    assert_output!(setup.push_fails(&["pve-5", "--yes"]));
    assert_eq!(fs::read_to_string(&victim).unwrap(), "not lugc's\n");
}

#[test]
fn a_fifo_among_the_records_blocks_nothing() {
    let setup = Setup::new();
    setup.push_ok(&["pve-5", "--yes"]);
    let dir = setup.armed_by_hand("pve-5");
    let deadline = dir.join("DEADLINE");
    let status = Command::new("mkfifo").arg(&deadline).status().unwrap();
    assert!(status.success());

    // Were `records` to wait for the FIFO, `--timeout 3` would make pve-5 unreachable.
    let output = setup
        .status_command(&["pve-5", "--timeout", "3"])
        .output()
        .unwrap();
    let shown = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{shown}{}", stderr(&output));
    let id = dir.file_name().unwrap().to_str().unwrap();
    assert!(shown.contains(id), "{shown}");
    assert!(
        !shown.contains("unreachable"),
        "records waited for the FIFO: {shown}"
    );
    let dry = setup.push_ok(&["pve-5", "--timeout", "3"]);
    assert!(dry.contains(id), "{dry}");
    let blocked = processes_with(&deadline.display().to_string());
    assert!(blocked.is_empty(), "left on the host: {blocked:?}");
    assert!(is_fifo(&deadline));
}

fn is_fifo(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_fifo())
}
