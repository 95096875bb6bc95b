//! The actions of out/'s files. Each is a command line that `sh -c` runs on
//! the host, so it parses with dash and passes shellcheck. And each
//! converges on its file: carried out on a temporary root through the
//! stand-ins of `common::actions`, it succeeds with its file there and with
//! it gone, as after a rollback of the push that wrote it; a script's action
//! then runs nothing, and the firewall's masks pve-firewall while its marker
//! exists and unmasks it (and starts it, being enabled) once it is gone.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::{artifacts, check_all, run, scratch, write, Artifact};
use crate::common::actions::StandIns;

const MARKER: &str = "/etc/lugc/pve-firewall.masked";
const FIREWALL: &str = "pve-firewall.service";
const RUNNING: &str = "enabled unmasked active";

fn with_actions() -> Vec<Artifact> {
    let found: Vec<Artifact> = artifacts()
        .into_iter()
        .filter(|artifact| artifact.action.is_some())
        .collect();
    assert!(!found.is_empty(), "no file in out/ has an action");
    found
}

/// `dash -n` and shellcheck (every default check, `--norc`) on `action`.
fn check_syntax(dir: &Path, action: &str) -> Result<(), String> {
    let file = write(dir, "action.sh", &format!("#!/bin/sh\n{action}\n"));
    run("dash", &[Path::new("-n"), &file]).ok()?;
    run(
        "shellcheck",
        &[Path::new("--norc"), Path::new("-s"), Path::new("sh"), &file],
    )
    .ok()
}

#[test]
fn every_action_parses_and_passes_shellcheck() {
    let dir = scratch();
    let actions: BTreeSet<String> = with_actions()
        .into_iter()
        .filter_map(|artifact| artifact.action)
        .collect();
    let failures: Vec<String> = actions
        .iter()
        .filter_map(|action| check_syntax(dir.path(), action).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let error = check_syntax(dir.path(), "if [ -e /x ]; then /x").unwrap_err();
    assert!(error.contains("dash"), "{error}");
    let error = check_syntax(dir.path(), "[ -e $1 ] && rm -f $1").unwrap_err();
    assert!(error.contains("SC2086"), "{error}");
}

/// Carry out `action` on a root of its own holding `target` (with `bytes`
/// and `mode`), then with `target` gone; returns what the stand-ins logged
/// without the file.
fn converges(
    stand_ins: &StandIns,
    root: &Path,
    (target, bytes, mode): (&str, &[u8], u32),
    action: &str,
) -> Result<Vec<String>, String> {
    let file = root.join(target.trim_start_matches('/'));
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(&file, bytes).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(mode)).unwrap();
    if !stand_ins.run(root, action) {
        return Err(format!("`{action}` fails with {target} there"));
    }
    fs::remove_file(&file).unwrap();
    let host = root.file_name().unwrap().to_str().unwrap();
    let mine = |line: &String| line.starts_with(&format!("{host}: "));
    let logged = stand_ins.commands().into_iter().filter(mine).count();
    if !stand_ins.run(root, action) {
        return Err(format!(
            "`{action}` fails once {target} is gone, as after a rollback of the push that wrote it"
        ));
    }
    Ok(stand_ins
        .commands()
        .into_iter()
        .filter(mine)
        .skip(logged)
        .collect())
}

#[test]
fn every_action_succeeds_with_its_file_and_without_it() {
    let dir = scratch();
    let stand_ins = StandIns::install(dir.path(), &dir.path().join("hosts"));
    check_all(&with_actions(), |artifact| {
        let name = format!("{}{}", artifact.bundle, artifact.target.replace('/', "_"));
        let root = dir.path().join("hosts").join(name);
        let action = artifact.action.as_deref().unwrap();
        let bytes = artifact.bytes();
        let absent = converges(
            &stand_ins,
            &root,
            (&artifact.target, &bytes, artifact.mode),
            action,
        )?;
        // A script run as its own action runs nothing once it is gone.
        if action.contains(&format!("then {}; fi", artifact.target)) && !absent.is_empty() {
            return Err(format!("without the script it ran {absent:?}"));
        }
        Ok(())
    });
    // Actions that run their file whatever, as lugc's did before, fail.
    let script = (
        "/etc/apt/lugc-packages",
        &b"#!/bin/sh\napt-get update\n"[..],
        0o755,
    );
    let root = dir.path().join("hosts/old-packages");
    let error = converges(&stand_ins, &root, script, "/etc/apt/lugc-packages").unwrap_err();
    assert!(
        error.contains("once /etc/apt/lugc-packages is gone"),
        "{error}"
    );
}

