//! The virtiofsd hookscript run in each phase qemu-server calls it in, with
//! stand-ins for systemctl and systemd-run that record their arguments, in
//! fresh namespaces with tmpfs over /run and over the shared directory's
//! parent, so nothing on the machine is started, stopped or removed.
//!
//! It must behave as the LUG's own script (ustclug/documentations,
//! docs/assets/pve/virtiofsd.sh): in pre-start, stop a unit of the same name
//! left over from an earlier start (whether or not one exists) and remove the
//! stale socket before `systemd-run --collect`; do nothing in other phases or
//! for other VMs. The shared directory missing stops the VM start with a
//! message naming it.

use std::fs;
use std::path::Path;

use super::{check_all, of_kind, run_isolated, scratch, stand_in, write, Kind, Mount, Outcome};

/// A stand-in that appends its name and arguments to `$STANDIN_LOG`, notes
/// whether the VM's socket is still there, and exits with `$<NAME>_EXIT`.
fn recorder(bin: &Path, name: &str, exit_var: &str) {
    stand_in(
        bin,
        name,
        &format!(
            "printf '%s\\n' \"{name} $*\" >>\"$STANDIN_LOG\"\n\
             if [ -e \"$SOCKET\" ]; then echo 'socket still there' >>\"$STANDIN_LOG\"; fi\n\
             exit \"${{{exit_var}:-0}}\"\n"
        ),
    );
}

/// One VM's share as the hookscript names it, `  VMID) shared_dir="DIR"; set -- OPTIONS ;;`:
/// the VM id, the directory and virtiofsd's further options.
fn shares(script: &str) -> Vec<(String, String, String)> {
    script
        .lines()
        .filter_map(|line| {
            let (vmid, rest) = line.trim().split_once(") shared_dir=\"")?;
            let (dir, options) = rest.strip_suffix(" ;;")?.split_once("\"; set --")?;
            Some((vmid.to_owned(), dir.to_owned(), options.trim().to_owned()))
        })
        .collect()
}

/// How the world looks when qemu-server runs the hook.
struct Setup<'a> {
    /// Whether the shared directory exists.
    shared_dir: bool,
    /// Exit status of `systemctl` (5: no such unit) and of `systemd-run`.
    systemctl: u8,
    systemd_run: u8,
    args: &'a [&'a str],
}

const NORMAL: Setup = Setup {
    shared_dir: true,
    systemctl: 5,
    systemd_run: 0,
    args: &[],
};

/// Run `hook` with `setup.args`, a stale socket of `vmid` in /run; returns
/// the outcome and the stand-ins' log.
fn run_hook(hook: &Path, vmid: &str, dir: &str, setup: &Setup) -> (Outcome, Vec<String>) {
    let scratch = scratch();
    let bin = scratch.path().join("bin");
    fs::create_dir(&bin).unwrap();
    recorder(&bin, "systemctl", "SYSTEMCTL_EXIT");
    recorder(&bin, "systemd-run", "SYSTEMD_RUN_EXIT");
    let log = scratch.path().join("log");
    let socket = format!("/run/virtiofsd-{vmid}.sock");
    let top = format!(
        "/{}",
        dir.trim_start_matches('/').split('/').next().unwrap()
    );
    let mut mounts = vec![Mount::Tmpfs(&top)];
    if setup.shared_dir {
        mounts.push(Mount::Dir(dir));
    }
    let script = format!(
        "touch {socket} {socket}.pid\n\
         export PATH={bin}:/usr/bin:/bin STANDIN_LOG={log} SOCKET={socket}\n\
         export SYSTEMCTL_EXIT={} SYSTEMD_RUN_EXIT={}\n\
         sh {hook} \"$@\"\n\
         status=$?\n\
         if [ -e {socket} ] || [ -e {socket}.pid ]; then echo 'socket left' >>{log}; fi\n\
         exit $status\n",
        setup.systemctl,
        setup.systemd_run,
        bin = bin.display(),
        log = log.display(),
        hook = hook.display(),
    );
    let mut args = vec!["-c", script.as_str(), "hook"];
    args.extend(setup.args);
    let outcome = run_isolated(&mounts, "sh", &args);
    let calls = fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    (outcome, calls)
}

