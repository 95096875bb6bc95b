//! cron: every /etc/cron.d file through `crontab -n` (after removing the user
//! field that only /etc/cron.d lines carry; the final newline is required),
//! and the file names cron and run-parts accept: `run-parts --list` over
//! /etc/cron.d (no dots: cron would skip the file), `run-parts --test` over
//! /etc/cron.{hourly,daily,weekly,monthly} with the MANIFEST modes (named
//! right and executable, or run-parts skips it).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::{
    artifacts, assert_rejects, check_all, of_kind, on_file, run, run_isolated, scratch, write,
    Artifact, Kind, Mount,
};

/// A user-crontab copy of a cron.d file: each job line without its user
/// field. Comments, blank lines and variable assignments stay as they are.
fn without_user(text: &str) -> Result<String, String> {
    let users = fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    let known = |user: &str| users.lines().any(|l| l.split(':').next() == Some(user));
    let mut copy = String::new();
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_start();
        let first = trimmed.split_whitespace().next().unwrap_or_default();
        if trimmed.trim().is_empty() || trimmed.starts_with('#') || first.contains('=') {
            copy += line;
            continue;
        }
        // `@daily user command` or `m h dom mon dow user command`.
        let user_field = if first.starts_with('@') { 1 } else { 5 };
        let (before, user, after) = split_field(line, user_field)
            .ok_or_else(|| format!("line {}: no user and command: {line:?}", index + 1))?;
        if !known(user) {
            return Err(format!(
                "line {}: user field `{user}` is not a user",
                index + 1
            ));
        }
        copy += before;
        copy += after;
    }
    Ok(copy)
}

/// Split `line` around its whitespace-separated field `n` (0-based); the
/// field must be followed by more text.
fn split_field(line: &str, n: usize) -> Option<(&str, &str, &str)> {
    let mut rest = line;
    let mut start = 0;
    for _ in 0..n {
        let skip = rest.len() - rest.trim_start().len();
        let word = rest[skip..].find(char::is_whitespace)?;
        start += skip + word;
        rest = &line[start..];
    }
    let skip = rest.len() - rest.trim_start().len();
    let field_start = start + skip;
    let field_len = line[field_start..].find(char::is_whitespace)?;
    let after = &line[field_start + field_len..];
    let command = after.trim_start();
    (!command.trim().is_empty()).then(|| {
        let after_start = line.len() - command.len();
        (
            &line[..field_start],
            &line[field_start..field_start + field_len],
            &line[after_start..],
        )
    })
}

/// `crontab -n` on the user-less copy; isolated, since crontab writes a
/// temporary file in /var/spool/cron/crontabs even when it only checks.
pub(super) fn check(file: &Path) -> Result<(), String> {
    let text = fs::read_to_string(file).map_err(|e| e.to_string())?;
    let dir = scratch();
    let copy = write(dir.path(), "crontab", &without_user(&text)?);
    run_isolated(
        &[Mount::Tmpfs("/var/spool/cron/crontabs")],
        "crontab",
        &[Path::new("-n"), &copy],
    )
    .ok()
}

#[test]
fn every_cron_d_file_passes_crontab() {
    check_all(&of_kind(Kind::CronD), |artifact| check(&artifact.file));
}