/// The firewall's action on `host`, whose pve-firewall was `was` before the
/// marker came: masked and stopped with it, back to `was` without it.
fn follows_marker(
    stand_ins: &StandIns,
    root: &Path,
    action: &str,
    was: &str,
) -> Result<(), String> {
    let host = root.file_name().unwrap().to_str().unwrap();
    stand_ins.set_unit(host, FIREWALL, was);
    let enabled = was.split(' ').next().unwrap();
    let file = root.join(MARKER.trim_start_matches('/'));
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(&file, "# masked\n").unwrap();
    if !stand_ins.run(root, action) {
        return Err("it fails with the marker there".to_owned());
    }
    let masked = stand_ins.unit(host, FIREWALL);
    if masked != format!("{enabled} masked inactive") {
        return Err(format!("with the marker, pve-firewall is `{masked}`"));
    }
    fs::remove_file(&file).unwrap();
    if !stand_ins.run(root, action) {
        return Err("it fails once the marker is gone".to_owned());
    }
    let after = stand_ins.unit(host, FIREWALL);
    if after != was {
        return Err(format!(
            "pve-firewall was `{was}` before the marker and is `{after}` once it is gone"
        ));
    }
    Ok(())
}

#[test]
fn the_firewall_action_masks_while_the_marker_exists_and_unmasks_once_it_is_gone() {
    let dir = scratch();
    let stand_ins = StandIns::install(dir.path(), &dir.path().join("hosts"));
    let markers: Vec<Artifact> = with_actions()
        .into_iter()
        .filter(|artifact| artifact.target == MARKER)
        .collect();
    assert!(!markers.is_empty(), "no {MARKER} in out/");
    check_all(&markers, |artifact| {
        let action = artifact.action.as_deref().unwrap();
        for was in [RUNNING, "disabled unmasked inactive"] {
            let root = dir.path().join("hosts").join(format!(
                "{}-{}",
                artifact.bundle,
                was.split(' ').next().unwrap()
            ));
            follows_marker(&stand_ins, &root, action, was)?;
        }
        Ok(())
    });
    let old = "systemctl disable --now pve-firewall.service && systemctl mask pve-firewall.service";
    let root = dir.path().join("hosts/old-firewall");
    let error = follows_marker(&stand_ins, &root, old, RUNNING).unwrap_err();
    assert!(error.contains("is `disabled masked inactive`"), "{error}");
}

/// The stand-in systemctl, on which the checks above rely, keeps a unit's
/// enablement through a mask as systemd does, and refuses to start a masked unit.
#[test]
fn the_stand_in_systemctl_masks_and_unmasks_as_systemd_does() {
    let dir = scratch();
    let stand_ins = StandIns::install(dir.path(), &dir.path().join("hosts"));
    let root = dir.path().join("hosts/pve-5");
    fs::create_dir_all(root.join("etc/lugc")).unwrap();
    stand_ins.set_unit("pve-5", FIREWALL, RUNNING);
    let run = |action: &str| stand_ins.run(&root, action);
    assert!(run("systemctl mask pve-firewall.service"));
    assert_eq!(stand_ins.unit("pve-5", FIREWALL), "enabled masked active");
    assert!(!run("systemctl start pve-firewall.service"));
    assert!(!run("systemctl is-enabled --quiet pve-firewall.service"));
    assert!(run(
        "systemctl unmask pve-firewall.service && systemctl is-enabled --quiet pve-firewall.service"
    ));
    assert!(run("systemctl disable --now pve-firewall.service"));
    assert_eq!(
        stand_ins.unit("pve-5", FIREWALL),
        "disabled unmasked inactive"
    );
    assert!(run("systemctl enable --now pve-firewall.service"));
    assert_eq!(stand_ins.unit("pve-5", FIREWALL), RUNNING);
    // Paths are the root's; a command without a stand-in is not found.
    assert!(run("[ -d /etc/lugc ]"));
    assert!(!run("rm -r /etc/lugc"));
    assert!(root.join("etc/lugc").is_dir());
    assert!(
        !stand_ins.run(Path::new("/"), "true"),
        "only below the test's roots"
    );
}
