//! /etc/iptables/rules.v4: `iptables-restore --test`, then a real restore in
//! an empty network namespace, because `--test` accepts a jump to a chain
//! that is never declared.

use std::path::Path;

use super::{check_all, of_kind, run_isolated, scratch, write, Kind, Outcome};

fn syntax(file: &Path) -> Outcome {
    run_isolated(&[], "iptables-restore", &[Path::new("--test"), file])
}

pub(super) fn check(file: &Path) -> Result<(), String> {
    syntax(file).ok()?;
    run_isolated(&[], "iptables-restore", &[file]).ok()
}

#[test]
fn every_rules_v4_restores_into_an_empty_namespace() {
    check_all(&of_kind(Kind::RulesV4), |artifact| check(&artifact.file));
}

pub(super) const GOOD: &str = "\
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp --dport 443 -m addrtype --dst-type LOCAL -j REDIRECT --to-ports 8006
COMMIT
";

#[test]
fn iptables_restore_rejects_a_bad_option_and_a_jump_to_an_undeclared_chain() {
    let dir = scratch();
    check(&write(dir.path(), "good.v4", GOOD)).expect("a valid rules.v4");

    let option = write(
        dir.path(),
        "option.v4",
        &GOOD.replace("--dport", "--dportt"),
    );
    assert!(syntax(&option).ok().is_err(), "--test accepted --dportt");
    assert!(check(&option).is_err());

    let jump = GOOD.replace("-j REDIRECT --to-ports 8006", "-j PVE-REDIRECT");
    let jump = write(dir.path(), "jump.v4", &jump);
    assert!(
        syntax(&jump).ok().is_ok(),
        "--test now rejects an undeclared chain; the real restore may be unneeded"
    );
    let error = check(&jump).expect_err("a jump to an undeclared chain");
    assert!(error.contains("PVE-REDIRECT"), "{error}");
}
