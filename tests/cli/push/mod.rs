//! `lugc push` against a real sshd on loopback, pushing into a temporary root.
//! Actions go to a stand-in runner that logs them (and fails on request), so
//! no test ever runs systemctl, ifreload or iptables on this machine.
//! `safety` holds the tests of what a push must never do.

mod all;
mod bounds;
mod confirm;
mod conventions;
mod facts;
mod health;
mod host_state;
mod hostile;
mod leftovers;
mod preview;
mod pve;
mod safety;
mod status;
mod storage;
mod targets;
mod undo;
mod window;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::process::{Command, Output};

use crate::common::snapshot::assert_output;
use crate::common::sshd::{free_port, Sshd};
use crate::common::{git, lugc_std, require_tool, stderr, stdout, tree, Fixture};

const CHRONY: &str = "etc/chrony/chrony.conf";
const RESTART_CHRONY: &str = "systemctl restart chrony.service";
const FSTAB: &str = "var/lib/vz/snippets/virtiofs-230.fstab";
const VIRTIOFSD: &str = "var/lib/vz/snippets/virtiofsd.sh";

/// A fleet in a git repository with out/ built and committed, and a "host":
/// sshd on loopback, a root directory, and an action runner that logs.
struct Setup {
    fixture: Fixture,
    sshd: Sshd,
}

impl Setup {
    fn new() -> Setup {
        Setup::with(Fixture::new())
    }

    /// A setup of `fixture`'s fleet.
    fn with(fixture: Fixture) -> Setup {
        Setup::reached(fixture, Sshd::start())
    }

    /// A setup of `fixture`'s fleet whose hosts `sshd` stands for.
    fn reached(fixture: Fixture, sshd: Sshd) -> Setup {
        require_tool("rsync");
        require_tool("git");
        let setup = Setup { fixture, sshd };
        setup.build();
        setup.git(&["init", "-q", "-b", "main"]);
        setup.commit("fleet");
        fs::create_dir_all(setup.host_root("pve-5")).unwrap();
        let runner = setup.runner();
        fs::write(
            &runner,
            format!(
                "#!/bin/sh\n\
                 case $1 in \"sh \"*/usr/local/lib/lugc/health*) log={checks} ;; *) log={log} ;; esac\n\
                 printf '%s\\n' \"$1\" >> \"$log\"\n\
                 if [ -f {fail} ] && grep -qxF -- \"$1\" {fail}; then echo \"cannot: $1\" >&2; exit 3; fi\n\
                 if [ -f {hook} ]; then . {hook}; fi\n\
                 if [ \"$log\" = {log} ] && [ -x {simulate} ]; then {simulate} \"$1\" || exit; fi\n\
                 echo \"ran: $1\"\n",
                log = setup.sshd.dir().join("actions.log").display(),
                checks = setup.sshd.dir().join("checks.log").display(),
                fail = setup.sshd.dir().join("fail").display(),
                hook = setup.sshd.dir().join("hook").display(),
                simulate = setup.sshd.dir().join("simulate").display(),
            ),
        )
        .unwrap();
        fs::set_permissions(&runner, fs::Permissions::from_mode(0o755)).unwrap();
        setup
    }

    /// Shell code the runner sources before it reports an action as run
    /// (`$1` is the action): a test's way to make an action hang, block, or
    /// change the host behind lugc's back.
    fn hook(&self, script: &str) {
        fs::write(self.sshd.dir().join("hook"), script).unwrap();
    }

    fn runner(&self) -> PathBuf {
        self.sshd.dir().join("runner.sh")
    }

    /// The directory that stands for `/` on host `host`.
    fn host_root(&self, host: &str) -> PathBuf {
        self.sshd.dir().join("hosts").join(host)
    }

    fn build(&self) {
        let output = self.fixture.run(&["build"]);
        assert!(output.status.success(), "{}", stderr(&output));
    }

    fn git(&self, args: &[&str]) {
        git(self.fixture.path(), args);
    }

    fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }

    /// Change the NTP server (and so chrony.conf on every host), rebuild and commit.
    fn change_ntp_server(&self) {
        self.edit_ntp_server();
        self.build();
        self.commit("ntp");
    }

    fn edit_ntp_server(&self) {
        let source = self.fixture.read("cluster.ncl");
        assert!(
            source.contains("time.ustc.edu.cn"),
            "cluster.ncl names the NTP server"
        );
        self.fixture.write(
            "cluster.ncl",
            &source.replace("time.ustc.edu.cn", "ntp.lugc.invalid"),
        );
    }

    /// `lugc push ARGS` at the test sshd, with `{host}` roots under the sshd's directory.
    fn push(&self, args: &[&str]) -> Output {
        self.push_at(self.sshd.port(), args)
    }

    fn push_at(&self, port: u16, args: &[&str]) -> Output {
        let root = self.sshd.dir().join("hosts").join("{host}");
        self.push_command(port, &root.display().to_string(), args)
            .output()
            .expect("run lugc push")
    }

    /// `lugc push ARGS` at the test sshd on `port`, into `root` (`{host}`
    /// stands for the host name), actions through the stand-in runner.
    fn push_command(&self, port: u16, root: &str, args: &[&str]) -> Command {
        let mut command = lugc_std(self.fixture.path());
        command
            .arg("push")
            .args(args)
            .args(["--target", &self.sshd.target(), "--port", &port.to_string()])
            .args(["--root", root])
            .arg("--action-runner")
            .arg(self.runner());
        for option in self.sshd.client_options() {
            command.args(["--ssh-option", &option]);
        }
        command
    }

    /// `lugc SUBCOMMAND ARGS` at the test sshd, `{host}` roots under its directory.
    fn remote_command(&self, subcommand: &str, args: &[&str]) -> Command {
        let root = self.sshd.dir().join("hosts").join("{host}");
        let mut command = lugc_std(self.fixture.path());
        command
            .arg(subcommand)
            .args(args)
            .args(["--target", &self.sshd.target()])
            .args(["--port", &self.sshd.port().to_string()])
            .arg("--root")
            .arg(root);
        for option in self.sshd.client_options() {
            command.args(["--ssh-option", &option]);
        }
        command
    }

    /// `lugc push ARGS`, which must succeed.
    fn push_ok(&self, args: &[&str]) -> String {
        let output = self.push(args);
        assert!(
            output.status.success(),
            "push {args:?} failed\nstdout:\n{}\nstderr:\n{}\nsshd:\n{}",
            stdout(&output),
            stderr(&output),
            self.sshd.log()
        );
        stdout(&output)
    }

    /// `lugc push ARGS`, which must fail with exit 2; returns stderr.
    fn push_fails(&self, args: &[&str]) -> String {
        let output = self.push(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "push {args:?} should fail\nstdout:\n{}\nstderr:\n{}",
            stdout(&output),
            stderr(&output)
        );
        stderr(&output)
    }

    /// Health checks the runner was asked to run, in order (apart from the actions).
    fn checks(&self) -> Vec<String> {
        self.runner_log("checks.log")
    }

    /// Actions the runner was asked to run, in order.
    fn actions(&self) -> Vec<String> {
        self.runner_log("actions.log")
    }

    fn runner_log(&self, name: &str) -> Vec<String> {
        fs::read_to_string(self.sshd.dir().join(name))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn fail_action(&self, action: &str) {
        fs::write(self.sshd.dir().join("fail"), format!("{action}\n")).unwrap();
    }

    fn out_file(&self, bundle: &str, path: &str) -> Vec<u8> {
        fs::read(self.fixture.out().join(bundle).join(path)).unwrap()
    }

    fn host_file(&self, host: &str, path: &str) -> Vec<u8> {
        fs::read(self.host_root(host).join(path)).unwrap()
    }

    fn manifest(&self, bundle: &str) -> String {
        self.fixture.read(&format!("out/{bundle}/MANIFEST"))
    }

    fn host_tree(&self, host: &str) -> BTreeMap<PathBuf, Vec<u8>> {
        tree(&self.host_root(host))
    }

    /// The host's files outside lugc's own records.
    fn host_files(&self, host: &str) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut files = self.host_tree(host);
        files.retain(|path, _| !path.starts_with("var/lib/lugc"));
        files
    }

    /// The files of a bundle in out/, without its MANIFEST.
    fn bundle_files(&self, bundle: &str) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut files = self.fixture.tree(&format!("out/{bundle}"));
        files.remove(&PathBuf::from("MANIFEST"));
        files
    }

    fn host_record(&self, host: &str, name: &str) -> Option<String> {
        fs::read_to_string(self.host_root(host).join("var/lib/lugc").join(name)).ok()
    }

    /// From now on sshd drops the whole connection (kills this session's sshd
    /// processes) when a push starts its file batch number `batches + 1`;
    /// lugc sends one rsync per mode and owner, and rsync renames each file
    /// into place whole, so this is the mix any cut leaves. Other commands go
    /// through.
    fn drop_connection_after(&self, batches: u32) {
        let dir = self.sshd.dir();
        let wrapper = dir.join("cut.sh");
        fs::write(
            &wrapper,
            format!(
                r#"#!/bin/sh
case $SSH_ORIGINAL_COMMAND in
  "rsync --server "*"--backup-dir "*)
    count=$(( $(cat {count} 2>/dev/null || echo 0) + 1 ))
    echo "$count" > {count}
    if [ "$count" -gt {batches} ]; then
      {drop}
      exit 1
    fi ;;
esac
exec "${{SHELL:-/bin/sh}}" -c "$SSH_ORIGINAL_COMMAND"
"#,
                count = dir.join("batches").display(),
                drop = self.drop_connection(),
            ),
        )
        .unwrap();
        fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
        self.forced_command(&wrapper.display().to_string());
    }

    /// Shell code that drops the ssh connection it runs under: it kills
    /// every process between itself and the test sshd's listener, the
    /// connection's sshd first, as a network cut would: no command of that
    /// connection gets to report its end first.
    fn drop_connection(&self) -> String {
        format!(
            r#"listener=$(cat {pidfile}) pids= pid=$PPID
      while [ "$pid" -gt 1 ] && [ "$pid" != "$listener" ]; do
        pids="$pid $pids"
        pid=$(sed -n 's/^PPid:[[:space:]]*//p' /proc/$pid/status)
      done
      [ "$pid" = "$listener" ] || {{ echo "not under the test sshd" >&2; exit 1; }}
      kill -KILL $pids"#,
            pidfile = self.sshd.dir().join("sshd.pid").display()
        )
    }

    /// Every session runs through a shell script: `cases` (shell `case`
    /// branches on `$SSH_ORIGINAL_COMMAND`, the command the client asked
    /// for), then that command.
    fn wrap_sessions(&self, cases: &str) {
        let wrapper = self.sshd.dir().join("sessions.sh");
        fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\ncase $SSH_ORIGINAL_COMMAND in\n{cases}esac\nexec \"${{SHELL:-/bin/sh}}\" -c \"$SSH_ORIGINAL_COMMAND\"\n"
            ),
        )
        .unwrap();
        fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
        self.forced_command(&wrapper.display().to_string());
    }

    /// sshd runs `command` for every session instead of what the client asked
    /// (which it finds in $SSH_ORIGINAL_COMMAND).
    fn forced_command(&self, command: &str) {
        let dir = self.sshd.dir();
        let key = fs::read_to_string(dir.join("client_key.pub")).unwrap();
        fs::write(
            dir.join("authorized_keys"),
            format!("command=\"{}\" {key}", command.replace('"', "\\\"")),
        )
        .unwrap();
    }

    /// sshd runs every command again.
    fn restore_connection(&self) {
        let dir = self.sshd.dir();
        fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).unwrap();
    }

    /// pve-5 holds bundle A; out/ is rebuilt and committed as B, which changes
    /// chrony.conf and the virtiofs fstab line (mode 0644, the first batch)
    /// and virtiofsd.sh (0755, the second); `push --yes` of B loses its
    /// connection as the second batch starts. Returns A's files and MANIFEST.
    fn cut_push(&self) -> (BTreeMap<PathBuf, Vec<u8>>, String) {
        self.push_ok(&["pve-5", "--yes"]);
        let old = self.host_files("pve-5");
        assert_eq!(old, self.bundle_files("pve-5"));
        let old_manifest = self.manifest("pve-5");
        self.edit_ntp_server();
        self.fixture
            .edit("cluster.ncl", "\"/srv/mirrorlog\"", "\"/srv/mirrorlog-2\"");
        self.build();
        self.commit("ntp and virtiofs");
        let new = self.bundle_files("pve-5");
        let changed: Vec<&PathBuf> = new.keys().filter(|path| old[*path] != new[*path]).collect();
        assert_eq!(
            changed,
            [CHRONY, FSTAB, VIRTIOFSD]
                .map(PathBuf::from)
                .iter()
                .collect::<Vec<_>>()
        );
        let ran = self.actions();

        self.drop_connection_after(1);
        let output = self.push(&["pve-5", "--yes"]);
        self.restore_connection();
        assert_eq!(
            output.status.code(),
            Some(2),
            "the cut push should fail\nstdout:\n{}\nstderr:\n{}",
            stdout(&output),
            stderr(&output)
        );
        let error = stderr(&output);
        // rsync reports the drop as its own failure or as ssh's, whichever it sees first.
        assert!(
            error.contains("connection unexpectedly closed")
                || error.contains("closed by remote host"),
            "{error}"
        );
        let host = self.host_files("pve-5");
        for path in [CHRONY, FSTAB] {
            assert_eq!(
                host[&PathBuf::from(path)],
                new[&PathBuf::from(path)],
                "{path} is new"
            );
        }
        assert_eq!(
            host[&PathBuf::from(VIRTIOFSD)],
            old[&PathBuf::from(VIRTIOFSD)],
            "{VIRTIOFSD} is old"
        );
        assert_eq!(
            self.host_record("pve-5", "pve-5.MANIFEST").as_deref(),
            Some(old_manifest.as_str()),
            "the cut push recorded no MANIFEST"
        );
        assert!(self.host_record("pve-5", "pve-5.PENDING").is_some());
        assert_eq!(self.actions(), ran, "the cut push ran actions");
        (old, old_manifest)
    }

    /// After a push that completed a cut one: pve-5 holds the bundle in out/,
    /// chrony restarted once since the first `ran` actions, its MANIFEST is
    /// recorded and PENDING is gone.
    fn assert_completed(&self, ran: usize) {
        assert_eq!(self.host_files("pve-5"), self.bundle_files("pve-5"));
        assert_eq!(self.actions()[ran..], [RESTART_CHRONY]);
        assert_eq!(
            self.host_record("pve-5", "pve-5.MANIFEST"),
            Some(self.manifest("pve-5"))
        );
        assert_eq!(self.host_record("pve-5", "pve-5.PENDING"), None);
    }
}

