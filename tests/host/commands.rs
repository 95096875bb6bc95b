//! Each host.sh command but `revert`, against a temporary root.

use std::fs;
use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::{symlink, PermissionsExt as _};
use std::process::Command;

use lugc::host::script::{
    EXIT_BUSY, EXIT_FAILED, EXIT_LINK, EXIT_NOT_CONFIRMED, EXIT_NO_PMXCFS, EXIT_NO_QUORUM,
    EXIT_NO_ROOT, EXIT_REVERT_BEGAN, EXIT_TIMED_OUT,
};
use lugc::host::HOST_SH;
use sha2::{Digest as _, Sha256};

use super::{answer, exit, host_sh, runner, Root};
use crate::common::require_tool;

const ID: &str = "pve-5-0123456789ab.Ab3dEf9z";

#[test]
fn hold_resolves_the_root_once_and_reads_without_a_lock() {
    let host = Root::new();
    fs::create_dir(host.at("real")).unwrap();
    symlink(host.at("real"), host.at("link")).unwrap();
    let link = host.at("link").display().to_string();
    let output = host_sh("hold", &link, &["read", ""]).output().unwrap();
    let shown = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{shown}");
    assert!(
        shown.ends_with(&format!("\nready {}/real\n", host.root())),
        "{shown}"
    );
    assert!(shown.starts_with("uid "), "{shown}");
    assert!(!host.at("real/var").exists(), "a read takes no lock");

    let file = host.write("file", b"", 0o644).display().to_string();
    let output = host_sh("hold", &file, &["read", ""]).output().unwrap();
    assert_eq!(exit(&output).0, Some(EXIT_NO_ROOT), "{}", exit(&output).1);
}

#[test]
fn hold_takes_the_lock_until_its_input_closes_and_a_second_push_is_busy() {
    let host = Root::new();
    let mut first = host.spawn("hold", &["lock", "lugc push by ops@desk"]);
    let mut lines = BufReader::new(first.stdout.take().unwrap()).lines();
    let ready = lines
        .find_map(|line| line.unwrap().strip_prefix("ready ").map(str::to_owned))
        .expect("ready");
    assert_eq!(ready, host.root());
    assert!(host
        .read("var/lib/lugc/lock")
        .starts_with("lugc push by ops@desk since "));
    assert_eq!(
        fs::metadata(host.state("")).unwrap().permissions().mode() & 0o777,
        0o700
    );

    let second = host.run("hold", &["lock", "another"], b"");
    assert_eq!(exit(&second).0, Some(EXIT_BUSY), "{}", exit(&second).1);
    let said = String::from_utf8_lossy(&second.stdout);
    assert!(said.contains("busy lugc push by ops@desk since"), "{said}");

    drop(first.stdin.take());
    assert!(first.wait().unwrap().success());
    host.ok("hold", &["lock", "third"], b"");
}

#[test]
fn hold_refuses_a_lock_behind_a_link() {
    let host = Root::new();
    fs::create_dir_all(host.at("elsewhere")).unwrap();
    fs::create_dir_all(host.at("var/lib")).unwrap();
    symlink(host.at("elsewhere"), host.at("var/lib/lugc")).unwrap();
    let output = host.run("hold", &["lock", "x"], b"");
    assert_eq!(exit(&output).0, Some(EXIT_LINK), "{}", exit(&output).1);
    assert_eq!(fs::read_dir(host.at("elsewhere")).unwrap().count(), 0);
}