/// Run the hook in every phase qemu-server uses and compare what it did with
/// what it must do.
fn check(hook: &Path, vmid: &str, dir: &str, options: &str) -> Result<(), String> {
    let mut problems = Vec::new();
    let mut expect = |setup: Setup, success: bool, want: &[String], stderr: &str| {
        let (outcome, calls) = run_hook(hook, vmid, dir, &setup);
        let args = setup.args.join(" ");
        if outcome.success != success {
            problems.push(format!(
                "`{args}` must {}: {outcome}",
                if success { "succeed" } else { "fail" }
            ));
        }
        if calls != want {
            problems.push(format!("`{args}` ran {calls:?}, not {want:?}"));
        }
        if !outcome.stderr.contains(stderr) {
            problems.push(format!("`{args}` must say {stderr:?}: {outcome}"));
        }
    };
    let stop = format!("systemctl stop virtiofsd-{vmid}.service");
    let start = format!(
        "systemd-run --collect --unit=virtiofsd-{vmid} /usr/libexec/virtiofsd --syslog \
         --socket-path /run/virtiofsd-{vmid}.sock --shared-dir {dir} {options}"
    );
    let start = start.trim_end().to_owned();
    let restart = [stop, "socket still there".to_owned(), start];
    let untouched = ["socket left".to_owned()];
    let pre_start = [vmid, "pre-start"];
    // A leftover unit (systemctl stop succeeds) or none (it fails): the same.
    for systemctl in [0, 5] {
        expect(
            Setup {
                systemctl,
                args: &pre_start,
                ..NORMAL
            },
            true,
            &restart,
            "",
        );
    }
    // virtiofsd not started: the VM does not start either.
    expect(
        Setup {
            systemd_run: 1,
            args: &pre_start,
            ..NORMAL
        },
        false,
        &restart,
        "",
    );
    let missing = format!("VM {vmid}: shared directory {dir} does not exist");
    expect(
        Setup {
            shared_dir: false,
            args: &pre_start,
            ..NORMAL
        },
        false,
        &untouched,
        &missing,
    );
    for phase in ["post-start", "pre-stop", "post-stop"] {
        expect(
            Setup {
                args: &[vmid, phase],
                ..NORMAL
            },
            true,
            &untouched,
            "",
        );
    }
    expect(
        Setup {
            args: &[vmid, "pre-migrate"],
            ..NORMAL
        },
        false,
        &untouched,
        "unknown phase",
    );
    expect(
        Setup {
            args: &["99999", "pre-start"],
            ..NORMAL
        },
        true,
        &untouched,
        "",
    );
    expect(
        Setup {
            args: &[vmid],
            ..NORMAL
        },
        false,
        &untouched,
        "usage",
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[test]
fn the_hookscript_restarts_virtiofsd_cleanly_and_does_nothing_else() {
    let hooks: Vec<_> = of_kind(Kind::Script)
        .into_iter()
        .filter(|a| a.target == "/var/lib/vz/snippets/virtiofsd.sh")
        .collect();
    assert!(!hooks.is_empty(), "no virtiofsd hookscript in out/");
    check_all(&hooks, |hook| {
        let shares = shares(&hook.text());
        if shares.is_empty() {
            return Err("no share".to_owned());
        }
        shares
            .iter()
            .try_for_each(|(vmid, dir, options)| check(&hook.file, vmid, dir, options))
    });
}

/// The hookscript lugc rendered before this check (bash, no stop, no socket
/// removal, no check of the directory) must fail it.
#[test]
fn a_hookscript_that_leaves_the_old_unit_or_a_missing_directory_is_rejected() {
    let dir = scratch();
    let old = write(
        dir.path(),
        "virtiofsd.sh",
        "#!/bin/sh\nset -eu\nvmid=\"${1:?}\"\nphase=\"${2:?}\"\n\
         case \"$vmid\" in 230) d=/srv/mirrorlog ;; *) exit 0 ;; esac\n\
         if [ \"$phase\" = pre-start ]; then\n\
         systemd-run --collect --unit=\"virtiofsd-$vmid\" /usr/libexec/virtiofsd \
         --socket-path=\"/run/virtiofsd-$vmid.sock\" --shared-dir=\"$d\" --cache=auto \
         --announce-submounts\nfi\n",
    );
    let error = check(&old, "230", "/srv/mirrorlog", "--announce-submounts").unwrap_err();
    for expected in [
        "`230 pre-start` ran [\"systemd-run",
        "socket still there",
        "must say \"VM 230: shared directory /srv/mirrorlog does not exist\"",
        "`230 pre-migrate` must fail",
    ] {
        assert!(error.contains(expected), "{expected:?} not in:\n{error}");
    }
}