/// Poll `done` for up to a minute.
fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "waited a minute for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// `(path, mode, owner)` of each file line of a MANIFEST.
fn entries(manifest: &str) -> Vec<(String, u32, String)> {
    crate::common::file_lines(manifest)
        .map(|line| {
            let fields: Vec<&str> = line.splitn(5, ' ').collect();
            (
                fields[3].trim_start_matches('/').to_owned(),
                u32::from_str_radix(fields[1], 8).unwrap(),
                fields[2].to_owned(),
            )
        })
        .collect()
}

fn uid_gid(owner: &str) -> Option<(u32, u32)> {
    (owner == "root:root").then_some((0, 0))
}

#[test]
fn dry_run_changes_nothing_then_yes_delivers_files_modes_and_actions() {
    let setup = Setup::new();
    assert_output!("dry-run", setup.push_ok(&["pve-5"]));
    assert!(setup.host_tree("pve-5").is_empty(), "a dry run wrote files");
    assert!(setup.actions().is_empty(), "a dry run ran actions");

    assert_output!("yes", setup.push_ok(&["pve-5", "--yes"]));
    let manifest = setup.manifest("pve-5");
    for (path, mode, owner) in entries(&manifest) {
        let file = setup.host_root("pve-5").join(&path);
        assert_eq!(
            fs::read(&file).unwrap(),
            setup.out_file("pve-5", &path),
            "{path}"
        );
        let metadata = fs::metadata(&file).unwrap();
        assert_eq!(
            metadata.permissions().mode() & 0o7777,
            mode,
            "mode of {path}"
        );
        if let Some((uid, gid)) = uid_gid(&owner) {
            assert_eq!(
                (metadata.uid(), metadata.gid()),
                (uid, gid),
                "owner of {path}"
            );
        }
    }
    assert_eq!(
        fs::read_to_string(setup.host_root("pve-5").join("var/lib/lugc/pve-5.MANIFEST")).unwrap(),
        manifest,
        "the host records the pushed MANIFEST"
    );
    let actions = setup.actions();
    assert_eq!(
        actions.iter().filter(|a| *a == RESTART_CHRONY).count(),
        1,
        "{actions:?}"
    );

    // The lock file names its last holder; nothing else may change.
    let unlocked = |mut tree: BTreeMap<PathBuf, Vec<u8>>| {
        tree.remove(&PathBuf::from("var/lib/lugc/lock"));
        tree
    };
    let before = unlocked(setup.host_tree("pve-5"));
    assert_output!("up-to-date", setup.push_ok(&["pve-5", "--yes"]));
    assert_output!("dry-run-again", setup.push_ok(&["pve-5"]));
    assert_eq!(setup.actions(), actions, "a second push ran actions");
    assert_eq!(
        unlocked(setup.host_tree("pve-5")),
        before,
        "a second push changed files"
    );
}

