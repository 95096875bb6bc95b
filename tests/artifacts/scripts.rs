//! Scripts: every file whose MANIFEST mode has an exec bit or that starts
//! with `#!`. Each is a shell script with a shebang, parses with the shell
//! its shebang names (`bash -n` or `dash -n`) and passes `shellcheck -o all`
//! (every optional check, at the default severity, style); a script that cron
//! runs (cron.hourly/daily/weekly/monthly) is executable, and so is every
//! hookscript a VM config names, found through storage.cfg in a storage
//! that holds snippets.

use std::path::Path;

use crate::storage_cfg::{self, StorageCfg};

use super::{assert_rejects, check_all, of_kind, on_file, run, scratch, write, Artifact, Kind};

/// Directories whose files run-parts runs, so they need exec bits.
const RUN_BY_PATH: &[&str] = &[
    "/etc/cron.hourly/",
    "/etc/cron.daily/",
    "/etc/cron.weekly/",
    "/etc/cron.monthly/",
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
    if artifact.mode & 0o111 == 0 {
        return Err(format!(
            "mode {:04o}: run by path, so it must be executable",
            artifact.mode
        ));
    }
    Ok(())
}

fn check(artifact: &Artifact) -> Result<(), String> {
    if RUN_BY_PATH
        .iter()
        .any(|dir| artifact.target.starts_with(dir))
    {
        executable(artifact)?;
    }
    parse(&artifact.file)?;
    lint(&artifact.file)
}

/// Where a `hookscript: STORAGE:snippets/NAME` of a VM config lands: the
/// storage must be a directory storage with `snippets` in its content
/// (`local` is /var/lib/vz with snippets when storage.cfg does not define
/// it), and a host bundle must carry the file, executable, with a shebang.
fn hookscript(line: &str, storage: Option<&StorageCfg>, all: &[Artifact]) -> Result<(), String> {
    let volume = line.trim_start_matches("hookscript:").trim();
    let (id, name) = volume
        .split_once(":snippets/")
        .ok_or_else(|| format!("`{volume}` is not STORAGE:snippets/NAME"))?;
    let path = match storage.and_then(|cfg| cfg.section(id)) {
        Some(section) if ["dir", "nfs"].contains(&section.storage_type.as_str()) => {
            if !section.content().contains(&"snippets") {
                return Err(format!("storage `{id}` does not hold snippets"));
            }
            section.get("path").unwrap_or_default()
        }
        Some(section) => {
            return Err(format!(
                "storage `{id}` is {}, not a directory",
                section.storage_type
            ))
        }
        None if id == "local" => "/var/lib/vz",
        None => return Err(format!("storage `{id}` is not in storage.cfg")),
    };
    let target = format!("{path}/snippets/{name}");
    let script = all
        .iter()
        .find(|a| a.bundle != "cluster" && a.target == target)
        .ok_or_else(|| format!("no bundle carries {target}"))?;
    executable(script).map_err(|e| format!("{script}: {e}"))?;
    if !script.bytes().starts_with(b"#!") {
        return Err(format!("{script}: no shebang"));
    }
    Ok(())
}

