//! host.sh `revert`, the armed revert a push leaves with the host, run to
//! its end in the foreground: it puts back what the pushes replaced (BEFORE
//! as `lugc::host::record` writes it), runs the actions again and records
//! that it reverted (read back by lugc's own parser).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;

use lugc::host::record::{self, Before, Reverted};
use lugc::host::HostFile;

use super::{answer, host_sh, runner, Root};

const ID: &str = "pve-5-0123456789ab.Ab3dEf9z";

/// A host after push `ID` wrote /etc/a (0640 before, 0644 now) and added
/// /etc/b, its revert armed and due, its actions `first` and `second`.
fn pushed() -> Root {
    let host = Root::new();
    host.write("etc/a", b"new\n", 0o644);
    host.write("etc/b", b"added\n", 0o644);
    let before = Before {
        bundle: "pve-5".to_owned(),
        replaces: None,
        undoes: Vec::new(),
        paths: BTreeMap::from([
            (
                "/etc/a".to_owned(),
                Some(HostFile {
                    blake3: blake3::hash(b"old\n").to_hex().to_string(),
                    mode: 0o640,
                    owner: "root:root".to_owned(),
                }),
            ),
            ("/etc/b".to_owned(), None),
        ]),
    };
    let backup = |name: &str| format!("var/lib/lugc/backup/{ID}/{name}");
    host.write(&backup("BEFORE"), before.render().as_bytes(), 0o600);
    host.write(&backup("files/etc/a"), b"old\n", 0o644);
    host.write(&backup("PUSHES"), format!("{ID}\n").as_bytes(), 0o600);
    host.write(&backup("ACTIONS"), b"echo first\necho second\n", 0o600);
    host.write(&backup("ARMED"), b"", 0o600);
    host.write(&backup("DEADLINE"), b"1\n", 0o600);
    let pending = record::render_pushes(&[ID.to_owned()]);
    host.write("var/lib/lugc/pve-5.PENDING", pending.as_bytes(), 0o600);
    host
}

/// `revert` as `arm` starts it, with the stand-in runner; its log of actions.
fn revert(host: &Root) -> String {
    let log = host.at("ran");
    let runner = runner(host.at("").as_path(), &log);
    let bundle_id = "c".repeat(64);
    host.ok("revert", &[ID, "1", "5", &runner, "pve-5", &bundle_id], b"");
    fs::read_to_string(log).unwrap_or_default()
}