#[test]
fn an_edit_on_the_host_is_drift_that_blocks_until_forced() {
    let setup = Setup::new();
    setup.push_ok(&["pve-5", "--yes"]);
    let chrony = setup.host_root("pve-5").join(CHRONY);
    fs::write(&chrony, "server edited.by.hand iburst\n").unwrap();
    let ran = setup.actions().len();

    assert_output!("drift", setup.push_fails(&["pve-5", "--yes"]));
    assert_eq!(
        fs::read(&chrony).unwrap(),
        b"server edited.by.hand iburst\n"
    );
    assert_eq!(setup.actions().len(), ran, "a blocked push ran actions");

    assert_output!("forced", setup.push_ok(&["pve-5", "--yes", "--force"]));
    assert_eq!(fs::read(&chrony).unwrap(), setup.out_file("pve-5", CHRONY));
    assert_eq!(
        setup.actions().last().map(String::as_str),
        Some(RESTART_CHRONY)
    );
    let kept = tree(&setup.host_root("pve-5").join("var/lib/lugc/backup"));
    assert!(
        kept.values()
            .any(|bytes| bytes == b"server edited.by.hand iburst\n"),
        "the overwritten file is kept in the backup"
    );

    // A mode changed on the host with the content intact is not drift: push restores it.
    fs::set_permissions(&chrony, fs::Permissions::from_mode(0o600)).unwrap();
    assert_output!("mode", setup.push_ok(&["pve-5", "--yes"]));
    let mode = fs::metadata(&chrony).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o644);
}

