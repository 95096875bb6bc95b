//! The validators leave the machine as they found it: every tool runs on a
//! good sample, and what any of them would write when run unisolated (mount
//! records, ifupdown2's lock, state and bytecode, the xtables lock, systemd's
//! units-load stamp, crontab's spool, apt's lists and cache, /etc/hosts) is
//! the same afterwards. (Links and rules cannot appear: every tool that
//! could make them runs in its own network namespace.)

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use super::{apt, chrony, cron, hosts, interfaces, iptables, on_file, scratch, systemd};

/// Paths whose entries and modification time are recorded.
const WATCHED: &[&str] = &[
    "/run/mount",
    "/run/network",
    "/var/tmp/network",
    "/run/xtables.lock",
    "/run/systemd/systemd-units-load",
    "/var/spool/cron/crontabs",
    "/var/lib/apt/lists",
    "/var/cache/apt",
    "/etc/hosts",
];

fn machine_state() -> Vec<String> {
    let mut state: Vec<String> = WATCHED
        .iter()
        .map(|path| {
            let entries: Option<BTreeSet<String>> = fs::read_dir(path).ok().map(|dir| {
                dir.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            });
            let modified = fs::metadata(path).and_then(|m| m.modified()).ok();
            format!("{path}: {entries:?} {modified:?}")
        })
        .collect();
    for entry in walkdir::WalkDir::new("/usr/share/ifupdown2").sort_by_file_name() {
        let entry = entry.expect("walk /usr/share/ifupdown2");
        let modified = entry.metadata().ok().and_then(|m| m.modified().ok());
        state.push(format!("{} {modified:?}", entry.path().display()));
    }
    state
}

#[test]
fn every_validator_leaves_the_machine_unchanged() {
    let before = machine_state();
    let dir = scratch();
    let ifupdown2 = interfaces::Ifupdown2::new();
    type Check<'a> = Box<dyn Fn(&Path) -> Result<(), String> + 'a>;
    let samples: [(&str, &str, Check); 7] = [
        (
            "interfaces",
            interfaces::GOOD,
            Box::new(|f| ifupdown2.check(f)),
        ),
        ("chrony.conf", chrony::GOOD, Box::new(chrony::check)),
        ("rules.v4", iptables::GOOD, Box::new(iptables::check)),
        (
            "rootfs-backup.service",
            systemd::GOOD,
            Box::new(systemd::check),
        ),
        ("rootfs-backup", cron::GOOD, Box::new(cron::check)),
        (
            "sample",
            apt::GOOD,
            Box::new(|f| apt::check(f, "debian.list")),
        ),
        (
            "hosts",
            hosts::GOOD,
            Box::new(|f| hosts::check_resolution(f, "esxi-5")),
        ),
    ];
    for (name, good, check) in samples {
        on_file(dir.path(), name, check)(good).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    assert_eq!(before, machine_state());
}
