//! host::remote: the only code in lugc that spawns `ssh` and `rsync`.
//!
//! A `Remote` says how to reach a host (target, port, `-o` options, the
//! root directory that stands for `/`, timeouts). A `Session` is one ssh
//! connection to it: a master connection (`ControlMaster`) whose own command
//! resolves the root and, for a push, holds the host's push lock until the
//! session ends (the kernel releases it when that command dies). Every later
//! command and rsync goes through that master and nothing else: should it
//! die, they fail instead of opening a connection without the lock.
//!
//! Every command on the host is `host.sh`, which refuses any path with a
//! symbolic link below the root. Every command has a deadline; an action is
//! stopped on the host when it times out or when lugc's connection closes.

use std::io::{BufRead as _, BufReader, Read, Write as _};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::host::error::HostError;
use crate::host::private::PrivateDir;
use crate::host::script::{
    EXIT_BUSY, EXIT_LINK, EXIT_NO_PMXCFS, EXIT_NO_QUORUM, EXIT_NO_ROOT, EXIT_TIMED_OUT, HOST_SH,
};
use crate::host::target::Target;

/// Where and how to reach one host.
#[derive(Debug, Clone)]
pub struct Remote {
    /// The destination as messages show it: `user@address`, `user@[::1]`.
    pub target: String,
    /// The same, as ssh and rsync are given it.
    pub destination: Target,
    pub port: Option<u16>,
    /// Passed to ssh as `-o OPTION`, before lugc's own defaults (ssh keeps the first value).
    pub options: Vec<String>,
    /// Directory on the host that stands for `/`, as given (empty for `/`).
    pub root: String,
    /// rsync on the host, when not `rsync` on its PATH.
    pub rsync_path: Option<String>,
    /// Connecting, keep-alive, and each of lugc's own commands on the host.
    pub timeout: Duration,
}

/// What a session's master command does besides resolving the root.
#[derive(Debug, Clone)]
pub enum Hold {
    /// Take the host's push lock, recording `holder` in it.
    Lock { holder: String },
    /// Read only: no lock, nothing written.
    Read,
}

/// How `put` sets the metadata of the files it writes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Metadata {
    /// pmxcfs: content only (`--no-perms --no-owner --no-group`).
    ContentOnly,
    /// Permission bits, and `user:group` when the remote user is root.
    Set { mode: u32, owner: Option<String> },
}

/// A push whose revert is armed on the host.
#[derive(Debug, Clone)]
pub struct Armed {
    /// The push id: its backup directory holds the revert's state.
    pub id: String,
    /// How long after the last action the host waits for `confirm`.
    pub confirm: Duration,
}

/// How an action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Status(i32),
    /// Stopped on the host after its time limit.
    TimedOut,
    Signal,
}

impl Remote {
    /// Refuse what ssh or rsync could take for an option, a path, a port or
    /// a daemon, or a shell could interpret (see `target`).
    pub fn check_target(target: &str) -> Result<(), String> {
        Target::parse(target).map(|_| ())
    }

    /// ssh arguments for a new connection to the host, ending with `--` and the host.
    fn connection_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(port) = self.port {
            args.extend(["-p".to_owned(), port.to_string()]);
        }
        let seconds = self.timeout.as_secs().max(1);
        let defaults = [
            format!("ConnectTimeout={seconds}"),
            format!("ServerAliveInterval={}", seconds.div_ceil(3)),
            "ServerAliveCountMax=3".to_owned(),
        ];
        for option in self.options.iter().chain(&defaults) {
            args.extend(["-o".to_owned(), option.clone()]);
        }
        args.extend(self.destination.ssh_args());
        args
    }

    /// The command a user can paste to check that ssh reaches the host.
    pub fn ssh_command(&self) -> String {
        let mut words = vec!["ssh".to_owned()];
        words.extend(self.connection_args());
        words.push("true".to_owned());
        words
            .iter()
            .map(|word| shell_quote(word))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Deadline for one of lugc's own commands on the host.
    fn deadline(&self) -> Duration {
        self.timeout * 4
    }

    /// Run host.sh `command` over a connection of its own: a new TCP
    /// connection, never a session's master, given at most `limit`. `root`
    /// is a session's resolved root. Ok with host.sh's exit code; an error
    /// when ssh itself failed.
    pub fn run_fresh(
        &self,
        command: &str,
        root: &str,
        args: &[&str],
        limit: Duration,
    ) -> Result<i32, HostError> {
        let limit = limit.clamp(Duration::from_secs(1), self.deadline());
        let mut ssh = Command::new("ssh");
        ssh.args(["-o", "ControlPath=none", "-o", "ControlMaster=no"])
            .args(["-o", "BatchMode=yes"])
            .args(self.connection_args())
            .arg(host_command(command, root, args));
        let output = run_until(ssh, b"", limit)?.ok_or_else(|| HostError::Timeout {
            target: self.target.clone(),
            what: format!("`{command}` over a new connection"),
            seconds: limit.as_secs(),
        })?;
        match output.status.code() {
            Some(255) | None => Err(HostError::Ssh {
                target: self.target.clone(),
                detail: last_lines(&output.stderr),
                command: self.ssh_command(),
            }),
            Some(code) => Ok(code),
        }
    }
}

