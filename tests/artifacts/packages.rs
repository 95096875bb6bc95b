//! /etc/apt/lugc-packages, the script that installs the Debian packages a host
//! needs: run with stand-ins for dpkg-query, apt-get and
//! debconf-set-selections on a PATH that holds nothing else, so nothing is
//! installed or queried on the machine. It must install exactly the missing
//! packages (iptables-persistent preseeded not to save the running rules over
//! rules.v4), upgrade nothing, fail when apt-get fails, and run before every
//! other action of its bundle (push runs actions in path order).

use std::fs;
use std::path::Path;

use super::{artifacts, check_all, of_kind, scratch, stand_in, write, Artifact, Kind, Outcome};

const PATH: &str = "/etc/apt/lugc-packages";

/// The packages the script checks: its `set -- …` line.
fn listed(script: &str) -> Vec<String> {
    script
        .lines()
        .find_map(|line| line.strip_prefix("set -- "))
        .map(|list| list.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Run `script` with `installed` reported installed by dpkg-query and
/// `apt-get install` exiting `install_exit`; returns the outcome and every
/// call the stand-ins saw (debconf-set-selections with the lines it read).
fn run(script: &Path, installed: &[&str], install_exit: u8) -> (Outcome, Vec<String>) {
    let dir = scratch();
    let bin = dir.path().join("bin");
    fs::create_dir(&bin).unwrap();
    let log = dir.path().join("log");
    let log = log.display();
    stand_in(
        &bin,
        "dpkg-query",
        &format!(
            "echo \"dpkg-query $*\" >>{log}\n\
             for asked; do :; done\n\
             for package in {}; do\n\
             \x20 if [ \"$package\" = \"$asked\" ]; then printf 'install ok installed'; exit 0; fi\n\
             done\n\
             echo \"dpkg-query: no packages found matching $asked\" >&2\n\
             exit 1\n",
            installed.join(" ")
        ),
    );
    stand_in(
        &bin,
        "apt-get",
        &format!(
            "echo \"apt-get $* (DEBIAN_FRONTEND=${{DEBIAN_FRONTEND:-}})\" >>{log}\n\
             if [ \"$1\" = install ]; then exit {install_exit}; fi\n"
        ),
    );
    stand_in(
        &bin,
        "debconf-set-selections",
        &format!("while read -r line; do echo \"debconf $line\" >>{log}; done\n"),
    );
    let output = std::process::Command::new("/bin/sh")
        .arg(script)
        .env_clear()
        .env("PATH", &bin)
        .output()
        .expect("run /bin/sh");
    let calls = fs::read_to_string(dir.path().join("log"))
        .unwrap_or_default()
        .lines()
        .filter(|line| !line.starts_with("dpkg-query "))
        .map(str::to_owned)
        .collect();
    let outcome = Outcome {
        command: format!("sh {}", script.display()),
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    (outcome, calls)
}

/// What the script must do with nothing, everything, and all but the first
/// package installed, and when apt-get fails.
fn check(script: &Path) -> Result<(), String> {
    let text = fs::read_to_string(script).map_err(|e| e.to_string())?;
    let packages = listed(&text);
    if packages.is_empty() {
        return Err("no `set -- PACKAGES` line".to_owned());
    }
    let names: Vec<&str> = packages.iter().map(String::as_str).collect();
    // Preseeding whenever it installs anything is harmless; what matters is
    // that it comes before iptables-persistent is installed.
    let install = |wanted: &[&str]| {
        let mut calls = Vec::new();
        if names.contains(&"iptables-persistent") {
            for v in ["v4", "v6"] {
                calls.push(format!(
                    "debconf iptables-persistent iptables-persistent/autosave_{v} boolean false"
                ));
            }
        }
        calls.push("apt-get update (DEBIAN_FRONTEND=)".to_owned());
        calls.push(format!(
            "apt-get install --yes --no-install-recommends {} (DEBIAN_FRONTEND=noninteractive)",
            wanted.join(" ")
        ));
        calls
    };
    let mut problems = Vec::new();
    let mut everything = names.clone();
    everything.push("ssacli");
    for (installed, want) in [
        (&[][..], install(&names)),
        (&everything[..], Vec::new()),
        (
            &names[..1],
            if names.len() > 1 {
                install(&names[1..])
            } else {
                Vec::new()
            },
        ),
    ] {
        let (outcome, calls) = run(script, installed, 0);
        if !outcome.success || calls != want {
            problems.push(format!(
                "with {installed:?} installed it ran {calls:?}, not {want:?}: {outcome}"
            ));
        }
        if installed.contains(&"ssacli") && !outcome.stderr.is_empty() {
            problems.push(format!("with everything installed it says: {outcome}"));
        }
    }
    let (outcome, _) = run(script, &[], 100);
    if outcome.success {
        problems.push("a failed apt-get install must fail the action".to_owned());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[test]
fn every_package_script_installs_exactly_what_is_missing() {
    let scripts: Vec<Artifact> = of_kind(Kind::Script)
        .into_iter()
        .filter(|a| a.target == PATH)
        .collect();
    assert!(!scripts.is_empty(), "no {PATH} in out/");
    check_all(&scripts, |script| {
        // It runs while it exists; a rollback that removed it skips it.
        let action = format!("if [ -e {PATH} ]; then {PATH}; fi");
        if script.action.as_deref() != Some(action.as_str()) {
            return Err(format!("its action must run it: {:?}", script.action));
        }
        check(&script.file)
    });
}

/// Push runs the actions of changed files in path order: every other action
/// of the bundle must come after the package script's.
fn runs_first(bundle: &[Artifact]) -> Result<(), String> {
    let late: Vec<&str> = bundle
        .iter()
        .filter(|a| a.action.is_some() && a.target.as_str() < PATH)
        .map(|a| a.target.as_str())
        .collect();
    if late.is_empty() {
        Ok(())
    } else {
        Err(format!("actions of {late:?} would run before {PATH}"))
    }
}

#[test]
fn the_package_script_runs_before_every_other_action() {
    let all = artifacts();
    let bundles: std::collections::BTreeSet<&str> = all
        .iter()
        .filter(|a| a.target == PATH)
        .map(|a| a.bundle.as_str())
        .collect();
    for bundle in bundles {
        let files: Vec<Artifact> = all.iter().filter(|a| a.bundle == bundle).cloned().collect();
        runs_first(&files).unwrap_or_else(|e| panic!("{bundle}: {e}"));
    }
    let sample = |target: &str| Artifact {
        bundle: "sample".to_owned(),
        target: target.to_owned(),
        file: "/dev/null".into(),
        mode: 0o644,
        action: Some("true".to_owned()),
    };
    let error = runs_first(&[sample(PATH), sample("/etc/alternatives/iptables")]).unwrap_err();
    assert!(error.contains("/etc/alternatives/iptables"), "{error}");
}

#[test]
fn a_script_that_upgrades_or_ignores_failures_is_rejected() {
    let dir = scratch();
    let good = "#!/bin/sh\nset -eu\nset -- iptables-persistent virtiofsd\n\
                for package in \"$@\"; do\n  shift\n\
                \x20 status=\"$(dpkg-query --show --showformat=\"\\${Status}\" \"${package}\" 2>/dev/null || true)\"\n\
                \x20 [ \"${status}\" = \"install ok installed\" ] || set -- \"$@\" \"${package}\"\n\
                done\n\
                if [ \"$#\" -gt 0 ]; then\n\
                \x20 printf '%s\\n' 'iptables-persistent iptables-persistent/autosave_v4 boolean false' \
                'iptables-persistent iptables-persistent/autosave_v6 boolean false' | debconf-set-selections\n\
                \x20 apt-get update\n\
                \x20 DEBIAN_FRONTEND=noninteractive apt-get install --yes --no-install-recommends \"$@\"\n\
                fi\n";
    check(&write(dir.path(), "good", good)).expect("the good sample");
    for (from, to, expect) in [
        // Installs (and so upgrades) what is already there.
        (
            "  shift\n",
            "  shift\n  set -- \"$@\" \"${package}\"; continue\n",
            "installed it ran",
        ),
        // Lets iptables-persistent save the running rules over rules.v4.
        (
            "  printf",
            "  true || printf",
            "debconf iptables-persistent",
        ),
        // Goes on when apt-get fails.
        ("\"$@\"\nfi", "\"$@\" || true\nfi", "must fail the action"),
    ] {
        let broken = write(dir.path(), "broken", &good.replacen(from, to, 1));
        let error = check(&broken).expect_err(from);
        assert!(error.contains(expect), "{from:?}: {error}");
    }
}
