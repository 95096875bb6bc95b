//! Memory is bounded by nothing a host controls: a file above
//! `--max-file-size` is hashed on the host and never read, and a host that
//! answers one of lugc's commands with more than `--max-reply-size` fails
//! it. Each run's peak resident set is measured by GNU time (wait4's
//! rusage of that one process), never its duration.

use std::fs;
use std::process::{Command, Output};

use super::{Setup, CHRONY, RESTART_CHRONY};
use crate::common::snapshot::assert_output;
use crate::common::{require_tool, stderr, stdout};

/// The most a dry run, `status` or `facts` may take here, in MiB: lugc
/// evaluates the fleet too, but stays far below the gibibyte hosts send.
const BOUND_MIB: u64 = 200;

/// A gibibyte, the size of what the hosts here hold or send.
const GIB: u64 = 1 << 30;

/// Run `command` under GNU time: its output and its peak resident set in MiB.
fn measured(command: &Command) -> (Output, u64) {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("rss");
    let mut timed = Command::new(require_tool("time"));
    timed
        .args(["-f", "%M", "-o"])
        .arg(&report)
        .arg("--")
        .arg(command.get_program())
        .args(command.get_args())
        .env_clear();
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            timed.env(key, value);
        }
    }
    if let Some(dir) = command.get_current_dir() {
        timed.current_dir(dir);
    }
    let output = timed.output().unwrap();
    let text = fs::read_to_string(&report).unwrap();
    let kib: u64 = text
        .lines()
        .last()
        .and_then(|line| line.trim().parse().ok())
        .unwrap_or_else(|| panic!("GNU time said {text:?}"));
    println!(
        "{:?}: peak RSS {kib} KiB",
        command.get_args().take(2).collect::<Vec<_>>()
    );
    (output, kib >> 10)
}

/// A sparse file of one gibibyte at `path` below `host`'s root.
fn huge_file(setup: &Setup, host: &str, path: &str) {
    let file = setup.host_root(host).join(path);
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::File::create(&file).unwrap().set_len(GIB).unwrap();
}

#[test]
fn a_huge_file_on_the_host_is_hashed_there_not_read() {
    let setup = Setup::new();
    huge_file(&setup, "pve-5", CHRONY);

    let (output, mib) = measured(&setup.push_command(
        setup.sshd.port(),
        &setup.sshd.dir().join("hosts/{host}").display().to_string(),
        &["pve-5"],
    ));
    let shown = stdout(&output);
    assert!(output.status.success(), "{shown}{}", stderr(&output));
    assert!(mib < BOUND_MIB, "a dry run took {mib} MiB");
    assert_output!("dry-run", shown);

    let (output, mib) = measured(&setup.status_command(&["pve-5", "--diff"]));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(mib < BOUND_MIB, "status --diff took {mib} MiB");

    huge_file(&setup, "pve-5", "etc/os-release");
    let (output, mib) = measured(&setup.facts_command(&["pve-5", "--fact-runner", "false"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(mib < BOUND_MIB, "facts took {mib} MiB");
    assert_output!("facts", stdout(&output));
}

#[test]
fn a_host_answering_with_a_gibibyte_fails_the_command_not_the_memory() {
    let setup = Setup::new();
    setup.wrap_sessions(&format!(
        "  *\"lugc records \"*) printf 'record {GIB} pve-5.MANIFEST\\n'; head -c {GIB} /dev/zero; exit 0 ;;\n"
    ));
    let (output, mib) = measured(&setup.status_command(&["pve-5"]));
    let shown = stdout(&output);
    assert_eq!(output.status.code(), Some(2), "{shown}{}", stderr(&output));
    assert!(mib < BOUND_MIB, "status took {mib} MiB");
    assert_output!("status", shown);

    let (output, mib) = measured(&setup.push_command(
        setup.sshd.port(),
        &setup.sshd.dir().join("hosts/{host}").display().to_string(),
        &["pve-5", "--max-reply-size", "16"],
    ));
    assert_eq!(output.status.code(), Some(2));
    assert!(mib < BOUND_MIB, "a dry run took {mib} MiB");
    assert_output!("dry-run", stderr(&output));
}

#[test]
fn an_action_printing_half_a_gibibyte_is_shown_in_part_and_held_in_part() {
    let setup = Setup::new();
    // pve-5's chrony restart prints 512 MiB in lines of 4000 bytes: `push
    // --all` keeps each host's lines until that host is done.
    setup.hook(&format!(
        "if [ \"$1\" = '{RESTART_CHRONY}' ]; then case $LUGC_ROOT in */hosts/pve-5) \
         yes \"$(head -c 3999 /dev/zero | tr '\\0' x)\" | head -c {}; echo; echo last words;; esac; fi\n",
        GIB / 2
    ));
    let root = setup.sshd.dir().join("hosts/{host}").display().to_string();
    let command = setup.push_command(
        setup.sshd.port(),
        &root,
        &["--all", "--yes", "--keep-going"],
    );
    let (output, mib) = measured(&command);
    assert!(mib < BOUND_MIB, "push --all took {mib} MiB");
    let shown = stdout(&output);
    let start = &shown[..shown.len().min(4000)];
    assert!(
        shown.contains(
            "lines not shown: lugc shows the first 1 MiB of an action's output and its last 20 lines]"
        ),
        "{start}"
    );
    assert!(shown.contains("    | last words\n"), "{start}");
    assert!(shown.len() < 4 << 20, "{} bytes shown", shown.len());
}