#[test]
fn a_due_revert_puts_back_each_path_runs_the_actions_and_records_it() {
    let host = pushed();
    assert_eq!(revert(&host), "echo first\necho second\n");
    assert_eq!(host.read("etc/a"), "old\n");
    assert_eq!(
        fs::metadata(host.at("etc/a")).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert!(!host.at("etc/b").exists());
    assert!(!host.state("pve-5.PENDING").exists());
    let dir = host.state(&format!("backup/{ID}"));
    assert!(dir.join("REVERTED").exists());
    assert!(!dir.join("ARMED").exists() && !dir.join("REVERTING").exists());
    let reverted = Reverted::parse(&host.read("var/lib/lugc/pve-5.REVERTED")).unwrap();
    assert_eq!(reverted.push, ID);
    assert_eq!(reverted.bundle_id, "c".repeat(64));
    assert!(reverted.complete);
    let log = fs::read_to_string(dir.join("REVERT.log")).unwrap();
    assert!(log.contains("running: echo first"), "{log}");
}

/// A BEFORE of version 1 (no `undoes` line), as a push armed by an older
/// lugc left it, is put back alike.
#[test]
fn a_before_of_version_1_is_put_back_alike() {
    let host = pushed();
    let path = format!("var/lib/lugc/backup/{ID}/BEFORE");
    let version_2 = host.read(&path);
    let version_1 = version_2
        .replacen("lugc-before 2\n", "lugc-before 1\n", 1)
        .replacen("\nundoes\n", "\n", 1);
    assert_ne!(version_1, version_2);
    host.write(&path, version_1.as_bytes(), 0o600);
    assert_eq!(revert(&host), "echo first\necho second\n");
    assert_eq!(host.read("etc/a"), "old\n");
    assert!(!host.at("etc/b").exists());
    assert!(
        Reverted::parse(&host.read("var/lib/lugc/pve-5.REVERTED"))
            .unwrap()
            .complete
    );
}

#[test]
fn a_failed_action_makes_the_revert_incomplete() {
    let host = pushed();
    host.write(
        &format!("var/lib/lugc/backup/{ID}/ACTIONS"),
        b"exit 1\necho second\n",
        0o600,
    );
    assert_eq!(revert(&host), "exit 1\necho second\n");
    assert_eq!(host.read("etc/a"), "old\n");
    let reverted = Reverted::parse(&host.read("var/lib/lugc/pve-5.REVERTED")).unwrap();
    assert!(!reverted.complete);
    let log = host.read(&format!("var/lib/lugc/backup/{ID}/REVERT.log"));
    assert!(log.contains("failed: exit 1"), "{log}");
}

#[test]
fn a_revert_that_lost_to_the_confirmation_changes_nothing() {
    let host = pushed();
    host.ok("disarm", &[ID], &answer(ID));
    assert_eq!(revert(&host), "");
    assert_eq!(host.read("etc/a"), "new\n");
    assert_eq!(host.read("etc/b"), "added\n");
    assert!(host.state("pve-5.PENDING").exists());
    assert!(!host.state("pve-5.REVERTED").exists());
}

#[test]
fn a_revert_keeps_the_other_pending_pushes() {
    let host = pushed();
    let other = "pve-5-0123456789ab.Other000";
    let pending = record::render_pushes(&[other.to_owned(), ID.to_owned()]);
    host.write("var/lib/lugc/pve-5.PENDING", pending.as_bytes(), 0o600);
    revert(&host);
    assert_eq!(
        record::parse_pushes(&host.read("var/lib/lugc/pve-5.PENDING")),
        Ok(vec![other.to_owned()])
    );
}

/// A write that fails, as on a full disk (here a stand-in `mv` on the
/// host's PATH that fails for lugc's temporary files), leaves no
/// `*.lugc-new.*` file behind: PENDING stays as it was and the revert is
/// incomplete.
#[test]
fn a_revert_whose_records_cannot_be_written_leaves_no_temporary_file() {
    let host = pushed();
    let other = "pve-5-0123456789ab.Other000";
    let pending = record::render_pushes(&[other.to_owned(), ID.to_owned()]);
    host.write("var/lib/lugc/pve-5.PENDING", pending.as_bytes(), 0o600);
    let stand_in = host.write(
        "stand-in/mv",
        b"for a; do case $a in *.lugc-new.*) echo 'mv: No space left on device' >&2; exit 1 ;; esac; done\n\
          exec /bin/mv \"$@\"\n",
        0o755,
    );
    let path = format!(
        "{}:{}",
        stand_in.parent().unwrap().display(),
        std::env::var("PATH").unwrap()
    );
    let runner = runner(host.at("").as_path(), &host.at("ran"));
    let bundle_id = "c".repeat(64);
    let status = host_sh(
        "revert",
        &host.root(),
        &[ID, "1", "5", &runner, "pve-5", &bundle_id],
    )
    .env("PATH", path)
    .status()
    .unwrap();
    assert!(status.success());
    assert_eq!(host.read("etc/a"), "old\n");
    let left: Vec<_> = walkdir::WalkDir::new(host.at(""))
        .into_iter()
        .map(|entry| entry.unwrap().into_path())
        .filter(|path| path.to_string_lossy().contains(".lugc-new."))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(host.read("var/lib/lugc/pve-5.PENDING"), pending);
    assert!(!host.state("pve-5.REVERTED").exists());
    assert!(host.state(&format!("backup/{ID}/INCOMPLETE")).exists());
}
