//! ssh destinations that ssh or rsync could misread: an IPv6 address
//! reaches its host in brackets (an sshd listening on ::1), and a bare one,
//! which rsync once read as a host and a path in the login's home or as a
//! daemon, is refused before anything runs.

use std::net::IpAddr;
use std::process::Output;

use super::{Setup, CHRONY};
use crate::common::sshd::{Sshd, IPV6_LOOPBACK};
use crate::common::{lugc_std, stderr, stdout, Fixture};

/// `lugc SUBCOMMAND ARGS` at the test sshd through `target`.
fn through(setup: &Setup, target: &str, subcommand: &str, args: &[&str]) -> Output {
    let mut command = lugc_std(setup.fixture.path());
    command
        .arg(subcommand)
        .args(args)
        .args(["--target", target, "--port", &setup.sshd.port().to_string()])
        .arg("--root")
        .arg(setup.host_root("{host}"));
    if subcommand == "push" {
        command.arg("--action-runner").arg(setup.runner());
    }
    for option in setup.sshd.client_options() {
        command.args(["--ssh-option", &option]);
    }
    command.output().unwrap()
}

/// The whole round over IPv6: push (files, actions, records), status and
/// facts reach the host at `root@[::1]`.
#[test]
fn a_host_at_an_ipv6_address_is_pushed_to_in_brackets() {
    let setup = Setup::reached(Fixture::new(), Sshd::start_on(IPV6_LOOPBACK));
    assert_eq!(setup.sshd.target(), "root@[::1]");
    setup.push_ok(&["pve-5", "--yes"]);
    assert_eq!(setup.host_files("pve-5"), setup.bundle_files("pve-5"));
    assert!(setup.host_record("pve-5", "pve-5.MANIFEST").is_some());
    assert!(!setup.actions().is_empty(), "the actions ran");

    let status = setup.status_command(&["pve-5"]).output().unwrap();
    assert!(status.status.success(), "{}", stderr(&status));
    assert!(stdout(&status).contains("in sync"), "{}", stdout(&status));
    let facts = setup.facts_command(&["pve-5"]).output().unwrap();
    assert!(facts.status.success(), "{}", stderr(&facts));
}

/// The targets that once wrote the bundle into the login's home or started
/// rsync's daemon mode are refused with the form to write instead, before
/// any connection; the bracketed form of the same address pushes.
#[test]
fn a_bare_ipv6_address_is_refused_and_its_bracketed_form_works() {
    let setup = Setup::new();
    assert!(matches!(setup.sshd.address(), IpAddr::V4(_)));
    let before = setup.all_roots();
    for (target, written) in [
        ("root@0:0:0:0:0:ffff:7f00:1", "root@[0:0:0:0:0:ffff:7f00:1]"),
        ("root@::ffff:127.0.0.1", "root@[::ffff:127.0.0.1]"),
    ] {
        for (command, args) in [
            ("push", &["pve-5", "--yes"][..]),
            ("status", &["pve-5"]),
            ("facts", &["pve-5"]),
        ] {
            let output = through(&setup, target, command, args);
            assert_eq!(
                output.status.code(),
                Some(2),
                "{command} {target}: {}",
                stdout(&output)
            );
            let error = stderr(&output);
            assert!(
                error.contains("IPv6 address without brackets")
                    && error.contains(&format!("write {written}")),
                "{command} {target}: {error}"
            );
        }
        assert_eq!(setup.all_roots(), before, "{target} changed a host");
    }
    assert!(
        !setup.sshd.log().contains("Accepted"),
        "{}",
        setup.sshd.log()
    );

    // The same IPv4-mapped address in brackets reaches the IPv4 sshd.
    let output = through(
        &setup,
        "root@[::ffff:127.0.0.1]",
        "push",
        &["pve-5", "--yes"],
    );
    assert!(
        output.status.success(),
        "{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    assert_eq!(
        setup.host_file("pve-5", CHRONY),
        setup.out_file("pve-5", CHRONY)
    );
}