#[test]
fn records_lists_a_bundles_records_and_the_pushes_they_name() {
    let host = Root::new();
    host.write("var/lib/lugc/pve-5.MANIFEST", b"m\n", 0o600);
    let stale = "pve-5-0123456789ab.Stale000";
    let gone = "pve-5-0123456789ab.Gone0000";
    let pending = format!("lugc-pushes 1\n{ID}\n{stale}\n{gone}\n../etc\n");
    host.write("var/lib/lugc/pve-5.PENDING", pending.as_bytes(), 0o600);
    host.write(&format!("var/lib/lugc/backup/{ID}/BEFORE"), b"b\n", 0o600);
    host.write(&format!("var/lib/lugc/backup/{ID}/PUSHING"), b"p\n", 0o600);
    host.write(&format!("var/lib/lugc/backup/{ID}/ARMED"), b"", 0o600);
    host.write(
        &format!("var/lib/lugc/backup/{ID}/DEADLINE"),
        b"99999999999\n",
        0o600,
    );
    host.write(&format!("var/lib/lugc/backup/{stale}/ARMED"), b"", 0o600);
    host.write(
        &format!("var/lib/lugc/backup/{stale}/DEADLINE"),
        b"1\n",
        0o600,
    );
    // Its revert process: pid 1 runs no revert.
    host.write(&format!("var/lib/lugc/backup/{stale}/PID"), b"1\n", 0o600);
    let expected = format!(
        "record 2 pve-5.MANIFEST\nm\n\
         record {} pve-5.PENDING\n{pending}\
         record 2 backup/{ID}/BEFORE\nb\n\
         record 2 backup/{ID}/PUSHING\np\n\
         nobackup {gone}\n",
        pending.len()
    );
    let shown = host.ok("records", &["pve-5"], b"");
    let armed = shown
        .strip_prefix(&expected)
        .unwrap_or_else(|| panic!("{shown}"));
    let at = now();
    let lines: Vec<Vec<&str>> = armed
        .lines()
        .map(|line| line.split(' ').collect())
        .collect();
    let [due, stale_line] = &lines[..] else {
        panic!("{armed}")
    };
    assert_eq!(
        (&due[..5], due[6]),
        (
            &["armed", ID, "pve-5", "armed", "unknown"][..],
            "5138-11-16T09:46:39Z"
        )
    );
    let left: i64 = due[5].parse().unwrap();
    assert!((99_999_999_999 - at as i64 - left).abs() <= 5, "{armed}");
    assert_eq!(
        (&stale_line[..5], stale_line[6]),
        (
            &["armed", stale, "pve-5", "armed", "gone"][..],
            "1970-01-01T00:00:01Z"
        )
    );
    assert!(stale_line[5].parse::<i64>().unwrap() < 0, "{armed}");

    fs::remove_file(host.state("pve-5.MANIFEST")).unwrap();
    fs::create_dir(host.state("pve-5.MANIFEST")).unwrap();
    let shown = host.ok("records", &["pve-5"], b"");
    assert!(
        shown.starts_with("irregular /var/lib/lugc/pve-5.MANIFEST\n"),
        "{shown}"
    );
}

/// A root with /etc/hostname (0640), a directory, and a link to /etc.
fn files_root() -> Root {
    let host = Root::new();
    host.write("etc/hostname", b"pve-5\n", 0o640);
    symlink(host.at("etc"), host.at("lnk")).unwrap();
    host
}

const PROBED: &[u8] = b"/etc/hostname\n/etc/missing\n/etc\n/lnk/hostname\nrelative\n";

#[test]
fn files_sends_each_regular_file_with_its_content() {
    let host = files_root();
    assert_eq!(
        host.ok("files", &["1024"], PROBED),
        "file 640 root:root 6 /etc/hostname\npve-5\nirregular /etc\nirregular /lnk/hostname\n"
    );
    let output = host.run("files", &["1024"], b"/etc//hostname\n");
    assert_eq!(exit(&output).0, Some(EXIT_FAILED), "{}", exit(&output).1);
}

