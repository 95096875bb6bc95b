//! Scripts: every file whose MANIFEST mode has an exec bit or that starts
//! with `#!`. Each is a shell script with a shebang, parses with the shell
//! its shebang names (`bash -n` or `dash -n`) and passes `shellcheck -o all`
//! (every optional check, at the default severity, style); a script that cron
//! or PVE runs (cron.hourly/daily/weekly/monthly, hookscripts in
//! /var/lib/vz/snippets) is executable.

use std::path::Path;

use super::{check_all, of_kind, run, scratch, write, Artifact, Kind};

/// Directories whose scripts something runs by path, so they need exec bits.
const RUN_BY_PATH: &[&str] = &[
    "/etc/cron.hourly/",
    "/etc/cron.daily/",
    "/etc/cron.weekly/",
    "/etc/cron.monthly/",
    "/var/lib/vz/snippets/",
];

/// The shell a shebang names: `bash` or `dash` (for /bin/sh, as on Debian).
fn shell(file: &Path) -> Result<&'static str, String> {
    let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let shebang = text.lines().next().unwrap_or_default();
    let interpreter = shebang
        .strip_prefix("#!")
        .ok_or("no shebang (`#!/bin/sh` or `#!/bin/bash`)")?;
    let words: Vec<&str> = interpreter.split_whitespace().collect();
    let program = match words.as_slice() {
        ["/usr/bin/env", program, ..] => *program,
        [path, ..] => path.rsplit('/').next().unwrap_or_default(),
        [] => "",
    };
    match program {
        "bash" => Ok("bash"),
        "sh" | "dash" => Ok("dash"),
        _ => Err(format!(
            "shebang `{shebang}`: only sh, dash and bash scripts have a validator here"
        )),
    }
}

/// `bash -n` or `dash -n`, per shebang.
fn parse(file: &Path) -> Result<(), String> {
    run(shell(file)?, &[Path::new("-n"), file]).ok()
}

/// shellcheck at full strictness; `--norc` so no rc file of the build
/// machine relaxes it.
fn lint(file: &Path) -> Result<(), String> {
    run(
        "shellcheck",
        &[Path::new("--norc"), Path::new("-o"), Path::new("all"), file],
    )
    .ok()
}

fn executable(artifact: &Artifact) -> Result<(), String> {
    let run_by_path = RUN_BY_PATH
        .iter()
        .any(|dir| artifact.target.starts_with(dir));
    if run_by_path && artifact.mode & 0o111 == 0 {
        return Err(format!(
            "mode {:04o}: run by path, so it must be executable",
            artifact.mode
        ));
    }
    Ok(())
}

fn check(artifact: &Artifact) -> Result<(), String> {
    executable(artifact)?;
    parse(&artifact.file)?;
    lint(&artifact.file)
}

#[test]
fn every_script_parses_and_passes_shellcheck() {
    check_all(&of_kind(Kind::Script), check);
}

#[test]
fn every_script_where_cron_or_pve_runs_it_is_executable() {
    // Such a script has no shebang check if it is not executable and lacks
    // `#!`, so look at every file in those directories, not only scripts.
    let run_by_path: Vec<Artifact> = super::artifacts()
        .into_iter()
        .filter(|a| RUN_BY_PATH.iter().any(|dir| a.target.starts_with(dir)))
        .collect();
    check_all(&run_by_path, executable);
}

const GOOD: &str = "#!/bin/sh
set -eu
for file in \"$@\"; do
  printf '%s\\n' \"${file}\"
done
";

fn sample(dir: &Path, target: &str, mode: u32, text: &str) -> Artifact {
    Artifact {
        bundle: "sample".to_owned(),
        target: target.to_owned(),
        file: write(dir, "script", text),
        mode,
    }
}

#[test]
fn shells_shellcheck_and_the_mode_check_reject_broken_scripts() {
    let dir = scratch();
    let daily = "/etc/cron.daily/sync-cert";
    check(&sample(dir.path(), daily, 0o755, GOOD)).expect("a valid script");
    let bash = GOOD.replace("#!/bin/sh", "#!/bin/bash");
    check(&sample(dir.path(), daily, 0o755, &bash)).expect("a valid bash script");

    let unterminated = GOOD.replace("done\n", "");
    assert!(parse(&sample(dir.path(), daily, 0o755, &unterminated).file).is_err());
    let array = GOOD.replace("set -eu\n", "set -eu\nfiles=(a b)\n");
    let dash_error = parse(&sample(dir.path(), daily, 0o755, &array).file).unwrap_err();
    assert!(dash_error.contains("dash -n"), "{dash_error}");
    let bash_error = parse(&sample(dir.path(), daily, 0o755, &bash.replace("done\n", "")).file);
    assert!(bash_error.unwrap_err().contains("bash -n"));

    let unquoted = GOOD.replace("\"${file}\"", "$file");
    let error = lint(&sample(dir.path(), daily, 0o755, &unquoted).file).unwrap_err();
    assert!(error.contains("SC2086"), "{error}");
    let no_braces = GOOD.replace("\"${file}\"", "\"$file\"");
    let error = lint(&sample(dir.path(), daily, 0o755, &no_braces).file).unwrap_err();
    assert!(
        error.contains("SC2250"),
        "an optional check is off: {error}"
    );

    let no_shebang = GOOD.replace("#!/bin/sh\n", "");
    assert!(check(&sample(dir.path(), daily, 0o755, &no_shebang)).is_err());
    let python = GOOD.replace("#!/bin/sh", "#!/usr/bin/python3");
    assert!(check(&sample(dir.path(), daily, 0o755, &python)).is_err());

    let hook = "/var/lib/vz/snippets/virtiofsd.sh";
    let error = check(&sample(dir.path(), hook, 0o644, GOOD)).unwrap_err();
    assert!(error.contains("executable"), "{error}");
}
