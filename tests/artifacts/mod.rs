//! Every generated artifact checked by the real Debian tool that reads it.
//!
//! Each submodule owns one kind of file: a `check` function that runs the tool
//! on one file, a positive test that runs it on every file of that kind in the
//! committed out/, and a negative test proving the check rejects a broken file
//! (a validator that cannot fail checks nothing). Tools run through [`run`] or,
//! when they would touch the machine (mounts, locks, state files, network),
//! through [`run_isolated`] in fresh mount and network namespaces.

mod actions;
mod apt;
mod chrony;
mod cron;
mod health;
mod hosts;
mod interfaces;
mod iptables;
mod machine;
mod packages;
mod qemu_server;
mod scripts;
mod storage;
pub(crate) mod systemd;
mod virtiofsd;

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use lugc::manifest::Manifest;

use crate::common::{repo_root, require_tool};

/// A kind of generated file, and which target paths belong to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    AptSources,
    Chrony,
    CronD,
    Hostname,
    Hosts,
    Interfaces,
    RulesV4,
    Script,
    StorageCfg,
    Unit,
    /// A VM's config, checked against qemu-server's schema.
    VmConfig,
}

/// The kinds the committed out/ holds today: a positive test fails when it
/// finds no file of one of these, so a walker that silently matches nothing,
/// or an artifact that disappears, does not pass unnoticed.
pub const EXPECTED: &[Kind] = &[
    Kind::AptSources,
    Kind::Chrony,
    Kind::CronD,
    Kind::Hostname,
    Kind::Hosts,
    Kind::Interfaces,
    Kind::RulesV4,
    Kind::Script,
    Kind::StorageCfg,
    Kind::Unit,
    Kind::VmConfig,
];

const UNIT_SUFFIXES: &[&str] = &[
    ".service",
    ".timer",
    ".socket",
    ".mount",
    ".automount",
    ".path",
    ".target",
    ".slice",
];

impl Kind {
    pub fn matches(self, artifact: &Artifact) -> bool {
        let target = artifact.target.as_str();
        match self {
            Kind::AptSources => {
                target == "/etc/apt/sources.list" || target.starts_with("/etc/apt/sources.list.d/")
            }
            Kind::Chrony => {
                target == "/etc/chrony/chrony.conf"
                    || (target.starts_with("/etc/chrony/conf.d/") && target.ends_with(".conf"))
            }
            Kind::CronD => target.starts_with("/etc/cron.d/"),
            Kind::Hostname => target == "/etc/hostname",
            Kind::Hosts => target == "/etc/hosts",
            Kind::Interfaces => {
                target == "/etc/network/interfaces"
                    || target.starts_with("/etc/network/interfaces.d/")
            }
            Kind::RulesV4 => target == "/etc/iptables/rules.v4",
            Kind::Script => artifact.mode & 0o111 != 0 || artifact.bytes().starts_with(b"#!"),
            Kind::StorageCfg => target == "/etc/pve/storage.cfg",
            Kind::Unit => {
                target.starts_with("/etc/systemd/system/")
                    && UNIT_SUFFIXES.iter().any(|suffix| target.ends_with(suffix))
            }
            Kind::VmConfig => {
                target.starts_with("/etc/pve/")
                    && target.contains("/qemu-server/")
                    && target.ends_with(".conf")
            }
        }
    }
}

/// One file of a bundle in the committed out/, with what its MANIFEST says.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// `cluster` or a host name.
    pub bundle: String,
    /// Absolute path on the host.
    pub target: String,
    /// The file under out/.
    pub file: PathBuf,
    /// Mode from the MANIFEST (out/ itself does not carry it).
    pub mode: u32,
    /// The MANIFEST's action, run on the host with `sh -c` when the file changes.
    pub action: Option<String>,
}

impl Artifact {
    pub fn bytes(&self) -> Vec<u8> {
        fs::read(&self.file).unwrap_or_else(|e| panic!("read {}: {e}", self.file.display()))
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.bytes()).unwrap_or_else(|_| panic!("{self} is not UTF-8"))
    }

    /// The file name of the target path.
    pub fn name(&self) -> &str {
        self.target.rsplit('/').next().unwrap_or_default()
    }
}

