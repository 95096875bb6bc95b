//! chrony.conf: `chronyd -p -f FILE` parses the file, prints it and exits
//! non-zero on an unknown directive or option (without starting the daemon).

use std::path::Path;

use super::{assert_rejects, check_all, of_kind, on_file, run, scratch, Kind};

pub(super) fn check(file: &Path) -> Result<(), String> {
    run("chronyd", &[Path::new("-p"), Path::new("-f"), file]).ok()
}

#[test]
fn every_chrony_conf_parses_with_chronyd() {
    check_all(&of_kind(Kind::Chrony), |artifact| check(&artifact.file));
}

pub(super) const GOOD: &str = "server time.ustc.edu.cn iburst\n";

#[test]
fn chronyd_rejects_a_bad_option_and_a_bad_directive() {
    let dir = scratch();
    assert_rejects(
        GOOD,
        &[
            ("iburst", "iburstt", "Could not parse server directive"),
            ("server", "serverr", "Invalid directive"),
        ],
        on_file(dir.path(), "chrony.conf", check),
    );
}