/// Copy each group of files into its own directory with its MANIFEST mode
/// and ask run-parts (`--list` or `--test`) which it would take.
fn run_parts(option: &str, groups: &BTreeMap<String, Vec<Artifact>>) -> Result<(), String> {
    let mut problems = Vec::new();
    for files in groups.values() {
        let dir = scratch();
        for artifact in files {
            let copy = dir.path().join(artifact.name());
            fs::copy(&artifact.file, &copy).expect("copy");
            fs::set_permissions(&copy, fs::Permissions::from_mode(artifact.mode)).expect("chmod");
        }
        let outcome = run("run-parts", &[Path::new(option), dir.path()]);
        let taken: BTreeSet<&str> = outcome
            .stdout
            .lines()
            .filter_map(|line| line.rsplit('/').next())
            .collect();
        for artifact in files {
            if !outcome.success || !taken.contains(artifact.name()) {
                problems.push(format!(
                    "{artifact} (mode {:04o}): `run-parts {option}` would skip it; a name is only letters, digits, `_` and `-`{}\n{outcome}",
                    artifact.mode,
                    if option == "--test" { ", and the file must be executable" } else { "" },
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// Files per `bundle directory`, for the directories matching `dirs`.
fn grouped(
    files: impl IntoIterator<Item = Artifact>,
    dirs: &[&str],
) -> BTreeMap<String, Vec<Artifact>> {
    let mut groups: BTreeMap<String, Vec<Artifact>> = BTreeMap::new();
    for artifact in files {
        let dir = artifact
            .target
            .rsplit_once('/')
            .map(|(d, _)| d.to_owned())
            .unwrap_or_default();
        if dirs.contains(&dir.as_str()) {
            groups
                .entry(format!("{} {dir}", artifact.bundle))
                .or_default()
                .push(artifact);
        }
    }
    groups
}

const PERIODIC: &[&str] = &[
    "/etc/cron.hourly",
    "/etc/cron.daily",
    "/etc/cron.weekly",
    "/etc/cron.monthly",
];

#[test]
fn cron_and_run_parts_take_every_file_by_its_name_and_mode() {
    let all = artifacts();
    let cron_d = run_parts("--list", &grouped(all.clone(), &["/etc/cron.d"]));
    let periodic = run_parts("--test", &grouped(all, PERIODIC));
    let problems: Vec<String> = [cron_d, periodic]
        .into_iter()
        .filter_map(Result::err)
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

pub(super) const GOOD: &str = "\
# rootfs backup to the iSCSI array
SHELL=/bin/sh
PATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin

21 4 * * * root systemctl start rootfs-backup.service
@reboot\troot  /usr/bin/true --with  two-spaces
";

#[test]
fn crontab_rejects_bad_fields_and_a_missing_final_newline() {
    let copy = without_user(GOOD).expect("user fields");
    assert!(
        copy.contains("\n21 4 * * * systemctl start rootfs-backup.service\n"),
        "{copy}"
    );
    assert!(
        copy.ends_with("\n@reboot\t/usr/bin/true --with  two-spaces\n"),
        "{copy}"
    );

    let dir = scratch();
    assert_rejects(
        GOOD,
        &[
            ("21 4", "61 4", "bad minute"),
            ("* * * root", "* * 9 root", "bad day-of-week"),
            ("two-spaces\n", "two-spaces", "missing newline"),
            (
                "* root systemctl",
                "* systemctl",
                "`systemctl` is not a user",
            ),
            (
                "* root systemctl",
                "* nosuchuser systemctl",
                "`nosuchuser` is not a user",
            ),
            (
                "* root systemctl start rootfs-backup.service",
                "* root",
                "no user and command",
            ),
            ("@reboot", "@rebooot", "bad time specifier"),
        ],
        on_file(dir.path(), "rootfs-backup", check),
    );
}

#[test]
fn run_parts_rejects_dotted_names_and_non_executable_scripts() {
    let dir = scratch();
    let file = write(dir.path(), "file", "#!/bin/sh\n");
    let sample = |target: &str, mode: u32| Artifact {
        bundle: "sample".to_owned(),
        target: target.to_owned(),
        file: file.clone(),
        mode,
        action: None,
    };
    let groups = |files: Vec<Artifact>| grouped(files, &["/etc/cron.d", "/etc/cron.daily"]);
    run_parts(
        "--list",
        &groups(vec![sample("/etc/cron.d/rootfs-backup", 0o644)]),
    )
    .expect("cron.d name");
    run_parts(
        "--test",
        &groups(vec![sample("/etc/cron.daily/sync-cert", 0o755)]),
    )
    .expect("daily script");
    assert!(run_parts(
        "--list",
        &groups(vec![sample("/etc/cron.d/rootfs.backup", 0o644)])
    )
    .is_err());
    assert!(run_parts(
        "--test",
        &groups(vec![sample("/etc/cron.daily/sync-cert.sh", 0o755)])
    )
    .is_err());
    assert!(run_parts(
        "--test",
        &groups(vec![sample("/etc/cron.daily/sync-cert", 0o644)])
    )
    .is_err());
}
