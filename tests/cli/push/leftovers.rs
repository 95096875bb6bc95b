//! Nothing stays behind: a push that meets a full disk leaves no temporary
//! file and no backup directory that no record names, and the lock of a
//! push whose lugc is gone is named as stale and released when the ssh
//! session it left ends.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{wait_for, Setup, RESTART_CHRONY};
use crate::common::snapshot::assert_output;
use crate::common::sshd::Sshd;
use crate::common::{stderr, Fixture};

/// Every file below `root` that a write of lugc's left half done.
fn leftovers(root: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(|entry| entry.unwrap().into_path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.contains(".lugc-new.") || name.contains(".lugc-revert.")
        })
        .collect()
}

/// Fill the file system of `file` to the last byte.
fn fill(file: &Path) {
    let mut filler = fs::File::create(file).unwrap();
    let chunk = vec![b'x'; 4096];
    while filler.write_all(&chunk).is_ok() {}
    assert!(filler.write_all(b"x").is_err(), "the disk is full");
}

#[test]
fn a_full_disk_leaves_no_half_written_record() {
    let setup = Setup::reached(
        Fixture::new(),
        Sshd::start_with_small_disk("hosts/pve-5", 1024),
    );
    let root = setup.sshd.seen(&setup.host_root("pve-5"));
    fill(&root.join("filler"));

    let error = setup.push_fails(&["pve-5", "--yes"]);
    assert!(error.contains("cannot write"), "{error}");
    assert_eq!(leftovers(&root), Vec::<PathBuf>::new());
    let backup = root.join("var/lib/lugc/backup");
    let kept: Vec<_> = fs::read_dir(&backup).unwrap().collect();
    assert!(kept.is_empty(), "a backup no record names: {kept:?}");
    assert!(!root.join("var/lib/lugc/pve-5.PENDING").exists());

    fs::remove_file(root.join("filler")).unwrap();
    setup.push_ok(&["pve-5", "--yes"]);
    assert_eq!(leftovers(&root), Vec::<PathBuf>::new());
    let pushed = fs::read_to_string(root.join("var/lib/lugc/pve-5.MANIFEST")).unwrap();
    assert_eq!(pushed, setup.manifest("pve-5"));
}

/// The process that holds `lock` open (the `cat` of `host.sh hold`).
fn holder_of(lock: &Path) -> u32 {
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
                fds.flatten()
                    .any(|fd| fs::read_link(fd.path()).is_ok_and(|target| target == lock))
            })
        })
        .expect("a process holds the lock")
}

fn parent_of(pid: u32) -> u32 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("PPid:"))
        .and_then(|ppid| ppid.trim().parse().ok())
        .unwrap()
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} {pid}");
}

#[test]
fn the_lock_of_a_push_whose_lugc_is_gone_is_stale_and_released_with_its_session() {
    let setup = Setup::new();
    let dir = setup.sshd.dir();
    let (started, release) = (dir.join("started"), dir.join("release"));
    setup.hook(&format!(
        "if [ \"$1\" = '{RESTART_CHRONY}' ]; then : > {started}; while [ ! -f {release} ]; do sleep 0.1; done; fi\n",
        started = started.display(),
        release = release.display(),
    ));
    let root = setup.sshd.dir().join("hosts/{host}").display().to_string();
    let mut push = setup
        .push_command(setup.sshd.port(), &root, &["pve-5", "--yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the push's action to start", || started.exists());
    // The push's ssh session on the host stops answering (a network cut),
    // and its lugc dies.
    let lock = setup.host_root("pve-5").join("var/lib/lugc/lock");
    let session = parent_of(holder_of(&lock));
    signal(session, "STOP");
    push.kill().unwrap();
    push.wait().unwrap();

    let error = setup.push_fails(&["pve-5", "--yes"]);
    let stale = format!("stale: lugc (pid {}) of this machine", push.id());
    assert!(error.contains(&stale), "{error}");
    assert_output!(error);

    fs::write(&release, "").unwrap();
    signal(session, "CONT");
    wait_for("the session to end and release the lock", || {
        setup.push(&["pve-5", "--yes"]).status.success()
    });
    assert_eq!(setup.host_files("pve-5"), setup.bundle_files("pve-5"));
    let output = setup.push(&["pve-5", "--yes"]);
    assert!(output.status.success(), "{}", stderr(&output));
}