/// Every `hookscript:` line of the VM configs, checked with [`hookscript`].
fn hookscripts(all: &[Artifact]) -> Result<(), String> {
    let storage = of_kind(Kind::StorageCfg)
        .first()
        .map(|cfg| storage_cfg::parse(&cfg.text()).unwrap_or_else(|e| panic!("{cfg}: {e:?}")));
    let mut problems = Vec::new();
    for config in &of_kind(Kind::VmConfig) {
        for line in config
            .text()
            .lines()
            .filter(|l| l.starts_with("hookscript:"))
        {
            if let Err(problem) = hookscript(line, storage.as_ref(), all) {
                problems.push(format!("{config}: {line}: {problem}"));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[test]
fn every_script_parses_and_passes_shellcheck() {
    check_all(&of_kind(Kind::Script), check);
}

#[test]
fn every_file_that_cron_runs_is_executable() {
    // A file there that is neither executable nor starts with `#!` is no
    // Script, so look at every file in those directories.
    let run_by_path: Vec<Artifact> = super::artifacts()
        .into_iter()
        .filter(|a| RUN_BY_PATH.iter().any(|dir| a.target.starts_with(dir)))
        .collect();
    check_all(&run_by_path, executable);
}

/// A MANIFEST action as the script `lugc push` runs (`sh -c ACTION`).
fn action_script(dir: &Path, action: &str) -> Result<(), String> {
    let file = write(dir, "action", &format!("#!/bin/sh\n{action}\n"));
    parse(&file)?;
    lint(&file)
}

#[test]
fn every_manifest_action_parses_with_sh_and_passes_shellcheck() {
    let dir = scratch();
    let actions: std::collections::BTreeSet<String> = super::artifacts()
        .into_iter()
        .filter_map(|a| a.action)
        .collect();
    assert!(!actions.is_empty(), "no MANIFEST action in out/");
    let problems: Vec<String> = actions
        .iter()
        .filter_map(|action| action_script(dir.path(), action).err())
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn a_broken_action_is_rejected() {
    let dir = scratch();
    assert_rejects(
        "update-alternatives --set iptables /usr/sbin/iptables-nft && systemctl restart netfilter-persistent.service",
        &[
            (" && systemctl", " && && systemctl", "dash -n"),
            ("/usr/sbin/iptables-nft", "$NFT", "SC2086"),
        ],
        |action| action_script(dir.path(), action),
    );
}

/// A host bundle names its health check in its MANIFEST (`check`); the
/// check is one of its scripts, so the tests above parse and shellcheck it.
#[test]
fn every_host_bundle_names_a_health_check_that_is_one_of_its_scripts() {
    let scripts = of_kind(Kind::Script);
    let out = crate::common::repo_root().join("out");
    let mut bundles = 0;
    for bundle in std::fs::read_dir(&out).unwrap().flatten() {
        let Ok(text) = std::fs::read_to_string(bundle.path().join("MANIFEST")) else {
            continue;
        };
        let manifest = lugc::manifest::Manifest::parse(&text).unwrap();
        if manifest.bundle == "cluster" {
            assert_eq!(manifest.check, Vec::<String>::new());
            continue;
        }
        bundles += 1;
        assert_eq!(
            manifest.check,
            ["/usr/local/lib/lugc/health"],
            "{}",
            manifest.bundle
        );
        for path in &manifest.check {
            assert!(
                scripts
                    .iter()
                    .any(|s| s.bundle == manifest.bundle && &s.target == path),
                "{}: {path} is no script of the bundle",
                manifest.bundle
            );
        }
    }
    let index = std::fs::read_to_string(out.join("INDEX")).unwrap();
    let hosts = index
        .lines()
        .skip(1)
        .filter(|line| !line.ends_with(" cluster"));
    assert_eq!(bundles, hosts.count());
}

#[test]
fn every_hookscript_of_a_vm_is_an_executable_script_in_a_snippets_storage() {
    hookscripts(&super::artifacts()).unwrap_or_else(|e| panic!("{e}"));
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
        action: None,
    }
}

#[test]
fn shells_shellcheck_and_the_mode_check_reject_broken_scripts() {
    let dir = scratch();
    let bash = GOOD.replace("#!/bin/sh", "#!/bin/bash");
    let unterminated = ("done\n", "", "-n");
    assert_rejects(
        GOOD,
        &[
            unterminated,
            ("set -eu\n", "set -eu\nfiles=(a b)\n", "`dash -n"),
        ],
        on_file(dir.path(), "script", parse),
    );
    assert_rejects(&bash, &[unterminated], on_file(dir.path(), "script", parse));
    assert_rejects(
        GOOD,
        &[
            ("\"${file}\"", "$file", "SC2086"),
            // Optional checks are on:
            ("\"${file}\"", "\"$file\"", "SC2250"),
        ],
        on_file(dir.path(), "script", lint),
    );
    let path = dir.path();
    let daily =
        |mode| move |text: &str| check(&sample(path, "/etc/cron.daily/sync-cert", mode, text));

    assert_rejects(
        GOOD,
        &[
            ("#!/bin/sh\n", "", "no shebang"),
            ("#!/bin/sh", "#!/usr/bin/python3", "only sh, dash and bash"),
        ],
        daily(0o755),
    );
    let error = daily(0o644)(GOOD).unwrap_err();
    assert!(error.contains("must be executable"), "{error}");
}

#[test]
fn a_hookscript_must_be_an_executable_script_in_a_snippets_storage() {
    let dir = scratch();
    let storage = storage_cfg::parse(
        "dir: local\n\tpath /var/lib/vz\n\tcontent iso,snippets\n\n\
         dir: images\n\tpath /srv/images\n\tcontent images\n\n\
         zfspool: local-zfs\n\tpool rpool/data\n",
    )
    .expect("storage.cfg sample");
    let hook = |mode| {
        vec![sample(
            dir.path(),
            "/var/lib/vz/snippets/virtiofsd.sh",
            mode,
            GOOD,
        )]
    };
    let line = "hookscript: local:snippets/virtiofsd.sh";
    hookscript(line, Some(&storage), &hook(0o755)).expect("a valid hookscript");
    hookscript(line, None, &hook(0o755)).expect("`local` without storage.cfg");
    for (line, mode, expected) in [
        (line, 0o644, "executable"),
        (
            "hookscript: local:snippets/other.sh",
            0o755,
            "no bundle carries",
        ),
        (
            "hookscript: images:snippets/virtiofsd.sh",
            0o755,
            "does not hold snippets",
        ),
        (
            "hookscript: local-zfs:snippets/virtiofsd.sh",
            0o755,
            "not a directory",
        ),
        (
            "hookscript: backup:snippets/virtiofsd.sh",
            0o755,
            "not in storage.cfg",
        ),
        (
            "hookscript: local:virtiofsd.sh",
            0o755,
            "not STORAGE:snippets/NAME",
        ),
    ] {
        let error = hookscript(line, Some(&storage), &hook(mode)).unwrap_err();
        assert!(error.contains(expected), "{line}: {error}");
    }
}
