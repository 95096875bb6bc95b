//! What a push must never do: lose a host's files, write or read outside
//! its root, leave a push half-done, hang, or leak a host's files. Each test
//! reproduces one way it once happened, against the loopback sshd.

use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::{wait_for, Setup, CHRONY, RESTART_CHRONY};
use crate::common::snapshot::assert_output;
use crate::common::sshd::free_port;
use crate::common::{require_tool, stderr, stdout, tree, Fixture};

const HOSTS: &str = "etc/hosts";
const INTERFACES: &str = "etc/network/interfaces";
/// A hand-written /etc/hosts holding a secret, as a host may have before lugc.
const ORIGINAL_HOSTS: &str = "127.0.0.1 localhost\n# wireguard psk: PSK-c2VjcmV0\n";
const ORIGINAL_INTERFACES: &str = "auto lo\niface lo inet loopback\n";
const ORIGINAL_CHRONY: &str = "pool 2.debian.pool.ntp.org iburst\n";

impl Setup {
    /// pve-5 as configured by hand: files the bundle replaces.
    fn hand_configure(&self) {
        for (path, content) in [
            (HOSTS, ORIGINAL_HOSTS),
            (INTERFACES, ORIGINAL_INTERFACES),
            (CHRONY, ORIGINAL_CHRONY),
        ] {
            let file = self.host_root("pve-5").join(path);
            fs::create_dir_all(file.parent().unwrap()).unwrap();
            fs::write(&file, content).unwrap();
        }
    }

    fn assert_hand_configured(&self, context: &str) {
        for (path, content) in [
            (HOSTS, ORIGINAL_HOSTS),
            (INTERFACES, ORIGINAL_INTERFACES),
            (CHRONY, ORIGINAL_CHRONY),
        ] {
            assert_eq!(
                String::from_utf8_lossy(&self.host_file("pve-5", path)),
                content,
                "{context}: {path}"
            );
        }
    }

    /// lugc's backup directories on pve-5, each with its files.
    fn backups(&self) -> Vec<(String, std::collections::BTreeMap<PathBuf, Vec<u8>>)> {
        let dir = self.host_root("pve-5").join("var/lib/lugc/backup");
        let mut backups: Vec<_> = fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .map(|entry| entry.unwrap().path())
                    .map(|path| {
                        let name = path.file_name().unwrap().to_string_lossy().into_owned();
                        (name, tree(&path.join("files")))
                    })
                    .collect()
            })
            .unwrap_or_default();
        backups.sort();
        backups
    }

    fn default_root(&self) -> String {
        self.sshd.dir().join("hosts/{host}").display().to_string()
    }

    /// Start `lugc push ARGS` and return at once.
    fn spawn_push(&self, args: &[&str]) -> Child {
        self.push_command(self.sshd.port(), &self.default_root(), args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start lugc push")
    }

    /// The hook makes the first action wait while the file `block` exists.
    fn block_actions(&self) -> PathBuf {
        let block = self.sshd.dir().join("block");
        fs::write(&block, "").unwrap();
        self.hook(&format!(
            "touch {blocked}; while [ -f {block} ]; do sleep 0.05; done\n",
            blocked = self.sshd.dir().join("blocked").display(),
            block = block.display()
        ));
        block
    }

    fn wait_blocked(&self) {
        wait_for("an action to start", || {
            self.sshd.dir().join("blocked").exists()
        });
    }
}

/// Poll `done` for up to a minute; a test that waits longer has failed.
/// Wait for `child` for up to a minute, then kill it and fail.
fn finish(mut child: Child, what: &str) -> Output {
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} still ran after a minute");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn failed(output: &Output, context: &str) -> String {
    assert_eq!(
        output.status.code(),
        Some(2),
        "{context}: should fail\nstdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
    stderr(output)
}

fn process_alive(pid: &str) -> bool {
    Path::new("/proc").join(pid.trim()).exists()
}