impl fmt::Display for Artifact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "out/{}{}", self.bundle, self.target)
    }
}

/// Every file listed by a MANIFEST in the committed out/.
pub fn artifacts() -> Vec<Artifact> {
    let out = repo_root().join("out");
    let mut found = Vec::new();
    for entry in fs::read_dir(&out).unwrap_or_else(|e| panic!("read {}: {e}", out.display())) {
        let bundle_dir = entry.expect("read out/").path();
        let manifest = bundle_dir.join("MANIFEST");
        if !manifest.is_file() {
            continue;
        }
        let text = fs::read_to_string(&manifest).expect("read MANIFEST");
        let parsed =
            Manifest::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
        for entry in parsed.entries {
            found.push(Artifact {
                bundle: parsed.bundle.clone(),
                file: bundle_dir.join(entry.path.trim_start_matches('/')),
                target: entry.path,
                mode: entry.mode,
                action: entry.action,
            });
        }
    }
    found.sort_by(|a, b| (&a.bundle, &a.target).cmp(&(&b.bundle, &b.target)));
    found
}

/// The files of one kind in the committed out/; fails when a kind listed in
/// [`EXPECTED`] has none.
pub fn of_kind(kind: Kind) -> Vec<Artifact> {
    let files: Vec<Artifact> = artifacts()
        .into_iter()
        .filter(|artifact| kind.matches(artifact))
        .collect();
    let missing: Vec<String> = files
        .iter()
        .filter(|a| !a.file.is_file())
        .map(Artifact::to_string)
        .collect();
    assert!(
        missing.is_empty(),
        "listed in a MANIFEST, missing: {missing:?}"
    );
    assert!(
        !files.is_empty() || !EXPECTED.contains(&kind),
        "no {kind:?} file found in out/, but EXPECTED lists the kind"
    );
    files
}

/// Run `check` on every file and report all failures at once.
pub fn check_all(files: &[Artifact], check: impl Fn(&Artifact) -> Result<(), String>) {
    let failures: Vec<String> = files
        .iter()
        .filter_map(|artifact| check(artifact).err().map(|e| format!("{artifact}:\n{e}")))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// What a tool did: exit status and everything it printed.
#[derive(Debug)]
pub struct Outcome {
    pub command: String,
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Ok when the tool exited 0, else its output as the error.
    pub fn ok(&self) -> Result<(), String> {
        if self.success {
            Ok(())
        } else {
            Err(self.to_string())
        }
    }

    /// Every line the tool printed on stdout and stderr.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.stdout
            .lines()
            .chain(self.stderr.lines())
            .filter(|line| !line.trim().is_empty())
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = if self.success { "succeeded" } else { "failed" };
        write!(f, "`{}` {status}", self.command)?;
        for line in self.lines() {
            write!(f, "\n  {line}")?;
        }
        Ok(())
    }
}

/// Run a tool (which must be installed) and capture its output.
pub fn run<S: AsRef<OsStr>>(tool: &str, args: &[S]) -> Outcome {
    let program = require_tool(tool);
    let args: Vec<OsString> = args.iter().map(|a| a.as_ref().to_owned()).collect();
    spawn(Command::new(program).args(&args), tool, &args)
}

