//! host.sh's commands run as lugc runs them on a host (`sh -c SCRIPT lugc
//! COMMAND ROOT ARGS…`), here directly against temporary roots, without
//! ssh: what each prints, leaves behind and exits with (the codes
//! `lugc::host::script` names). `revert` has a module of its own.

mod commands;
mod revert;

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use lugc::host::HOST_SH;
use tempfile::TempDir;

/// A temporary directory standing for a host's `/`.
pub struct Root {
    dir: TempDir,
}

impl Root {
    pub fn new() -> Root {
        let dir = tempfile::Builder::new()
            .prefix("lugc-host-")
            .tempdir()
            .expect("tempdir");
        Root { dir }
    }

    /// The root as `hold` resolves it: absolute, no link.
    pub fn root(&self) -> String {
        fs::canonicalize(self.dir.path())
            .expect("canonical root")
            .display()
            .to_string()
    }

    /// `relative` (no leading `/`) below the root.
    pub fn at(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// lugc's record `name` (below /var/lib/lugc).
    pub fn state(&self, name: &str) -> PathBuf {
        self.at("var/lib/lugc").join(name)
    }

    /// A file below the root with `mode`, its directories created.
    pub fn write(&self, relative: &str, bytes: &[u8], mode: u32) -> PathBuf {
        let path = self.at(relative);
        fs::create_dir_all(path.parent().expect("a parent")).expect("create directories");
        fs::write(&path, bytes).expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
        path
    }

    pub fn read(&self, relative: &str) -> String {
        fs::read_to_string(self.at(relative)).unwrap_or_else(|e| panic!("read {relative}: {e}"))
    }

    /// host.sh `command` with `args` and `input`, as lugc runs it.
    pub fn run(&self, command: &str, args: &[&str], input: &[u8]) -> Output {
        let mut child = self.spawn(command, args);
        let stdin = child.stdin.take();
        if let Some(mut stdin) = stdin {
            // A command that fails before it reads its input closes it.
            let _ = std::io::Write::write_all(&mut stdin, input);
        }
        child.wait_with_output().expect("host.sh ran")
    }

    /// host.sh `command` started with its input open (lugc's connection) and its output piped.
    pub fn spawn(&self, command: &str, args: &[&str]) -> Child {
        host_sh(command, &self.root(), args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sh runs")
    }

    /// host.sh `command`, which must succeed: its standard output.
    pub fn ok(&self, command: &str, args: &[&str], input: &[u8]) -> String {
        let output = self.run(command, args, input);
        assert!(
            output.status.success(),
            "{command}: {:?}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8 output")
    }
}

/// `sh -c HOST_SH lugc COMMAND ROOT ARGS…`.
pub fn host_sh(command: &str, root: &str, args: &[&str]) -> Command {
    let mut sh = Command::new("sh");
    sh.args(["-c", HOST_SH, "lugc", command, root]).args(args);
    sh
}

/// The exit code, and stderr for the assertion's message.
pub fn exit(output: &Output) -> (Option<i32>, String) {
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// lugc's answer to `disarm`'s `ready`: it confirms push `id`.
pub fn answer(id: &str) -> Vec<u8> {
    format!("confirm {id}\n").into_bytes()
}

/// A stand-in action runner: appends its argument to `log`, then runs it with sh.
pub fn runner(dir: &Path, log: &Path) -> String {
    let script = dir.join("runner.sh");
    fs::write(
        &script,
        format!(
            "printf '%s\\n' \"$1\" >> '{}'\nexec sh -c \"$1\"\n",
            log.display()
        ),
    )
    .expect("write runner");
    format!("sh {}", script.display())
}
