//! push::transport: the only code in lugc that spawns `ssh` and `rsync`.
//!
//! A `Remote` is a host as reached over ssh (target, port, `-o` options, the
//! user's own ssh config and agent) plus the root directory the bundle lands
//! under (`/` on a real host, a temporary tree in tests). It runs shell
//! commands there, fetches files with rsync, and puts files with rsync:
//! only the listed paths (`--files-from`), deletions only of listed paths
//! (`--delete-missing-args`), never `--delete`.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::push::error::PushError;

/// Where and how to reach one host.
#[derive(Debug, Clone)]
pub struct Remote {
    /// `user@address` as given to ssh.
    pub target: String,
    pub port: Option<u16>,
    /// Passed to ssh as `-o OPTION`.
    pub options: Vec<String>,
    /// Directory on the host that stands for `/`; empty for `/` itself.
    pub root: String,
}

/// How `put` sets the metadata of the files it writes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Metadata {
    /// pmxcfs: content only (`--no-perms --no-owner --no-group`).
    ContentOnly,
    /// Permission bits, and `user:group` when the remote user is root.
    Set { mode: u32, owner: Option<String> },
}

impl Remote {
    /// `path` (absolute on the host) under the root.
    pub fn path(&self, path: &str) -> String {
        format!("{}{path}", self.root)
    }

    fn ssh_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(port) = self.port {
            args.extend(["-p".to_owned(), port.to_string()]);
        }
        for option in &self.options {
            args.extend(["-o".to_owned(), option.clone()]);
        }
        args
    }

    /// Run `command` through the remote user's shell with `stdin`; ssh's own
    /// failure (exit 255) becomes `PushError::Ssh`, the command's status is returned.
    pub fn shell(&self, command: &str, stdin: &[u8]) -> Result<Output, PushError> {
        let mut ssh = Command::new("ssh");
        ssh.args(self.ssh_args())
            .arg(&self.target)
            .arg("--")
            .arg(command);
        let output = run(ssh, stdin, "ssh", "openssh-client")?;
        if output.status.code() == Some(255) {
            return Err(PushError::Ssh {
                target: self.target.clone(),
                detail: last_lines(&output.stderr),
            });
        }
        Ok(output)
    }

    /// Copy the listed host paths that exist (absolute, under the root) into `into`.
    pub fn fetch(&self, paths: &[String], into: &Path) -> Result<(), PushError> {
        if paths.is_empty() {
            return Ok(());
        }
        let list = files_from(paths)?;
        let mut rsync = self.rsync();
        rsync
            .arg(format!("--files-from={}", list.path().display()))
            .args(["--ignore-missing-args", "--no-implied-dirs"])
            .arg(format!("{}:{}/", self.target, self.root))
            .arg(into);
        self.run_rsync(rsync)
    }

    /// Write the listed paths from `from` (a tree mirroring the host) to the
    /// host; listed paths missing from `from` are removed there. With
    /// `backup_dir`, every replaced or removed file is kept under it first.
    pub fn put(
        &self,
        from: &Path,
        paths: &[&str],
        metadata: &Metadata,
        backup_dir: Option<&str>,
    ) -> Result<(), PushError> {
        if paths.is_empty() {
            return Ok(());
        }
        // rsync deletes a missing path only quietly when its parent directory
        // is there to send (otherwise it reports files that vanished).
        for path in paths {
            let local = from.join(path.trim_start_matches('/'));
            if let (false, Some(parent)) = (local.exists(), local.parent()) {
                std::fs::create_dir_all(parent).map_err(PushError::io(parent))?;
            }
        }
        let list = files_from(paths)?;
        let mut rsync = self.rsync();
        rsync
            .arg(format!("--files-from={}", list.path().display()))
            .args(["--no-implied-dirs", "--checksum", "--delete-missing-args"]);
        match metadata {
            Metadata::ContentOnly => {
                rsync.args(["--no-perms", "--no-owner", "--no-group"]);
            }
            Metadata::Set { mode, owner } => {
                rsync.arg("--perms").arg(format!("--chmod=F{mode:04o}"));
                if let Some(owner) = owner {
                    rsync.arg(format!("--chown={owner}"));
                }
            }
        }
        if let Some(dir) = backup_dir {
            rsync
                .arg("--backup")
                .arg(format!("--backup-dir={}", self.path(dir)));
        }
        rsync
            .arg(format!("{}/", from.display()))
            .arg(format!("{}:{}/", self.target, self.root));
        self.run_rsync(rsync)
    }

    fn rsync(&self) -> Command {
        let mut ssh = vec!["ssh".to_owned()];
        ssh.extend(self.ssh_args());
        let mut rsync = Command::new("rsync");
        rsync.arg("-e").arg(
            ssh.iter()
                .map(|arg| rsync_quote(arg))
                .collect::<Vec<_>>()
                .join(" "),
        );
        rsync
    }

    fn run_rsync(&self, rsync: Command) -> Result<(), PushError> {
        let output = run(rsync, b"", "rsync", "rsync")?;
        if output.status.success() {
            return Ok(());
        }
        let detail = last_lines(&output.stderr);
        if output.status.code() == Some(255) || detail.contains("ssh: ") {
            return Err(PushError::Ssh {
                target: self.target.clone(),
                detail,
            });
        }
        Err(PushError::Rsync {
            target: self.target.clone(),
            status: describe(&output),
            detail,
        })
    }
}