/// A change to the file system view of an isolated run, applied in order.
pub enum Mount<'a> {
    /// An empty tmpfs over a directory.
    Tmpfs(&'a str),
    /// `mkdir -p` (inside an earlier tmpfs).
    Dir(&'a str),
    /// A file or directory bind-mounted over another.
    Bind { source: &'a Path, target: &'a str },
}

/// Run a tool in new mount and network namespaces (`unshare -m -n`, plus `-r`
/// when not root) with a tmpfs over /run and /var/tmp and then `mounts`.
/// Every mount uses `mount -n`, so nothing is recorded under the host's
/// /run/mount; the namespaces vanish with the process, so locks, state files,
/// links and bytecode never reach the machine.
pub fn run_isolated<S: AsRef<OsStr>>(mounts: &[Mount], tool: &str, args: &[S]) -> Outcome {
    let program = require_tool(tool);
    require_tool("unshare");
    require_tool("mount");
    let mut script =
        String::from("set -eu\nmount -n -t tmpfs tmpfs /run\nmount -n -t tmpfs tmpfs /var/tmp\n");
    for mount in mounts {
        script += &match mount {
            Mount::Tmpfs(dir) => format!("mount -n -t tmpfs tmpfs {}\n", quote(dir)),
            Mount::Dir(dir) => format!("mkdir -p {}\n", quote(dir)),
            Mount::Bind { source, target } => format!(
                "mount -n --bind {} {}\n",
                quote(&source.to_string_lossy()),
                quote(target)
            ),
        };
    }
    script += "exec \"$@\"\n";
    let mut command = Command::new("unshare");
    if !is_root() {
        command.arg("-r");
    }
    command
        .args(["-m", "-n", "--", "sh", "-c", &script, "sh"])
        .arg(&program)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let args: Vec<OsString> = args.iter().map(|a| a.as_ref().to_owned()).collect();
    command.args(&args);
    spawn(&mut command, tool, &args)
}

fn spawn(command: &mut Command, tool: &str, args: &[OsString]) -> Outcome {
    let shown = std::iter::once(tool.to_owned())
        .chain(args.iter().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ");
    let output = command
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap_or_else(|e| panic!("run `{shown}`: {e}"));
    Outcome {
        command: shown,
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn is_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A scratch directory for broken samples and patched tool files. It lives
/// under cargo's target directory, never under /run or /var/tmp, which the
/// isolated runs cover with a tmpfs.
pub fn scratch() -> tempfile::TempDir {
    let parent = env!("CARGO_TARGET_TMPDIR");
    assert!(
        !["/run/", "/var/tmp/"].iter().any(|p| parent.starts_with(p)),
        "the target directory {parent} would be hidden from isolated runs"
    );
    tempfile::Builder::new()
        .prefix("lugc-artifacts-")
        .tempdir_in(parent)
        .expect("scratch directory")
}

/// Assert that `check` accepts `good` and rejects each break of it: `from`
/// (present once in `good`) replaced by `to` must give an error containing
/// `expect`. Every miss is reported at once.
pub fn assert_rejects(
    good: &str,
    breaks: &[(&str, &str, &str)],
    check: impl Fn(&str) -> Result<(), String>,
) {
    check(good).unwrap_or_else(|e| panic!("the good sample is rejected:\n{e}"));
    let mut missed = Vec::new();
    for (from, to, expect) in breaks {
        assert_eq!(good.matches(from).count(), 1, "{from:?} must occur once");
        match check(&good.replacen(from, to, 1)) {
            Ok(()) => missed.push(format!("{from:?} -> {to:?}: accepted")),
            Err(error) if !error.contains(expect) => {
                missed.push(format!(
                    "{from:?} -> {to:?}: error lacks {expect:?}:\n{error}"
                ));
            }
            Err(_) => {}
        }
    }
    assert!(missed.is_empty(), "{}", missed.join("\n"));
}

/// A check of a file as a check of text: the text is written to `name` in
/// `dir` first (some tools care about the name).
pub fn on_file<'a>(
    dir: &'a Path,
    name: &'a str,
    check: impl Fn(&Path) -> Result<(), String> + 'a,
) -> impl Fn(&str) -> Result<(), String> + 'a {
    move |text| check(&write(dir, name, text))
}

/// An executable `#!/bin/sh` script `name` in `dir` with `body`: a stand-in
/// for a host's command, found first on a test's PATH.
pub fn stand_in(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = write(dir, name, &format!("#!/bin/sh\n{body}"));
    let mut permissions = fs::metadata(&path).expect("stand-in").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    fs::set_permissions(&path, permissions).expect("chmod stand-in");
    path
}

/// Write `contents` to `name` in `dir` and return the path.
pub fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}