/// An rsync older than 3.4 (Debian 12 main's 3.2.7), unpacked from Debian's
/// archive into the target directory once: the other end of the rsync
/// bookworm-security ships, whose options must work with both.
fn old_rsync() -> PathBuf {
    static RSYNC: OnceLock<PathBuf> = OnceLock::new();
    RSYNC
        .get_or_init(|| {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rsync-3.2");
            let binary = dir.join("root/usr/bin/rsync");
            if binary.is_file() {
                return binary;
            }
            require_tool("apt-cache");
            let madison = Command::new("apt-cache")
                .args(["madison", "rsync"])
                .output()
                .expect("apt-cache madison rsync");
            let versions = String::from_utf8_lossy(&madison.stdout).into_owned();
            let version = versions
                .lines()
                .filter_map(|line| line.split('|').nth(1))
                .map(str::trim)
                .find(|version| version.starts_with("3.2."))
                .unwrap_or_else(|| {
                    panic!("APT knows no rsync 3.2.x (run `apt-get update`, as .ci/run does):\n{versions}")
                })
                .to_owned();
            let download = dir.join("download");
            fs::create_dir_all(&download).unwrap();
            let status = Command::new("apt-get")
                .args(["download", "-q", &format!("rsync={version}")])
                .current_dir(&download)
                .status()
                .expect("apt-get download");
            assert!(status.success(), "apt-get download rsync={version} failed");
            let deb = fs::read_dir(&download)
                .unwrap()
                .map(|entry| entry.unwrap().path())
                .find(|path| path.extension().is_some_and(|ext| ext == "deb"))
                .expect("the downloaded .deb");
            let status = Command::new("dpkg-deb")
                .arg("-x")
                .arg(&deb)
                .arg(dir.join("root"))
                .status()
                .expect("dpkg-deb -x");
            assert!(status.success(), "dpkg-deb -x {}", deb.display());
            binary
        })
        .clone()
}

#[test]
fn two_pushes_at_once_the_second_is_refused_and_no_backup_is_ever_overwritten() {
    let setup = Setup::new();
    setup.hand_configure();
    let block = setup.block_actions();
    let first = setup.spawn_push(&["pve-5", "--yes"]);
    setup.wait_blocked();

    setup.edit_ntp_server();
    setup.build();
    let second = setup.push(&["pve-5", "--yes", "--allow-dirty"]);
    // The holder is named.
    assert_output!(failed(&second, "the second push"));

    fs::remove_file(&block).unwrap();
    let first = finish(first, "the first push");
    assert!(first.status.success(), "{}", stderr(&first));
    let backups = setup.backups();
    assert_eq!(backups.len(), 1, "{backups:?}");
    let original = &backups[0].1;
    assert_eq!(original[&PathBuf::from(HOSTS)], ORIGINAL_HOSTS.as_bytes());
    assert_eq!(original[&PathBuf::from(CHRONY)], ORIGINAL_CHRONY.as_bytes());

    // Without lugc's record, a push keeps the host's files in a new
    // directory: the one holding the originals stays as it is.
    fs::remove_file(setup.host_root("pve-5").join("var/lib/lugc/pve-5.MANIFEST")).unwrap();
    fs::remove_file(setup.host_root("pve-5").join("var/lib/lugc/pve-5.PREVIOUS")).unwrap();
    setup.push_ok(&["pve-5", "--yes", "--allow-dirty"]);
    let after = setup.backups();
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(after.contains(&backups[0]), "the first backup is intact");
}

#[test]
fn rollback_refuses_when_the_backup_it_needs_is_missing() {
    let setup = Setup::new();
    setup.hand_configure();
    setup.push_ok(&["pve-5", "--yes"]);
    let pushed = setup.host_files("pve-5");
    let backup = setup.host_root("pve-5").join("var/lib/lugc/backup");
    let (id, _) = setup.backups().remove(0);

    // The dry run and the rollback itself refuse alike, and change nothing.
    let refused = |context: &str| {
        for (run, args) in [
            ("dry-run", &["pve-5", "--rollback"][..]),
            ("yes", &["pve-5", "--rollback", "--yes"]),
        ] {
            let error = failed(&setup.push(args), context);
            assert_output!(format!("{context}-{run}"), error);
            assert_eq!(
                setup.host_files("pve-5"),
                pushed,
                "{context}: nothing changed"
            );
        }
    };
    // The copies are gone, the record of what was there is not.
    fs::remove_dir_all(backup.join(&id).join("files")).unwrap();
    refused("without-copies");
    // The whole backup directory is gone.
    fs::remove_dir_all(&backup).unwrap();
    refused("without-backup");
}

