//! Shared test fixtures: a temporary copy of the fleet and a hermetic `lugc` command.

#![allow(dead_code)]

pub mod actions;
pub mod network;
pub mod snapshot;
pub mod sshd;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

/// The repository root (the workspace).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("compiler/ has a parent")
        .to_path_buf()
}

/// A temporary directory holding cluster.ncl, lib/ and facts/, copied from the repository.
pub struct Fixture {
    dir: TempDir,
}

impl Fixture {
    /// The committed fleet: cluster.ncl, lib/ and facts/.
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("lugc-test-")
            .tempdir()
            .expect("tempdir");
        copy_tree(&repo_root().join("lib"), &dir.path().join("lib"));
        copy_tree(&repo_root().join("facts"), &dir.path().join("facts"));
        fs::copy(
            repo_root().join("cluster.ncl"),
            dir.path().join("cluster.ncl"),
        )
        .expect("copy cluster.ncl");
        Fixture { dir }
    }

    /// The committed lib/ with `source` as cluster.ncl.
    pub fn with_cluster(source: &str) -> Self {
        let fixture = Fixture::new();
        fixture.write("cluster.ncl", source);
        fixture
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn out(&self) -> PathBuf {
        self.path().join("out")
    }

    pub fn read(&self, relative: &str) -> String {
        fs::read_to_string(self.path().join(relative))
            .unwrap_or_else(|e| panic!("read {relative}: {e}"))
    }

    pub fn write(&self, relative: &str, contents: &str) {
        let path = self.path().join(relative);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, contents).expect("write");
    }

    /// Replace the one occurrence of `from` in a file; panics if it is not there exactly once.
    pub fn edit(&self, relative: &str, from: &str, to: &str) {
        let text = self.read(relative);
        assert_eq!(
            text.matches(from).count(),
            1,
            "`{from}` must occur once in {relative}"
        );
        self.write(relative, &text.replacen(from, to, 1));
    }

    /// `lugc` run in the fixture with a hermetic environment.
    pub fn lugc(&self) -> assert_cmd::Command {
        lugc_in(self.path())
    }

    /// Run `lugc ARGS` in the fixture and return its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.lugc().args(args).output().expect("run lugc")
    }

    /// Every file under `relative` with its bytes.
    pub fn tree(&self, relative: &str) -> BTreeMap<PathBuf, Vec<u8>> {
        tree(&self.path().join(relative))
    }
}

/// A hermetic `lugc` command: empty environment but PATH, no colour, working directory `dir`.
pub fn lugc_in(dir: &Path) -> assert_cmd::Command {
    assert_cmd::Command::from_std(lugc_std(dir))
}

/// `lugc_in` as a plain command, for tests that spawn lugc and act while it runs.
pub fn lugc_std(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lugc"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("HOME", dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .current_dir(dir);
    command
}

/// Run `git ARGS` in `dir` with a hermetic environment, a fixed author and
/// date; panics when git fails.
pub fn git(dir: &Path, args: &[&str]) {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "lugc test")
        .env("GIT_AUTHOR_EMAIL", "test@lugc.invalid")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_NAME", "lugc test")
        .env("GIT_COMMITTER_EMAIL", "test@lugc.invalid")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .output()
        .expect("run git");
    assert!(output.status.success(), "git {args:?}: {}", stderr(&output));
}

/// Every regular file under `root` (relative path → bytes); empty if `root` is missing.
pub fn tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    if !root.exists() {
        return BTreeMap::new();
    }
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(|entry| entry.expect("walk"))
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| {
            let relative = entry
                .path()
                .strip_prefix(root)
                .expect("under root")
                .to_path_buf();
            (relative, fs::read(entry.path()).expect("read"))
        })
        .collect()
}

pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("walk");
        let target = to.join(entry.path().strip_prefix(from).expect("under from"));
        if entry.file_type().is_dir() {
            fs::create_dir_all(&target).expect("mkdir");
        } else {
            fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// The file lines of a MANIFEST: those after its header, `absent` and `confirm` lines.
pub fn file_lines(manifest: &str) -> impl Iterator<Item = &str> {
    manifest.lines().skip(3).filter(|line| {
        !["absent ", "confirm ", "check "]
            .iter()
            .any(|header| line.starts_with(header))
    })
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Fail unless `tool` is on PATH: .ci/run installs every tool the tests use,
/// so a missing one is a broken setup, never a reason to skip.
pub fn require_tool(tool: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{tool}` is not installed: run .ci/run, which installs every tool the tests need"
            )
        })
}

/// storage.cfg as lib/render/storage_cfg.ncl renders `table`, the Nickel
/// text of a storage table (checked by lib/'s Storage contracts first), or
/// the evaluation's errors.
pub fn render_storage_cfg(table: &str) -> Result<String, lugc::diagnostic::Diagnostics> {
    static LIB: std::sync::OnceLock<TempDir> = std::sync::OnceLock::new();
    let lib = LIB.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(&repo_root().join("lib"), &dir.path().join("lib"));
        dir
    });
    let source = format!(
        "let render = import \"lib/render/storage_cfg.ncl\" in\n\
         let Table = (import \"lib/contracts/storage.ncl\").Table in\n\
         let fleet = {{ domain = \"vm.ustclug.org\", ports = {{ pbs = 8007 }}, hosts = {{}}, storage = ({table}) | Table }} in\n\
         {{ hosts = {{}}, cluster = {{ files = {{ \"/etc/pve/storage.cfg\" = {{ content = render fleet, mode = \"0640\", owner = \"root:www-data\" }} }} }} }}\n"
    );
    let file = tempfile::Builder::new()
        .suffix(".ncl")
        .tempfile_in(lib.path())
        .unwrap();
    fs::write(file.path(), &source).unwrap();
    lugc::eval::evaluate(file.path(), lugc::eval::Detail::Brief).map(|evaluated| {
        evaluated.fleet.cluster.files["/etc/pve/storage.cfg"]
            .content
            .clone()
    })
}