/// One connection to a host; see the module doc.
pub struct Session<'r> {
    pub remote: &'r Remote,
    /// The root as the host resolved it: absolute, empty for `/`.
    pub root: String,
    /// The remote user is root and can set owners.
    pub root_user: bool,
    control: PrivateDir,
    /// The master answered `ready`: a failure from now on is a lost connection.
    ready: bool,
    master: Child,
    master_input: Option<ChildStdin>,
    master_errors: Option<JoinHandle<Vec<u8>>>,
}

impl<'r> Session<'r> {
    /// Connect, resolve the root, and with `Hold::Lock` take the push lock.
    pub fn open(remote: &'r Remote, host: &str, hold: &Hold) -> Result<Session<'r>, HostError> {
        let control = PrivateDir::new("lugc-ssh-")?;
        let mut ssh = Command::new("ssh");
        ssh.arg("-M")
            .arg("-S")
            .arg(control.path().join("master"))
            .args(["-o", "ControlPersist=no"])
            .args(remote.connection_args());
        let (mode, holder) = match hold {
            Hold::Lock { holder } => ("lock", holder.as_str()),
            Hold::Read => ("read", ""),
        };
        ssh.arg(host_command("hold", &remote.root, &[mode, holder]));
        ssh.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut master = ssh.spawn().map_err(missing("ssh", "openssh-client"))?;
        let master_input = master.stdin.take();
        let master_errors = master.stderr.take().map(read_all);
        let (lines, received) = mpsc::channel();
        if let Some(stdout) = master.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if lines.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let mut session = Session {
            remote,
            root: String::new(),
            root_user: false,
            control,
            ready: false,
            master,
            master_input,
            master_errors,
        };
        let deadline = Instant::now() + remote.deadline();
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            match received.recv_timeout(wait) {
                Ok(line) => {
                    if session.heard(host, &line)? {
                        return Ok(session);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(HostError::Timeout {
                        target: remote.target.clone(),
                        what: "connecting".to_owned(),
                        seconds: remote.deadline().as_secs(),
                    });
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = session.master.wait().map_err(HostError::io("ssh"))?;
                    let detail = session
                        .master_errors
                        .take()
                        .and_then(|reader| reader.join().ok())
                        .unwrap_or_default();
                    return Err(session.failure(status, &detail, "connecting"));
                }
            }
        }
    }

    /// One line of the master command's answer: `uid N`, `ready ROOT` (true:
    /// the session is open) or `busy HOLDER`. Its words come from the host:
    /// the holder is sanitised, a root that would need it is refused.
    fn heard(&mut self, host: &str, line: &str) -> Result<bool, HostError> {
        let (kind, rest) = line.split_once(' ').unwrap_or((line, ""));
        match kind {
            "uid" => self.root_user = rest == "0",
            "ready" if crate::sanitise::line(rest) != rest => {
                return Err(HostError::RemoteState {
                    host: host.to_owned(),
                    reason: format!(
                        "the root resolved to `{}`",
                        crate::sanitise::excerpt(rest.as_bytes(), 200)
                    ),
                });
            }
            "ready" => {
                rest.clone_into(&mut self.root);
                self.ready = true;
                return Ok(true);
            }
            "busy" => {
                return Err(HostError::Busy {
                    host: host.to_owned(),
                    holder: crate::sanitise::line(rest).into_owned(),
                })
            }
            _ => {}
        }
        Ok(false)
    }

    /// Run host.sh `command` with `args` and `input`; fails unless it exits 0.
    pub fn run(&self, command: &str, args: &[&str], input: &[u8]) -> Result<Vec<u8>, HostError> {
        let output = self.exec(command, args, input)?;
        if output.status.success() {
            Ok(output.stdout)
        } else {
            Err(self.failure(output.status, &output.stderr, command))
        }
    }

    /// The exit code of host.sh `command` (only ssh's own failure is an error).
    pub fn exit_code(&self, command: &str) -> Result<i32, HostError> {
        let output = self.exec(command, &[], b"")?;
        match output.status.code() {
            Some(255) | None => Err(self.failure(output.status, &output.stderr, command)),
            Some(code) => Ok(code),
        }
    }

    /// Fail unless /etc/pve under the root takes writes.
    pub fn check_quorum(&self) -> Result<(), HostError> {
        let target = self.remote.target.clone();
        match self.exit_code("quorum")? {
            0 => Ok(()),
            EXIT_NO_PMXCFS => Err(HostError::NoPmxcfs { target }),
            EXIT_NO_QUORUM => Err(HostError::NoQuorum { target }),
            code => Err(HostError::Remote {
                target,
                command: "quorum probe".to_owned(),
                status: format!("exit {code}"),
                detail: "no message".to_owned(),
            }),
        }
    }

    fn exec(&self, command: &str, args: &[&str], input: &[u8]) -> Result<Output, HostError> {
        let mut ssh = self.client();
        ssh.arg(host_command(command, &self.root, args));
        run_until(ssh, input, self.remote.deadline())?.ok_or_else(|| HostError::Timeout {
            target: self.remote.target.clone(),
            what: format!("`{command}`"),
            seconds: self.remote.deadline().as_secs(),
        })
    }

    /// Write the listed paths from `from` (a tree mirroring the host) to the
    /// host, each to a temporary file renamed into place; with `backup`
    /// (absolute on the host), every replaced file is kept under it first.
    pub fn put(
        &self,
        from: &Path,
        paths: &[&str],
        metadata: &Metadata,
        backup: Option<&str>,
    ) -> Result<(), HostError> {
        if paths.is_empty() {
            return Ok(());
        }
        let mut names = String::new();
        for path in paths {
            names.push_str(path.trim_start_matches('/'));
            names.push('\n');
        }
        let mut rsync = Command::new("rsync");
        rsync
            .arg("-e")
            .arg(self.client_words().join(" "))
            .arg("--files-from=-")
            .args(["--no-implied-dirs", "--checksum"])
            .arg(format!(
                "--timeout={}",
                self.remote.timeout.as_secs().max(1)
            ));
        if let Some(path) = &self.remote.rsync_path {
            rsync.arg(format!("--rsync-path={path}"));
        }
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
        if let Some(dir) = backup {
            rsync.arg("--backup").arg(format!("--backup-dir={dir}"));
        }
        rsync
            .arg(format!("{}/", from.display()))
            .arg(self.remote.destination.rsync(&format!("{}/", self.root)));
        let output = run_until(rsync, names.as_bytes(), Duration::MAX)?.expect("no deadline");
        if output.status.success() {
            return Ok(());
        }
        let detail = last_lines(&output.stderr);
        if output.status.code() == Some(255) || self.master_gone() {
            return Err(self.lost(&detail));
        }
        Err(HostError::Rsync {
            target: self.remote.target.clone(),
            status: describe(output.status),
            detail,
        })
    }

    /// Run `runner ACTION` on the host, showing its output line by line as it
    /// comes; stopped on the host after `limit`.
    /// With `armed`, the push's revert waits for the action and then
    /// `armed.confirm` more.
    pub fn action(
        &self,
        runner: &str,
        action: &str,
        limit: Duration,
        armed: Option<&Armed>,
        show: &mut dyn FnMut(&str),
    ) -> Result<Ended, HostError> {
        let seconds = limit.as_secs().max(1).to_string();
        let mut args = vec![seconds, runner.to_owned(), action.to_owned()];
        if let Some(armed) = armed {
            args.extend([armed.id.clone(), armed.confirm.as_secs().to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut ssh = self.client();
        ssh.arg(host_command("action", &self.root, &args))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = ssh.spawn().map_err(missing("ssh", "openssh-client"))?;
        // Held open until the action ends: closing it stops the action on the host.
        let input = child.stdin.take();
        let (lines, received) = mpsc::channel();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    if lines.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        drop(lines);
        // The host stops the action itself; this only covers a host that stopped answering.
        let deadline = Instant::now() + limit + Duration::from_secs(10) + self.remote.deadline();
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            match received.recv_timeout(wait) {
                Ok(line) => show(&crate::sanitise::line(&line)),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(self.lost("no answer while the action ran"));
                }
            }
        }
        let status = child.wait().map_err(HostError::io("ssh"))?;
        drop(input);
        match status.code() {
            Some(EXIT_TIMED_OUT) => Ok(Ended::TimedOut),
            Some(255) => Err(self.lost("the connection dropped while the action ran")),
            Some(code) => Ok(Ended::Status(code)),
            None => Ok(Ended::Signal),
        }
    }

    /// ssh through the master connection only, never a new one.
    fn client(&self) -> Command {
        let words = self.client_words();
        let mut ssh = Command::new(&words[0]);
        ssh.args(&words[1..])
            .args(self.remote.destination.ssh_args());
        ssh
    }

    /// The client's ssh command line, each word quoted for rsync's `-e`.
    fn client_words(&self) -> Vec<String> {
        let socket = self.control.path().join("master");
        [
            "ssh".to_owned(),
            "-S".to_owned(),
            rsync_quote(&socket.display().to_string()),
            "-o".to_owned(),
            "ControlMaster=no".to_owned(),
            "-o".to_owned(),
            "ProxyCommand=false".to_owned(),
            "-o".to_owned(),
            "BatchMode=yes".to_owned(),
        ]
        .into()
    }

    fn master_gone(&self) -> bool {
        !self.control.path().join("master").exists()
    }

    fn lost(&self, detail: &str) -> HostError {
        HostError::ConnectionLost {
            target: self.remote.target.clone(),
            detail: detail.to_owned(),
        }
    }

    /// The error for a command of ours that exited with `status`.
    fn failure(&self, status: ExitStatus, stderr: &[u8], what: &str) -> HostError {
        let detail = last_lines(stderr);
        match status.code() {
            Some(255) if self.ready && self.master_gone() => self.lost(&detail),
            Some(255) => HostError::Ssh {
                target: self.remote.target.clone(),
                detail,
                command: self.remote.ssh_command(),
            },
            Some(EXIT_BUSY) => HostError::Busy {
                host: self.remote.target.clone(),
                holder: String::new(),
            },
            Some(EXIT_NO_ROOT) => HostError::NoRoot {
                target: self.remote.target.clone(),
                root: self.remote.root.clone(),
            },
            Some(EXIT_LINK) => HostError::Link {
                target: self.remote.target.clone(),
                detail,
            },
            _ => HostError::Remote {
                target: self.remote.target.clone(),
                command: what.to_owned(),
                status: describe(status),
                detail,
            },
        }
    }
}

impl Drop for Session<'_> {
    /// End the master command (and so release the lock), then the connection.
    fn drop(&mut self) {
        drop(self.master_input.take());
        let deadline = Instant::now() + self.remote.deadline();
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.master.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = self.master.kill();
        let _ = self.master.wait();
    }
}

/// `sh -c HOST_SH lugc COMMAND ROOT ARGS…`, quoted for the remote shell.
fn host_command(command: &str, root: &str, args: &[&str]) -> String {
    let mut words = vec!["sh", "-c", HOST_SH, "lugc", command, root];
    words.extend(args);
    words
        .iter()
        .map(|word| shell_quote(word))
        .collect::<Vec<_>>()
        .join(" ")
}

fn missing(tool: &str, package: &str) -> impl FnOnce(std::io::Error) -> HostError {
    let (tool, package) = (tool.to_owned(), package.to_owned());
    move |error| HostError::ToolMissing {
        tool,
        package,
        reason: if error.kind() == std::io::ErrorKind::NotFound {
            "not found on PATH".to_owned()
        } else {
            error.to_string()
        },
    }
}

fn read_all(mut stream: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        bytes
    })
}

