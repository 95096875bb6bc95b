//! The window between a push's guarded actions and its confirmation, seen
//! from every side: `lugc status` shows an armed revert with its deadline;
//! no push (the cluster bundle's through that member neither) goes ahead
//! under it; a revert whose process is gone is reported and `--force`
//! abandons it once its backup could put everything back; the confirmation
//! dies with lugc, whose last word on SIGINT is that the host will revert;
//! and a lost reply to it is unknown, not "not confirmed".

use std::fs;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::confirm::IFRELOAD;
use super::host_state::processes_with;
use super::{wait_for, Setup, CHRONY};
use crate::common::snapshot::assert_output;
use crate::common::{stderr, stdout};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A process that passes for the revert of the push whose backup is `dir`
/// (its command line names `dir/revert.sh revert`), recorded as its PID.
pub(super) struct StandIn(Child);

impl StandIn {
    pub(super) fn start(dir: &Path) -> StandIn {
        // A process group of its own, so that its `sleep` goes with it.
        let child = Command::new("sh")
            .args(["-c", "sleep 600; :"])
            .arg(dir.join("revert.sh"))
            .args(["revert", "stand-in"])
            .process_group(0)
            .spawn()
            .unwrap();
        fs::write(dir.join("PID"), format!("{}\n", child.id())).unwrap();
        StandIn(child)
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
    }
}

fn set_deadline(dir: &Path, seconds_from_now: u64) {
    fs::write(
        dir.join("DEADLINE"),
        format!("{}\n", now() + seconds_from_now),
    )
    .unwrap();
}

fn id_of(dir: &Path) -> String {
    dir.file_name().unwrap().to_str().unwrap().to_owned()
}