#[test]
fn rollback_restores_the_earlier_bundle() {
    let setup = Setup::new();
    setup.push_ok(&["pve-5", "--yes"]);
    let first_bytes = setup.out_file("pve-5", CHRONY);
    let first_manifest = setup.manifest("pve-5");

    setup.change_ntp_server();
    assert_output!("second", setup.push_ok(&["pve-5", "--yes"]));
    let second_bytes = setup.host_file("pve-5", CHRONY);
    assert_ne!(second_bytes, first_bytes);
    assert!(String::from_utf8_lossy(&second_bytes).contains("server ntp.lugc.invalid iburst"));

    assert_output!("dry-run", setup.push_ok(&["pve-5", "--rollback"]));
    assert_eq!(setup.host_file("pve-5", CHRONY), second_bytes);

    assert_output!("rollback", setup.push_ok(&["pve-5", "--rollback", "--yes"]));
    assert_eq!(setup.host_file("pve-5", CHRONY), first_bytes);
    assert_eq!(
        fs::read_to_string(setup.host_root("pve-5").join("var/lib/lugc/pve-5.MANIFEST")).unwrap(),
        first_manifest
    );
    assert_eq!(
        setup.actions().last().map(String::as_str),
        Some(RESTART_CHRONY)
    );

    // The rollback kept what it replaced, so it can itself be rolled back.
    setup.push_ok(&["pve-5", "--rollback", "--yes"]);
    assert_eq!(setup.host_file("pve-5", CHRONY), second_bytes);
}