/// Run `command` with `input`; `None` when it outlived `limit` and was killed.
fn run_until(
    mut command: Command,
    input: &[u8],
    limit: Duration,
) -> Result<Option<Output>, HostError> {
    let tool = command.get_program().to_string_lossy().into_owned();
    let package = if tool == "rsync" {
        "rsync"
    } else {
        "openssh-client"
    };
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(missing(&tool, package))?;
    if let Some(mut stdin) = child.stdin.take() {
        let input = input.to_vec();
        // A command that exits without reading its input is not an error here.
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let stdout = child.stdout.take().map(read_all);
    let stderr = child.stderr.take().map(read_all);
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(HostError::io(tool.clone()))? {
            break status;
        }
        if start.elapsed() >= limit {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let collect = |reader: Option<JoinHandle<Vec<u8>>>| {
        reader
            .and_then(|reader| reader.join().ok())
            .unwrap_or_default()
    };
    Ok(Some(Output {
        status,
        stdout: collect(stdout),
        stderr: collect(stderr),
    }))
}

/// `exit 3`, or the signal that ended a process.
pub fn describe(status: ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exit {code}"),
        None => "killed by a signal".to_owned(),
    }
}

/// The last few non-empty lines of a tool's stderr, joined and bounded.
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
        crate::host::record::excerpt(joined.as_bytes(), 400)
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

    #[test]
    fn the_host_script_passes_shellcheck_words() {
        let command = host_command("hold", "/tmp/a b", &["lock", "it's me"]);
        assert!(command.starts_with("sh -c '"), "{command}");
        assert!(
            command.ends_with(r"lugc hold '/tmp/a b' lock 'it'\''s me'"),
            "{command}"
        );
    }
}