#[test]
fn files_hashes_a_file_above_the_limit_instead_of_sending_it() {
    let host = files_root();
    assert_eq!(
        host.ok("files", &["5"], b"/etc/hostname\n"),
        format!(
            "large 640 root:root 6 {} /etc/hostname\n",
            sha256(b"pve-5\n")
        )
    );
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[test]
fn hashes_sends_each_regular_files_sha256_instead() {
    let host = files_root();
    let sum = sha256(b"pve-5\n");
    assert_eq!(
        host.ok("hashes", &[], PROBED),
        format!(
            "hash 640 root:root {sum} /etc/hostname\nirregular /etc\nirregular /lnk/hostname\n"
        )
    );
}

#[test]
fn begin_makes_a_new_backup_directory_each_time() {
    let host = Root::new();
    let prefix = "pve-5-0123456789ab";
    let first = host.ok("begin", &[prefix], b"");
    let second = host.ok("begin", &[prefix], b"");
    for id in [&first, &second] {
        let id = id.trim_end();
        assert!(id.starts_with(&format!("{prefix}.")), "{id}");
        assert!(lugc::host::record::valid_id(id), "{id}");
        let dir = host.state(&format!("backup/{id}"));
        assert_eq!(
            fs::metadata(dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }
    assert_ne!(first, second);
}

#[test]
fn record_replaces_a_record_whole_and_unrecord_removes_it() {
    let host = Root::new();
    let name = format!("backup/{ID}/PUSHES");
    host.ok("record", &[&name, "0600"], b"a long first text\n");
    host.ok("record", &[&name, "0640"], b"short\n");
    let path = host.state(&name);
    assert_eq!(fs::read_to_string(&path).unwrap(), "short\n");
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o640
    );
    let dir = host.state(&format!("backup/{ID}"));
    assert_eq!(
        fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_eq!(
        fs::read_dir(&dir).unwrap().count(),
        1,
        "no temporary file left"
    );

    host.ok("unrecord", &[&name], b"");
    assert!(!path.exists());
    host.ok("unrecord", &[&name], b"");

    let output = host.run("record", &["../escaped", "0600"], b"x");
    assert_eq!(exit(&output).0, Some(EXIT_FAILED), "{}", exit(&output).1);
    assert!(!host.at("var/lib/escaped").exists());
}

#[test]
fn record_and_unrecord_refuse_a_link_in_the_state_directory() {
    let host = Root::new();
    fs::create_dir_all(host.at("elsewhere")).unwrap();
    fs::create_dir_all(host.state("")).unwrap();
    symlink(host.at("elsewhere"), host.state("backup")).unwrap();
    let name = format!("backup/{ID}/PUSHES");
    let output = host.run("record", &[&name, "0600"], b"x");
    assert_eq!(exit(&output).0, Some(EXIT_LINK), "{}", exit(&output).1);
    host.write(&format!("elsewhere/{ID}/PUSHES"), b"kept", 0o600);
    let output = host.run("unrecord", &[&name], b"");
    assert_eq!(exit(&output).0, Some(EXIT_LINK), "{}", exit(&output).1);
    assert_eq!(host.read(&format!("elsewhere/{ID}/PUSHES")), "kept");
}

#[test]
fn remove_keeps_each_file_in_the_backup_first() {
    let host = Root::new();
    host.write("etc/old.conf", b"old\n", 0o640);
    host.ok("remove", &[ID], b"/etc/old.conf\n/etc/missing\n");
    assert!(!host.at("etc/old.conf").exists());
    let kept = host.state(&format!("backup/{ID}/files/etc/old.conf"));
    assert_eq!(fs::read_to_string(&kept).unwrap(), "old\n");
    assert_eq!(
        fs::metadata(&kept).unwrap().permissions().mode() & 0o777,
        0o640
    );

    fs::create_dir(host.at("etc/dir")).unwrap();
    let output = host.run("remove", &[ID], b"/etc/dir\n");
    assert_eq!(exit(&output).0, Some(EXIT_LINK), "{}", exit(&output).1);
    assert!(host.at("etc/dir").is_dir());

    symlink(host.at("etc"), host.at("lnk")).unwrap();
    host.write("etc/hostname", b"pve-5\n", 0o644);
    let output = host.run("remove", &[ID], b"/lnk/hostname\n");
    assert_eq!(exit(&output).0, Some(EXIT_LINK), "{}", exit(&output).1);
    assert!(host.at("etc/hostname").exists());
}

#[test]
fn links_names_the_first_link_on_a_paths_way() {
    let host = files_root();
    host.ok("links", &[], b"/etc/hostname\n/etc/new/file\n");
    let output = host.run("links", &[], b"/etc/hostname\n/lnk/hostname\n");
    let (code, stderr) = exit(&output);
    assert_eq!(code, Some(EXIT_LINK), "{stderr}");
    assert!(stderr.contains("/lnk is a symbolic link"), "{stderr}");
}

#[test]
fn quorum_tells_a_missing_etc_pve_from_a_read_only_one() {
    let host = Root::new();
    let output = host.run("quorum", &[], b"");
    assert_eq!(exit(&output).0, Some(EXIT_NO_PMXCFS), "{}", exit(&output).1);
    fs::create_dir_all(host.at("etc/pve")).unwrap();
    host.ok("quorum", &[], b"");
    assert_eq!(fs::read_dir(host.at("etc/pve")).unwrap().count(), 0);

    // pmxcfs without quorum refuses writes even to root: here, a user the
    // directory's mode keeps out stands for it.
    fs::set_permissions(host.at(""), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(host.at("etc/pve"), fs::Permissions::from_mode(0o555)).unwrap();
    let output = Command::new(require_tool("setpriv"))
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "sh",
            "-c",
        ])
        .args([HOST_SH, "lugc", "quorum", &host.root()])
        .output()
        .unwrap();
    assert_eq!(exit(&output).0, Some(EXIT_NO_QUORUM), "{}", exit(&output).1);
}

#[test]
fn disarm_confirms_once_and_says_when_the_revert_began() {
    let host = Root::new();
    host.write(&format!("var/lib/lugc/backup/{ID}/ARMED"), b"", 0o600);
    assert_eq!(host.ok("disarm", &[ID], &answer(ID)), "ready\n");
    assert!(host.state(&format!("backup/{ID}/CONFIRMED")).exists());
    assert!(!host.state(&format!("backup/{ID}/ARMED")).exists());
    host.ok("disarm", &[ID], &answer(ID));

    let begun = "pve-5-0123456789ab.Begun000";
    host.write(
        &format!("var/lib/lugc/backup/{begun}/REVERTING"),
        b"",
        0o600,
    );
    let output = host.run("disarm", &[begun], &answer(begun));
    assert_eq!(
        exit(&output).0,
        Some(EXIT_REVERT_BEGAN),
        "{}",
        exit(&output).1
    );
}

/// A `disarm` whose lugc does not answer (it died, its connection outlived
/// it) or answers for another push confirms nothing.
#[test]
fn disarm_without_lugcs_answer_confirms_nothing() {
    let host = Root::new();
    host.write(&format!("var/lib/lugc/backup/{ID}/ARMED"), b"", 0o600);
    let other = "pve-5-0123456789ab.Other000";
    for input in [&b""[..], b"confirm\n", &answer(other)] {
        let output = host.run("disarm", &[ID], input);
        assert_eq!(
            exit(&output).0,
            Some(EXIT_NOT_CONFIRMED),
            "{}",
            exit(&output).1
        );
        assert!(host.state(&format!("backup/{ID}/ARMED")).exists());
        assert!(!host.state(&format!("backup/{ID}/CONFIRMED")).exists());
    }
}

/// The epoch seconds in push `ID`'s DEADLINE.
fn deadline(host: &Root) -> u64 {
    host.read(&format!("var/lib/lugc/backup/{ID}/DEADLINE"))
        .trim()
        .parse()
        .unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn hasten_moves_an_armed_reverts_deadline_to_now() {
    let host = Root::new();
    let output = host.run("hasten", &[ID], b"");
    assert_eq!(exit(&output).0, Some(EXIT_FAILED), "{}", exit(&output).1);
    host.write(&format!("var/lib/lugc/backup/{ID}/ARMED"), b"", 0o600);
    host.write(
        &format!("var/lib/lugc/backup/{ID}/DEADLINE"),
        b"99999999999
",
        0o600,
    );
    host.ok("hasten", &[ID], b"");
    assert!(deadline(&host) <= now());
}

#[test]
fn arm_leaves_a_revert_that_disarm_stops() {
    let host = Root::new();
    host.write(&format!("var/lib/lugc/backup/{ID}/PUSHES"), b"", 0o600);
    let before = now();
    let args = [ID, "600", "5", "true", "pve-5", &"a".repeat(64)];
    host.ok("arm", &args, HOST_SH.as_bytes());
    let dir = host.state(&format!("backup/{ID}"));
    assert_eq!(fs::read_to_string(dir.join("revert.sh")).unwrap(), HOST_SH);
    assert!(dir.join("ARMED").exists());
    assert!((before + 600..=now() + 600).contains(&deadline(&host)));
    host.ok("disarm", &[ID], &answer(ID));
    assert!(dir.join("CONFIRMED").exists());
    assert!(!dir.join("REVERTING").exists());
}

/// `action` with lugc's input held open, as over ssh.
fn action(host: &Root, args: &[&str]) -> (Option<i32>, String) {
    let mut child = host.spawn("action", args);
    let input = child.stdin.take();
    let output = child.wait_with_output().unwrap();
    drop(input);
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn action_passes_on_the_actions_status_and_output() {
    let host = Root::new();
    let log = host.at("ran");
    let runner = runner(host.at("").as_path(), &log);
    assert_eq!(
        action(&host, &["5", &runner, "echo hi"]),
        (Some(0), "hi\n".to_owned())
    );
    assert_eq!(action(&host, &["5", &runner, "exit 3"]).0, Some(3));
    assert_eq!(fs::read_to_string(&log).unwrap(), "echo hi\nexit 3\n");
}

#[test]
fn action_is_stopped_at_its_limit_and_moves_an_armed_deadline() {
    let host = Root::new();
    host.write(&format!("var/lib/lugc/backup/{ID}/DEADLINE"), b"1\n", 0o600);
    let (code, _) = action(&host, &["1", "sh -c", "sleep 30", ID, "40"]);
    assert_eq!(code, Some(EXIT_TIMED_OUT));
    let after = deadline(&host);
    assert!((now() + 30..=now() + 40).contains(&after), "{after}");
}

#[test]
fn action_stops_when_lugcs_connection_closes() {
    let host = Root::new();
    let output = host.run("action", &["60", "sh -c", "sleep 30; exit 0"], b"");
    let code = output.status.code();
    assert!(code != Some(0) && code != Some(EXIT_TIMED_OUT), "{code:?}");
}

#[test]
fn facts_never_globs_the_runners_words_and_reads_this_nodes_vm_configs() {
    let host = Root::new();
    host.write("etc/os-release", b"ID=debian\n", 0o644);
    host.write(
        "etc/pve/nodes/pve-5/qemu-server/100.conf",
        b"memory: 2048\n",
        0o640,
    );
    host.write("etc/pve/nodes/pve-5/qemu-server/notes.txt", b"x", 0o640);
    symlink("nodes/pve-5/qemu-server", host.at("etc/pve/qemu-server")).unwrap();
    let cwd = tempfile::tempdir().unwrap();
    fs::write(cwd.path().join("decoy"), "").unwrap();
    let output = host_sh(
        "facts",
        &host.root(),
        &["1024", "echo *", "star", "-", "fact"],
    )
    .current_dir(cwd.path())
    .output()
    .unwrap();
    let shown = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{shown}");
    assert_eq!(
        shown,
        "file 644 root:root 10 /etc/os-release\nID=debian\n\
         file 640 root:root 13 /etc/pve/nodes/pve-5/qemu-server/100.conf\nmemory: 2048\n\
         run star 0 7\n* fact\n"
    );
}