#[test]
fn rolling_back_a_first_push_puts_back_what_was_there() {
    let setup = Setup::new();
    let debian = b"pool 2.debian.pool.ntp.org iburst\n";
    let chrony = setup.host_root("pve-5").join(CHRONY);
    fs::create_dir_all(chrony.parent().unwrap()).unwrap();
    fs::write(&chrony, debian).unwrap();
    fs::set_permissions(&chrony, fs::Permissions::from_mode(0o640)).unwrap();

    assert_output!("first", setup.push_ok(&["pve-5", "--yes"]));
    assert_eq!(
        setup.host_file("pve-5", CHRONY),
        setup.out_file("pve-5", CHRONY)
    );

    // The root had no /etc/network/interfaces: taking it away again drops the
    // management address, which the harm check lists and --yes must allow.
    let error = setup.push_fails(&["pve-5", "--rollback", "--yes"]);
    assert_output!("harm", error);
    let shown = setup.push_ok(&["pve-5", "--rollback", "--yes", "--allow", "address-changed"]);
    assert_output!("allowed", shown);
    assert_eq!(fs::read(&chrony).unwrap(), debian);
    let mode = fs::metadata(&chrony).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o640);
    assert!(!setup
        .host_root("pve-5")
        .join("var/lib/lugc/pve-5.MANIFEST")
        .exists());
    let left: Vec<PathBuf> = setup
        .host_tree("pve-5")
        .into_keys()
        .filter(|path| !path.starts_with("var/lib/lugc"))
        .collect();
    assert_eq!(
        left,
        vec![PathBuf::from(CHRONY)],
        "files the push added are removed"
    );
}

#[test]
fn a_push_cut_mid_transfer_is_completed_by_the_next_push() {
    let setup = Setup::new();
    let (old, _) = setup.cut_push();
    let ran = setup.actions().len();

    assert_output!(setup.push_ok(&["pve-5", "--yes"]));
    setup.assert_completed(ran);
    assert_output!("up-to-date", setup.push_ok(&["pve-5", "--yes"]));

    // The backup holds the old version of every file the cut push replaced.
    setup.push_ok(&["pve-5", "--rollback", "--yes"]);
    assert_eq!(setup.host_files("pve-5"), old);
}

#[test]
fn a_newer_bundle_completes_a_push_cut_mid_transfer() {
    let setup = Setup::new();
    let (old, _) = setup.cut_push();
    setup
        .fixture
        .edit("cluster.ncl", "ntp.lugc.invalid", "ntp-2.lugc.invalid");
    setup.build();
    setup.commit("ntp again");
    let ran = setup.actions().len();

    assert_output!(setup.push_ok(&["pve-5", "--yes"]));
    setup.assert_completed(ran);

    setup.push_ok(&["pve-5", "--rollback", "--yes"]);
    assert_eq!(setup.host_files("pve-5"), old);
}

#[test]
fn rollback_after_a_push_cut_mid_transfer_restores_the_last_complete_bundle() {
    let setup = Setup::new();
    let (old, old_manifest) = setup.cut_push();
    let previous = setup.host_record("pve-5", "pve-5.PREVIOUS");
    let ran = setup.actions().len();

    assert_output!(setup.push_ok(&["pve-5", "--rollback", "--yes"]));
    assert_eq!(setup.host_files("pve-5"), old);
    assert_eq!(setup.actions()[ran..], [RESTART_CHRONY]);
    assert_eq!(
        setup.host_record("pve-5", "pve-5.MANIFEST"),
        Some(old_manifest)
    );
    assert_eq!(setup.host_record("pve-5", "pve-5.PREVIOUS"), previous);
    assert_eq!(setup.host_record("pve-5", "pve-5.PENDING"), None);

    setup.push_ok(&["pve-5", "--yes"]);
    assert_eq!(setup.host_files("pve-5"), setup.bundle_files("pve-5"));
}

#[test]
fn a_stale_or_uncommitted_out_is_refused() {
    let setup = Setup::new();
    setup.edit_ntp_server();
    assert_output!("stale", setup.push_fails(&["pve-5", "--yes"]));

    setup.build();
    assert_output!("dirty", setup.push_fails(&["pve-5", "--yes"]));
    assert!(setup.host_tree("pve-5").is_empty());
    assert!(setup.actions().is_empty());

    assert_output!("allow-dirty", setup.push_ok(&["pve-5", "--allow-dirty"]));
}