#[test]
fn a_relative_root_is_resolved_once_so_backups_are_where_rollback_reads() {
    let setup = Setup::new();
    let home = setup.sshd.dir().join("home");
    fs::create_dir_all(home.join("rel/pve-5")).unwrap();
    setup.forced_command(&format!(
        "cd {} && exec sh -c \"$SSH_ORIGINAL_COMMAND\"",
        home.display()
    ));
    let root = |host: &str| home.join("rel").join(host);
    for (path, content) in [(HOSTS, ORIGINAL_HOSTS), (CHRONY, ORIGINAL_CHRONY)] {
        let file = root("pve-5").join(path);
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(file, content).unwrap();
    }
    let push = |args: &[&str]| {
        let output = setup
            .push_command(setup.sshd.port(), "rel/{host}", args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        stdout(&output)
    };
    // The root is named as resolved on the host.
    assert_output!(push(&["pve-5", "--yes"]));
    assert_eq!(
        fs::read(root("pve-5").join(CHRONY)).unwrap(),
        setup.out_file("pve-5", CHRONY)
    );
    assert!(
        !home.join("rel/rel").exists(),
        "nothing lands below the root twice"
    );

    // Taking away the interfaces the push added drops the management address.
    push(&["pve-5", "--rollback", "--yes", "--allow", "address-changed"]);
    assert_eq!(
        fs::read_to_string(root("pve-5").join(CHRONY)).unwrap(),
        ORIGINAL_CHRONY
    );
    assert_eq!(
        fs::read_to_string(root("pve-5").join(HOSTS)).unwrap(),
        ORIGINAL_HOSTS
    );
    assert!(
        !root("pve-5").join("etc/hostname").exists(),
        "added files are removed"
    );
}

#[test]
fn no_symbolic_link_below_the_root_is_ever_followed() {
    let setup = Setup::new();
    let old = old_rsync().display().to_string();
    let elsewhere = tempfile::tempdir().unwrap();
    let outside = |name: &str| {
        let dir = elsewhere.path().join(name);
        fs::create_dir_all(&dir).unwrap();
        dir
    };
    let host = setup.host_root("pve-5");

    // A directory on a bundle path is a link: refused before anything is read or written.
    let chrony_dir = outside("chrony");
    fs::write(chrony_dir.join("chrony.conf"), "outside\n").unwrap();
    fs::create_dir_all(host.join("etc")).unwrap();
    std::os::unix::fs::symlink(&chrony_dir, host.join("etc/chrony")).unwrap();
    for (run, args) in [
        ("dry-run", &["pve-5"][..]),
        ("old-rsync", &["pve-5", "--yes", "--rsync-path", &old]),
    ] {
        let output = setup.push(args);
        let error = failed(&output, "a linked directory");
        assert_output!(format!("linked-directory-{run}"), error);
        assert!(
            !stdout(&output).contains("outside"),
            "read through the link"
        );
        assert_eq!(tree(&chrony_dir).len(), 1);
        assert_eq!(
            fs::read_to_string(chrony_dir.join("chrony.conf")).unwrap(),
            "outside\n"
        );
    }
    fs::remove_file(host.join("etc/chrony")).unwrap();
    setup.push_ok(&["pve-5", "--yes"]);

    // lugc's backup directory is a link: the next push writes nothing.
    let backups = outside("backup");
    let state = host.join("var/lib/lugc");
    fs::rename(state.join("backup"), elsewhere.path().join("kept")).unwrap();
    std::os::unix::fs::symlink(&backups, state.join("backup")).unwrap();
    setup.change_ntp_server();
    let before = setup.host_files("pve-5");
    let error = failed(
        &setup.push(&["pve-5", "--yes", "--rsync-path", &old]),
        "a linked backup directory",
    );
    assert_output!("linked-backup", error);
    assert!(tree(&backups).is_empty(), "wrote through the link");
    assert_eq!(setup.host_files("pve-5"), before);

    // lugc's whole state directory is a link.
    fs::remove_file(state.join("backup")).unwrap();
    let moved = outside("state");
    fs::remove_dir(&moved).unwrap();
    fs::rename(&state, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &state).unwrap();
    let listed = tree(&moved);
    let error = failed(&setup.push(&["pve-5", "--yes"]), "a linked state directory");
    assert_output!("linked-state", error);
    assert_eq!(tree(&moved), listed, "wrote through the link");
    assert_eq!(setup.host_files("pve-5"), before);
}

#[test]
fn what_is_staged_is_private_and_removed_on_every_exit() {
    let setup = Setup::new();
    setup.hand_configure();
    let staging = setup.sshd.dir().join("operator-tmp");
    fs::create_dir_all(&staging).unwrap();
    fs::set_permissions(&staging, fs::Permissions::from_mode(0o1777)).unwrap();
    // rsync on the "host" notes the modes of the operator's temporary files
    // while they exist: this machine is both.
    let modes = setup.sshd.dir().join("modes.log");
    let spy = setup.sshd.dir().join("rsync-spy.sh");
    fs::write(
        &spy,
        format!(
            "#!/bin/sh\nfind {} -mindepth 1 -printf '%m %y %p\\n' >> {}\nexec rsync \"$@\"\n",
            staging.display(),
            modes.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&spy, fs::Permissions::from_mode(0o755)).unwrap();
    let push = |args: &[&str]| {
        setup
            .push_command(setup.sshd.port(), &setup.default_root(), args)
            .args(["--rsync-path", &spy.display().to_string()])
            .env("TMPDIR", &staging)
            .output()
            .unwrap()
    };
    assert!(push(&["pve-5", "--yes"]).status.success());
    // A rollback stages the host's own old files, the secret among them.
    let output = push(&["pve-5", "--rollback", "--yes", "--allow", "address-changed"]);
    assert!(output.status.success(), "{}", stderr(&output));
    setup.assert_hand_configured("rolled back");
    let seen = fs::read_to_string(&modes).unwrap();
    assert!(
        seen.contains("/etc/hosts"),
        "the staged secret was seen: {seen}"
    );
    for line in seen.lines() {
        let (mode, kind) = (&line[..3], &line[4..5]);
        match kind {
            "d" => assert_eq!(mode, "700", "{line}"),
            "f" => assert_eq!(mode, "600", "{line}"),
            _ => {}
        }
    }
    assert_eq!(fs::read_dir(&staging).unwrap().count(), 0, "left behind");

    // Killed while an action runs: its temporary files go too.
    setup.block_actions();
    let child = setup
        .push_command(
            setup.sshd.port(),
            &setup.default_root(),
            &["pve-5", "--yes"],
        )
        .env("TMPDIR", &staging)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    setup.wait_blocked();
    assert!(
        fs::read_dir(&staging).unwrap().count() > 0,
        "the push keeps its ssh socket there"
    );
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    finish(child, "a terminated push");
    assert_eq!(
        fs::read_dir(&staging).unwrap().count(),
        0,
        "left behind after SIGTERM"
    );
}

#[test]
fn a_malformed_or_linked_record_is_refused_without_echoing_it() {
    let setup = Setup::new();
    setup.push_ok(&["pve-5", "--yes"]);
    let previous = setup.host_root("pve-5").join("var/lib/lugc/pve-5.PREVIOUS");
    let shadow = "root:$6$SHADOWSECRET$abc:19000:0:99999:7:::\n";

    fs::write(&previous, format!("lugc-pushes 1\n{shadow}")).unwrap();
    let error = failed(
        &setup.push(&["pve-5", "--rollback"]),
        "a malformed PREVIOUS",
    );
    assert!(!error.contains("SHADOWSECRET"), "{error}");
    assert_output!("malformed", error);

    let elsewhere = setup.sshd.dir().join("shadow");
    fs::write(&elsewhere, shadow).unwrap();
    fs::remove_file(&previous).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &previous).unwrap();
    let error = failed(&setup.push(&["pve-5", "--rollback"]), "a linked PREVIOUS");
    assert!(!error.contains("SHADOWSECRET"), "{error}");
    assert_output!("linked", error);
}

#[test]
fn a_hung_action_is_stopped_on_the_host_by_its_timeout_or_when_lugc_dies() {
    let setup = Setup::new();
    let pid_file = setup.sshd.dir().join("action.pid");
    setup.hook(&format!(
        "if [ \"$1\" = '{RESTART_CHRONY}' ]; then echo $$ > {pid}; exec sleep 600; fi\n",
        pid = pid_file.display()
    ));
    let started = Instant::now();
    let error = failed(
        &setup.push(&["pve-5", "--yes", "--action-timeout", "2"]),
        "a hung action",
    );
    assert_output!(error);
    let pid = fs::read_to_string(&pid_file).unwrap();
    wait_for("the hung action to end", || !process_alive(&pid));
    assert!(started.elapsed() < Duration::from_secs(60));

    // lugc itself dies while the action runs: the host stops the action.
    fs::remove_file(&pid_file).unwrap();
    let child = setup.spawn_push(&["pve-5", "--yes"]);
    wait_for("the action to start", || pid_file.exists());
    let pid = fs::read_to_string(&pid_file).unwrap();
    assert!(process_alive(&pid));
    Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    finish(child, "a killed push");
    wait_for("the orphaned action to end", || !process_alive(&pid));
}

#[test]
fn a_server_that_never_speaks_times_out() {
    let setup = Setup::new();
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let root = setup.default_root();
    let child = setup
        .push_command(port, &root, &["pve-5", "--timeout", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let error = failed(
        &finish(child, "a push to a silent server"),
        "a silent server",
    );
    assert_output!(error);
}

#[test]
fn debian_12_main_rsync_on_either_end_works() {
    let setup = Setup::new();
    setup.hand_configure();
    let old = old_rsync();
    let on_host = ["--rsync-path", old.to_str().unwrap()];
    let push = |args: &[&str]| {
        let all: Vec<&str> = args.iter().chain(&on_host).copied().collect();
        setup.push_ok(&all)
    };
    push(&["pve-5", "--yes"]);
    assert_eq!(setup.host_files("pve-5"), setup.bundle_files("pve-5"));
    setup.change_ntp_server();
    push(&["pve-5", "--yes"]);
    assert_eq!(setup.host_files("pve-5"), setup.bundle_files("pve-5"));
    push(&["pve-5", "--rollback", "--yes"]);
    push(&["pve-5", "--rollback", "--yes"]);
    assert_eq!(setup.host_files("pve-5"), setup.bundle_files("pve-5"));

    // The operator's rsync is the old one, the host's the current one.
    let bin = setup.sshd.dir().join("old-bin");
    fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(&old, bin.join("rsync")).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let run = |args: &[&str]| {
        let output = setup
            .push_command(setup.sshd.port(), &setup.default_root(), args)
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
    };
    run(&["pve-5", "--rollback", "--yes"]);
    assert_eq!(
        String::from_utf8_lossy(&setup.host_file("pve-5", CHRONY)),
        String::from_utf8_lossy(
            &fs::read(setup.fixture.path().join("out/pve-5").join(CHRONY)).unwrap()
        )
        .replace("ntp.lugc.invalid", "time.ustc.edu.cn")
    );
    run(&["pve-5", "--yes"]);
    assert_eq!(setup.host_files("pve-5"), setup.bundle_files("pve-5"));
}

#[test]
fn a_closed_standard_output_does_not_stop_a_push_halfway() {
    let setup = Setup::new();
    let mut child = setup.spawn_push(&["pve-5", "--yes"]);
    drop(child.stdout.take());
    let output = finish(child, "a push writing to a closed pipe");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(setup.host_files("pve-5"), setup.bundle_files("pve-5"));
    assert_eq!(
        setup.host_record("pve-5", "pve-5.MANIFEST"),
        Some(setup.manifest("pve-5"))
    );
    assert_eq!(setup.host_record("pve-5", "pve-5.PENDING"), None);
    let manifest = setup.manifest("pve-5");
    let mut expected: Vec<&str> = Vec::new();
    for action in crate::common::file_lines(&manifest).filter_map(|line| line.splitn(5, ' ').nth(4))
    {
        if action != "-" && !expected.contains(&action) {
            expected.push(action);
        }
    }
    assert_eq!(setup.actions(), expected, "every action ran once");
}

#[test]
fn messages_say_what_changed_what_ran_and_what_to_do() {
    let setup = Setup::new();

    // ssh fails: the command to try is complete and quoted.
    let output = setup.push_at(free_port(), &["pve-5", "--ssh-option", "SetEnv=LUGC=a b"]);
    assert_output!("ssh-refused", failed(&output, "ssh refused"));

    // Nothing was replaced: nothing is said to be kept.
    assert_output!("first-push", setup.push_ok(&["pve-5", "--yes"]));
    setup.change_ntp_server();
    assert_output!("replaced", setup.push_ok(&["pve-5", "--yes"]));

    // The push fails before any file moved.
    let state = setup.host_root("pve-5").join("var/lib/lugc");
    fs::rename(state.join("backup"), setup.sshd.dir().join("backup")).unwrap();
    fs::write(state.join("backup"), "not a directory\n").unwrap();
    setup
        .fixture
        .edit("cluster.ncl", "ntp.lugc.invalid", "ntp-2.lugc.invalid");
    setup.build();
    let before = setup.host_files("pve-5");
    let error = failed(
        &setup.push(&["pve-5", "--yes", "--allow-dirty"]),
        "no backup directory",
    );
    assert_output!("no-backup-directory", error);
    assert_eq!(setup.host_files("pve-5"), before);
    fs::remove_file(state.join("backup")).unwrap();

    // Every action ran, then lugc's record could not be written.
    let ran = setup.actions().len();
    let manifest = state.join("pve-5.MANIFEST");
    setup.hook(&format!("rm -f {0}; mkdir -p {0}\n", manifest.display()));
    let error = failed(
        &setup.push(&["pve-5", "--yes", "--allow-dirty"]),
        "no record",
    );
    assert_output!("no-record", error);
    assert_eq!(setup.actions().len(), ran + 1);
    fs::remove_dir(&manifest).unwrap();

    // The connection drops while an action runs.
    setup.hook(&setup.drop_connection());
    setup
        .fixture
        .edit("cluster.ncl", "ntp-2.lugc.invalid", "ntp-3.lugc.invalid");
    setup.build();
    let error = failed(&setup.push(&["pve-5", "--yes", "--allow-dirty"]), "dropped");
    assert_output!("dropped", error);

    // Targets and roots that ssh, a shell or a typo could misread.
    let marker = setup.sshd.dir().join("proxy-ran");
    for (name, target) in [
        (
            "proxy-command",
            format!("-oProxyCommand=touch {}", marker.display()),
        ),
        ("semicolon", format!("root@h;touch {}", marker.display())),
        ("substitution", "root@$(id)".to_owned()),
    ] {
        let output = setup
            .fixture
            .lugc()
            .args(["push", "pve-5", &format!("--target={target}")])
            .output()
            .unwrap();
        assert_output!(format!("target-{name}"), failed(&output, &target));
    }
    assert!(!marker.exists(), "ssh ran a command from the target");
    let output = setup
        .fixture
        .lugc()
        .args(["push", "pve-5", "--root", ""])
        .output()
        .unwrap();
    assert_output!("empty-root", failed(&output, "--root ''"));

    let fixture = Fixture::new();
    fixture.edit(
        "cluster.ncl",
        "uplink = \"enp65s0f0\",",
        "uplink = \"enp65s0f0\", ssh_target = \"root@pve-5;reboot\",",
    );
    let output = fixture.run(&["build"]);
    let error = failed(&output, "a shell metacharacter in ssh_target");
    assert_output!("ssh-target", error);
}
