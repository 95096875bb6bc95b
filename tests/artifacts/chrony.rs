//! chrony.conf: `chronyd -p -f FILE` parses the file, prints it and exits
//! non-zero on an unknown directive or option (without starting the daemon).

use std::path::Path;

use super::{check_all, of_kind, run, scratch, write, Kind};

fn check(file: &Path) -> Result<(), String> {
    run("chronyd", &[Path::new("-p"), Path::new("-f"), file]).ok()
}

#[test]
fn every_chrony_conf_parses_with_chronyd() {
    check_all(&of_kind(Kind::Chrony), |artifact| check(&artifact.file));
}

#[test]
fn chronyd_rejects_a_bad_option_and_a_bad_directive() {
    let dir = scratch();
    let good = write(dir.path(), "good.conf", "server time.ustc.edu.cn iburst\n");
    check(&good).expect("a valid chrony.conf");
    for (name, broken) in [
        ("option.conf", "server time.ustc.edu.cn iburstt\n"),
        ("directive.conf", "serverr time.ustc.edu.cn iburst\n"),
    ] {
        let file = write(dir.path(), name, broken);
        assert!(check(&file).is_err(), "chronyd accepted {broken:?}");
    }
}