#[test]
fn an_armed_revert_shows_in_status_with_its_deadline_and_stops_every_push_through_its_host() {
    let setup = Setup::new();
    fs::create_dir_all(setup.host_root("esxi-5").join("etc/pve")).unwrap();
    setup.push_ok(&["esxi-5", "--yes"]);
    let dir = setup.armed_by_hand("esxi-5");
    let id = id_of(&dir);
    set_deadline(&dir, 600);
    let _revert = StandIn::start(&dir);

    let output = setup.status_command(&["esxi-5"]).output().unwrap();
    assert_output!("status", stdout(&output));
    let output = setup
        .status_command(&["esxi-5", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let row = &json["bundles"][0];
    assert_eq!(row["state"], "revert_armed", "{row}");
    assert_eq!(row["armed"]["push"], id.as_str(), "{row}");
    let left = row["armed"]["seconds_left"].as_i64().unwrap();
    assert!((500..=600).contains(&left), "{row}");

    assert_output!("forced", setup.push_fails(&["esxi-5", "--yes", "--force"]));
    // The cluster bundle goes through esxi-5, its first member.
    assert_output!("cluster", setup.push_fails(&["cluster", "--yes"]));
    assert!(!setup.host_root("esxi-5").join("etc/pve/nodes").exists());
}

#[test]
fn a_revert_whose_process_is_gone_is_reported_and_force_abandons_it_once_its_backup_is_intact() {
    let setup = Setup::new();
    setup.push_ok(&["pve-5", "--yes"]);
    setup.change_network();
    setup.push_ok(&["pve-5", "--yes"]);
    // The host restarted inside the window of the second push with its
    // clock an hour behind: no revert process, the deadline far ahead.
    let dir = setup.armed_by_hand("pve-5");
    set_deadline(&dir, 3600);

    let output = setup.status_command(&["pve-5"]).output().unwrap();
    assert_output!("status", stdout(&output));
    assert_output!("refused", setup.push_fails(&["pve-5", "--yes"]));

    // Without the copy of chrony.conf that the push replaced, nothing could
    // put it back: the revert stays.
    let kept = dir.join("files").join(CHRONY);
    let copy = fs::read(&kept).unwrap();
    fs::remove_file(&kept).unwrap();
    let error = setup.push_fails(&["pve-5", "--yes", "--force"]);
    assert_output!("no-copy", error);
    assert!(dir.join("ARMED").exists());

    fs::write(&kept, copy).unwrap();
    assert_output!("abandoned", setup.push_ok(&["pve-5", "--yes", "--force"]));
    assert!(dir.join("ABANDONED").exists() && !dir.join("ARMED").exists());
    assert_eq!(setup.host_record("pve-5", "pve-5.PENDING"), None);
    assert_eq!(setup.host_files("pve-5"), setup.bundle_files("pve-5"));
}

/// The confirmation of a push of pve-5 under way, held up: sshd takes no
/// new connection from the guarded action on. Returns lugc and the
/// confirmation's command-line mark.
fn push_held_in_its_window(setup: &Setup) -> (Child, String) {
    setup.push_ok(&["pve-5", "--yes"]);
    setup.change_network();
    let listener = setup.sshd.dir().join("sshd.pid");
    setup.hook(&format!(
        "if [ \"$1\" = '{IFRELOAD}' ]; then kill -STOP $(cat {}); fi\n",
        listener.display()
    ));
    let root = setup.sshd.dir().join("hosts/{host}").display().to_string();
    let push = setup
        .push_command(
            setup.sshd.port(),
            &root,
            &["pve-5", "--yes", "--confirm-timeout", "20"],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mark = format!("lugc disarm {}", setup.host_root("pve-5").display());
    wait_for("the confirmation to be under way", || {
        !processes_with(&mark).is_empty()
    });
    (push, mark)
}

/// Once lugc is gone: its confirmation is gone too, and when sshd takes
/// connections again, pve-5 reverts the push all the same.
fn assert_nothing_confirms(setup: &Setup, mark: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !processes_with(mark).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the confirmation outlived lugc: {:?}",
            processes_with(mark)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let listener = fs::read_to_string(setup.sshd.dir().join("sshd.pid")).unwrap();
    let status = Command::new("kill")
        .args(["-CONT", listener.trim()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_for("pve-5 to revert", || {
        setup.host_record("pve-5", "pve-5.REVERTED").is_some()
    });
    let confirmed: Vec<PathBuf> = setup
        .push_dirs()
        .into_iter()
        .filter(|dir| dir.join("REVERTED").exists() && dir.join("CONFIRMED").exists())
        .collect();
    assert!(confirmed.is_empty(), "{confirmed:?}");
}

#[test]
fn the_confirmation_dies_with_a_killed_lugc() {
    let setup = Setup::new();
    let (mut push, mark) = push_held_in_its_window(&setup);
    push.kill().unwrap();
    push.wait().unwrap();
    assert_nothing_confirms(&setup, &mark);
}

#[test]
fn an_interrupted_lugc_says_the_host_will_revert_and_confirms_nothing() {
    let setup = Setup::new();
    let (push, mark) = push_held_in_its_window(&setup);
    let status = Command::new("kill")
        .args(["-INT", &push.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = push.wait_with_output().unwrap();
    assert_output!(stderr(&output));
    assert_nothing_confirms(&setup, &mark);
}

#[test]
fn a_lost_reply_to_the_confirmation_is_unknown_until_status_reads_the_host() {
    let setup = Setup::new();
    setup.push_ok(&["pve-5", "--yes"]);
    setup.change_network();
    // The host takes the confirmation, and the connection drops before its reply.
    setup.wrap_sessions(&format!(
        "  *\"lugc disarm \"*)\n    sh -c \"$SSH_ORIGINAL_COMMAND\"\n    {}\n    ;;\n",
        setup.drop_connection()
    ));
    let error = setup.push_fails(&["pve-5", "--yes", "--confirm-timeout", "5"]);
    // Why the reply was lost depends on which end notices the drop first
    // (ssh's message or lugc's timeout): the verdict alone is checked.
    assert!(
        error.contains("lugc cannot tell whether pve-5 took the confirmation of push"),
        "{error}"
    );
    assert!(!error.contains("puts back the files"), "{error}");
    setup.restore_connection();

    let output = setup.status_command(&["pve-5"]).output().unwrap();
    assert_output!("status", stdout(&output));
    wait_for("the disarmed revert to end", || !setup.revert_running());
    assert_eq!(setup.host_record("pve-5", "pve-5.REVERTED"), None);
    setup.push_ok(&["pve-5", "--yes"]);
    assert_eq!(setup.host_record("pve-5", "pve-5.PENDING"), None);
    assert_eq!(setup.host_files("pve-5"), setup.bundle_files("pve-5"));
}
