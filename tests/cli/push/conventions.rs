//! What other tools taught users to expect: `push --exit-code` as
//! `git diff --exit-code`, and `LUGC_ROOT` for actions as for fact commands.

use std::fs;

use super::Setup;
use crate::common::{stderr, stdout};

#[test]
fn a_dry_run_with_exit_code_exits_1_while_changes_are_pending() {
    let setup = Setup::new();
    let code = |args: &[&str]| {
        let output = setup.push(args);
        let code = output.status.code();
        (code, format!("{}\n{}", stdout(&output), stderr(&output)))
    };
    let (exit, shown) = code(&["pve-5"]);
    assert_eq!(
        exit,
        Some(0),
        "without --exit-code a dry run exits 0\n{shown}"
    );
    let (exit, shown) = code(&["pve-5", "--exit-code"]);
    assert_eq!(exit, Some(1), "{shown}");
    assert!(
        shown.contains("+server "),
        "the diff is shown as usual\n{shown}"
    );
    for host in ["esxi-5", "pve-6", "pve-7", "pve-8", "pve-9", "pve-10"] {
        fs::create_dir_all(setup.host_root(host).join("etc/pve")).unwrap();
    }
    let (exit, shown) = code(&["--all", "--exit-code", "--name-only"]);
    assert_eq!(exit, Some(1), "{shown}");

    setup.push_ok(&["pve-5", "--yes"]);
    let (exit, shown) = code(&["pve-5", "--exit-code"]);
    assert_eq!(exit, Some(0), "pve-5 is up to date\n{shown}");
    let (exit, shown) = code(&["pve-5", "--exit-code", "--yes"]);
    assert_eq!(exit, Some(2), "--exit-code is for dry runs\n{shown}");
}

#[test]
fn actions_run_with_lugc_root_set_to_the_hosts_root() {
    let setup = Setup::new();
    let seen = setup.sshd.dir().join("lugc-root.seen");
    setup.hook(&format!(
        "printf '%s\\n' \"${{LUGC_ROOT-unset}}\" >> {}",
        seen.display()
    ));
    setup.push_ok(&["pve-5", "--yes"]);
    let root = fs::canonicalize(setup.host_root("pve-5")).unwrap();
    let roots = fs::read_to_string(&seen).unwrap();
    assert!(!roots.is_empty(), "no action ran");
    for line in roots.lines() {
        assert_eq!(line, root.display().to_string(), "{roots}");
    }
}