#[test]
fn a_failing_action_stops_the_push_and_is_reported() {
    let setup = Setup::new();
    setup.fail_action(RESTART_CHRONY);
    let output = setup.push(&["pve-5", "--yes"]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert_output!("stdout", stdout(&output));
    assert_output!("stderr", stderr(&output));
    assert_eq!(
        setup.actions().last().map(String::as_str),
        Some(RESTART_CHRONY)
    );
    assert_eq!(
        setup.host_file("pve-5", CHRONY),
        setup.out_file("pve-5", CHRONY)
    );
    assert!(
        !setup
            .host_root("pve-5")
            .join("var/lib/lugc/pve-5.MANIFEST")
            .exists(),
        "the MANIFEST is written only after every action succeeded"
    );

    fs::remove_file(setup.sshd.dir().join("fail")).unwrap();
    assert_output!("again", setup.push_ok(&["pve-5", "--yes"]));
    assert!(setup
        .host_root("pve-5")
        .join("var/lib/lugc/pve-5.MANIFEST")
        .exists());
}

#[test]
fn an_ssh_failure_says_where_and_why() {
    let setup = Setup::new();
    let output = setup.push_at(free_port(), &["pve-5"]);
    assert_eq!(output.status.code(), Some(2));
    assert_output!(stderr(&output));
}

#[test]
fn push_cluster_lands_pmxcfs_files_through_the_first_member() {
    let setup = Setup::new();
    let manifest = setup.manifest("cluster");
    let member = manifest
        .lines()
        .nth(2)
        .and_then(|line| line.strip_prefix("reaches "))
        .and_then(|members| members.split(' ').next())
        .expect("the cluster bundle reaches a member")
        .to_owned();
    fs::create_dir_all(setup.host_root(&member)).unwrap();
    assert_output!("not-a-member", setup.push_fails(&["cluster", "--yes"]));

    fs::create_dir_all(setup.host_root(&member).join("etc/pve")).unwrap();
    assert_output!("yes", setup.push_ok(&["cluster", "--yes"]));
    let files = entries(&manifest);
    assert!(!files.is_empty());
    for (path, _, _) in files {
        assert!(path.starts_with("etc/pve/"), "{path}");
        assert_eq!(
            setup.host_file(&member, &path),
            setup.out_file("cluster", &path)
        );
    }
    assert_output!("up-to-date", setup.push_ok(&["cluster", "--yes"]));
}

#[test]
fn an_unknown_host_suggests_the_closest_name() {
    let fixture = Fixture::new();
    let output = fixture.run(&["push", "pve-66"]);
    assert_eq!(output.status.code(), Some(2));
    assert_output!(stderr(&output));
}

/// shellcheck (every default check, `--norc`) and `dash -n` on `path`.
fn check_shell(path: &std::path::Path) -> Result<(), String> {
    for (tool, args) in [
        ("dash", vec!["-n"]),
        ("shellcheck", vec!["--norc", "-s", "sh"]),
    ] {
        let output = Command::new(require_tool(tool))
            .args(args)
            .arg(path)
            .output()
            .unwrap();
        if !output.status.success() {
            return Err(format!("{tool}: {}{}", stdout(&output), stderr(&output)));
        }
    }
    Ok(())
}

#[test]
fn the_host_script_passes_shellcheck_and_dash() {
    let script = crate::common::repo_root().join("compiler/src/host/host.sh");
    check_shell(&script).unwrap_or_else(|e| panic!("{e}"));
    // The same checks reject a broken copy: an unquoted path, an unclosed case.
    let text = fs::read_to_string(&script).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (from, to, expected) in [
        ("rm -f -- \"$root$path\"", "rm -f -- $root$path", "SC2086"),
        ("  ;;\nbegin)", "\nbegin)", "dash"),
    ] {
        assert!(text.contains(from), "{from}");
        let broken = dir.path().join("host.sh");
        fs::write(&broken, text.replacen(from, to, 1)).unwrap();
        let error = check_shell(&broken).expect_err(expected);
        assert!(error.contains(expected), "{error}");
    }
}