fn run(mut command: Command, stdin: &[u8], tool: &str, package: &str) -> Result<Output, PushError> {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|error| {
        if error.kind() == std::io::ErrorKind::NotFound {
            PushError::ToolMissing {
                tool: tool.to_owned(),
                package: package.to_owned(),
                reason: "not found on PATH".to_owned(),
            }
        } else {
            PushError::ToolMissing {
                tool: tool.to_owned(),
                package: package.to_owned(),
                reason: error.to_string(),
            }
        }
    })?;
    if let Some(mut input) = child.stdin.take() {
        // A command that exits without reading its input is not an error here.
        let _ = input.write_all(stdin);
    }
    child
        .wait_with_output()
        .map_err(PushError::io(tool.to_owned()))
}

/// A temporary `--files-from` list: one path per line, relative to the root.
fn files_from<S: AsRef<str>>(paths: &[S]) -> Result<tempfile::NamedTempFile, PushError> {
    let mut list = tempfile::Builder::new()
        .prefix("lugc-files-from-")
        .tempfile()
        .map_err(PushError::io(std::env::temp_dir()))?;
    for path in paths {
        writeln!(list, "{}", path.as_ref().trim_start_matches('/'))
            .map_err(PushError::io(list.path().to_path_buf()))?;
    }
    list.flush()
        .map_err(PushError::io(list.path().to_path_buf()))?;
    Ok(list)
}

/// `exit 3`, or the signal that ended a process.
pub fn describe(output: &Output) -> String {
    match output.status.code() {
        Some(code) => format!("exit {code}"),
        None => "killed by a signal".to_owned(),
    }
}

/// The last few non-empty lines of a tool's stderr, joined.
pub fn last_lines(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("Warning: Permanently added"))
        .collect();
    let start = lines.len().saturating_sub(3);
    let joined = lines[start..].join("; ");
    if joined.is_empty() {
        "no message".to_owned()
    } else {
        joined
    }
}

/// Quote one word for a POSIX shell.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./-_".contains(&b));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Quote one word of rsync's `-e` command, which knows quotes but no backslashes.
fn rsync_quote(word: &str) -> String {
    if !word.is_empty() && !word.contains([' ', '\'', '"']) {
        word.to_owned()
    } else if !word.contains('\'') {
        format!("'{word}'")
    } else {
        format!("\"{word}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("/etc/pve"), "/etc/pve");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(rsync_quote("IdentityFile=/a b"), "'IdentityFile=/a b'");
    }

    #[test]
    fn last_lines_skip_noise() {
        let stderr = b"Warning: Permanently added 'x' (ED25519) to the list of known hosts.\n\nssh: connect to host 127.0.0.1 port 1: Connection refused\n";
        assert_eq!(
            last_lines(stderr),
            "ssh: connect to host 127.0.0.1 port 1: Connection refused"
        );
    }
}
