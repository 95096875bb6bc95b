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

use std::collections::VecDeque;
use std::io::{BufRead as _, BufReader, Read, Write as _};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wait_timeout::ChildExt as _;

use crate::host::error::HostError;
use crate::host::private::PrivateDir;
use crate::host::script::{
    EXIT_BUSY, EXIT_LINK, EXIT_NO_PMXCFS, EXIT_NO_QUORUM, EXIT_NO_ROOT, EXIT_TIMED_OUT, HOST_SH,
};
use crate::host::target::Target;

/// The most of a line from the host that lugc keeps (the master's lines,
/// each line an action prints); the rest of a longer one is dropped.
const LINE_LIMIT: usize = 64 * 1024;

/// The most of a command's stderr that lugc keeps: its last bytes.
const STDERR_LIMIT: usize = 64 * 1024;

/// Lines read from the host ahead of lugc taking them: a host that sends
/// faster than lugc shows waits.
const LINES_QUEUED: usize = 64;

/// The most of an action's output that lugc shows as it comes; after that,
/// only its last `ACTION_TAIL` lines, once it ended.
pub const ACTION_SHOWN: usize = 1 << 20;
const ACTION_TAIL: usize = 20;

/// What lugc takes from a host at most (`--max-file-size`, `--max-reply-size`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A file larger than this is hashed on the host and compared by its
    /// SHA-256, never read.
    pub file: u64,
    /// The most one answer to lugc's own commands (records, files, facts)
    /// may hold; a host that sends more fails the command.
    pub reply: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            file: 8 << 20,
            reply: 64 << 20,
        }
    }
}

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
    pub limits: Limits,
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

    /// Confirm push `id` over a connection of its own (`fresh`), given at
    /// most `limit`: host.sh `disarm` says `ready`, and only lugc's answer
    /// to it confirms, so a connection that outlives lugc confirms nothing.
    pub fn disarm(&self, root: &str, id: &str, limit: Duration) -> Result<Disarmed, HostError> {
        let limit = limit.clamp(Duration::from_secs(1), self.deadline());
        let mut ssh = self.fresh("disarm", root, &[id]);
        ssh.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = ssh.spawn().map_err(missing("setpriv", "util-linux"))?;
        let mut input = child.stdin.take();
        let errors = child.stderr.take().map(read_tail);
        let (lines, received) = mpsc::sync_channel(LINES_QUEUED);
        if let Some(stdout) = child.stdout.take() {
            send_lines(stdout, lines);
        }
        let deadline = Instant::now() + limit;
        let mut sent = false;
        loop {
            match received.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) if line == "ready" => {
                    if let Some(mut input) = input.take() {
                        sent = input
                            .write_all(format!("confirm {id}\n").as_bytes())
                            .is_ok();
                    }
                }
                Ok(_) => {}
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    stop(&mut child);
                    let error = HostError::Timeout {
                        target: self.target.clone(),
                        what: "`disarm` over a new connection".to_owned(),
                        seconds: limit.as_secs(),
                    };
                    return Ok(Disarmed::lost(sent, error));
                }
            }
        }
        drop(input);
        let status = child.wait().map_err(HostError::io("ssh"))?;
        let stderr = errors
            .and_then(|reader| reader.join().ok())
            .unwrap_or_default();
        Ok(match status.code() {
            Some(255) | None => Disarmed::lost(
                sent,
                HostError::Ssh {
                    target: self.target.clone(),
                    detail: last_lines(&stderr),
                    command: self.ssh_command(),
                },
            ),
            Some(code) => Disarmed::Answered(code),
        })
    }

    /// ssh running host.sh `command` over a new TCP connection (never a
    /// session's master), started through setpriv with a parent-death
    /// signal: it dies with lugc, however lugc ends.
    fn fresh(&self, command: &str, root: &str, args: &[&str]) -> Command {
        let mut ssh = Command::new("setpriv");
        ssh.args(["--pdeathsig", "KILL", "--", "ssh"])
            .args(["-o", "ControlPath=none", "-o", "ControlMaster=no"])
            .args(["-o", "BatchMode=yes"])
            .args(self.connection_args())
            .arg(host_command(command, root, args));
        ssh
    }
}

/// How a `disarm` over a new connection ended.
#[derive(Debug)]
pub enum Disarmed {
    /// host.sh's exit code: 0 confirmed, `EXIT_REVERT_BEGAN`…
    Answered(i32),
    /// ssh failed before lugc answered: nothing was confirmed.
    NotSent(HostError),
    /// lugc answered and the reply was lost: the host may have confirmed.
    Unknown(HostError),
}

impl Disarmed {
    fn lost(sent: bool, error: HostError) -> Disarmed {
        if sent {
            Disarmed::Unknown(error)
        } else {
            Disarmed::NotSent(error)
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
        let master_errors = master.stderr.take().map(read_tail);
        let (lines, received) = mpsc::sync_channel(LINES_QUEUED);
        if let Some(stdout) = master.stdout.take() {
            send_lines(stdout, lines);
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
                Err(RecvTimeoutError::Timeout) => {
                    return Err(HostError::Timeout {
                        target: remote.target.clone(),
                        what: "connecting".to_owned(),
                        seconds: remote.deadline().as_secs(),
                    });
                }
                Err(RecvTimeoutError::Disconnected) => {
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
            "busy" => return Err(busy(host, &crate::sanitise::line(rest))),
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
        let deadline = self.remote.deadline();
        let output = self.remote.run_until(ssh, command, input, deadline)?;
        output.ok_or_else(|| HostError::Timeout {
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
        let output = self
            .remote
            .run_until(rsync, "rsync", names.as_bytes(), Duration::MAX)?
            .expect("no deadline");
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
        let (lines, received) = mpsc::sync_channel(LINES_QUEUED);
        if let Some(stdout) = child.stdout.take() {
            send_lines(stdout, lines.clone());
        }
        if let Some(stderr) = child.stderr.take() {
            send_lines(stderr, lines);
        }
        // The host stops the action itself; this only covers a host that stopped answering.
        let deadline = Instant::now() + limit + Duration::from_secs(10) + self.remote.deadline();
        let mut shown = Shown::new(show);
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            match received.recv_timeout(wait) {
                Ok(line) => shown.line(&crate::sanitise::line(&line)),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    stop(&mut child);
                    shown.end();
                    return Err(self.lost("no answer while the action ran"));
                }
            }
        }
        shown.end();
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
        if let Ok(Some(_)) = self.master.wait_timeout(self.remote.deadline()) {
            return;
        }
        stop(&mut self.master);
    }
}

/// The lock on `host` is taken: by a push under way, or, when its `holder`
/// (`lugc push by USER@MACHINE (pid N) since …`) names a lugc of this
/// machine that is gone, by the ssh session that push left behind.
fn busy(host: &str, holder: &str) -> HostError {
    let exited = holder
        .split_once(" (pid ")
        .and_then(|(by, rest)| {
            let machine = by.rsplit_once('@')?.1;
            let pid: u32 = rest.split_once(')')?.0.parse().ok()?;
            Some((machine, pid))
        })
        .filter(|(machine, pid)| {
            let here = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            *machine == here.trim() && comm.trim() != "lugc"
        });
    match exited {
        Some((_, pid)) => HostError::StaleLock {
            host: host.to_owned(),
            holder: holder.to_owned(),
            pid,
        },
        None => HostError::Busy {
            host: host.to_owned(),
            holder: holder.to_owned(),
        },
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

/// An action's output on its way to `show`: its lines up to `ACTION_SHOWN`
/// bytes, then, once it ended, how many were left out and its last
/// `ACTION_TAIL` lines. What lugc holds of it stays bounded.
struct Shown<'s> {
    show: &'s mut dyn FnMut(&str),
    bytes: usize,
    tail: VecDeque<String>,
    left_out: usize,
}

impl<'s> Shown<'s> {
    fn new(show: &'s mut dyn FnMut(&str)) -> Shown<'s> {
        Shown {
            show,
            bytes: 0,
            tail: VecDeque::new(),
            left_out: 0,
        }
    }

    fn line(&mut self, line: &str) {
        if self.bytes < ACTION_SHOWN {
            self.bytes += line.len() + 1;
            (self.show)(line);
            return;
        }
        self.tail.push_back(line.to_owned());
        if self.tail.len() > ACTION_TAIL {
            self.tail.pop_front();
            self.left_out += 1;
        }
    }

    fn end(&mut self) {
        if self.left_out > 0 {
            (self.show)(&format!(
                "[{} lines not shown: lugc shows the first {} MiB of an action's output and its last {ACTION_TAIL} lines]",
                self.left_out,
                ACTION_SHOWN >> 20
            ));
        }
        for line in self.tail.drain(..) {
            (self.show)(&line);
        }
    }
}

/// Each line of `stream` to `lines`, at most `LINE_LIMIT` bytes of it, as
/// text, read no faster than they are taken; whatever follows once `lines`
/// is closed is read and dropped.
fn send_lines(stream: impl Read + Send + 'static, lines: mpsc::SyncSender<String>) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        loop {
            line.clear();
            let limit = (LINE_LIMIT + 1) as u64;
            match reader.by_ref().take(limit).read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line.last() != Some(&b'\n') && line.len() > LINE_LIMIT {
                // The rest of an overlong line.
                let _ = reader.by_ref().skip_until(b'\n');
                line.truncate(LINE_LIMIT);
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.strip_suffix('\n').unwrap_or(&text);
            if lines.send(text.to_owned()).is_err() {
                let _ = std::io::copy(&mut reader, &mut std::io::sink());
                return;
            }
        }
    });
}

/// The last `STDERR_LIMIT` bytes or so of `stream`.
fn read_tail(mut stream: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut chunk = [0; 8192];
        while let Ok(count @ 1..) = stream.read(&mut chunk) {
            kept.extend_from_slice(&chunk[..count]);
            if kept.len() > 2 * STDERR_LIMIT {
                kept.drain(..kept.len() - STDERR_LIMIT);
            }
        }
        kept
    })
}

/// All of `stream` on the receiver once it ends, or `None` as soon as it
/// holds more than `limit` bytes; then nothing more is read, so the caller
/// must stop the writer (ssh ignores SIGPIPE).
fn read_capped(mut stream: impl Read + Send + 'static, limit: usize) -> Receiver<Option<Vec<u8>>> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut chunk = vec![0; 64 * 1024];
        let read = loop {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => break Some(bytes),
                Ok(count) if bytes.len() + count > limit => break None,
                Ok(count) => bytes.extend_from_slice(&chunk[..count]),
            }
        };
        let _ = sender.send(read);
    });
    receiver
}

impl Remote {
    /// Run `command` (`what` names it in messages) with `input`; `None` when
    /// it outlived `limit` and was killed. An answer on stdout above
    /// `limits.reply` stops it: an error, never an allocation.
    fn run_until(
        &self,
        mut command: Command,
        what: &str,
        input: &[u8],
        limit: Duration,
    ) -> Result<Option<Output>, HostError> {
        let tool = command.get_program().to_string_lossy().into_owned();
        let package = match tool.as_str() {
            "rsync" => "rsync",
            "setpriv" => "util-linux",
            _ => "openssh-client",
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
        let stdout = child
            .stdout
            .take()
            .map(|stdout| read_capped(stdout, self.limits.reply));
        let stderr = child.stderr.take().map(read_tail);
        let Some((status, stdout)) = self.wait_capped(&mut child, stdout, what, limit)? else {
            return Ok(None);
        };
        let stderr = stderr
            .and_then(|reader| reader.join().ok())
            .unwrap_or_default();
        Ok(Some(Output {
            status,
            stdout,
            stderr,
        }))
    }

    /// Wait for `child`'s stdout (`reader`) to end, then for `child`; `None`
    /// when both took longer than `limit`. Killed at once when its stdout
    /// overflows.
    fn wait_capped(
        &self,
        child: &mut Child,
        reader: Option<Receiver<Option<Vec<u8>>>>,
        what: &str,
        limit: Duration,
    ) -> Result<Option<(ExitStatus, Vec<u8>)>, HostError> {
        let tool = if what == "rsync" { "rsync" } else { "ssh" };
        let start = Instant::now();
        let stdout = match reader.map(|reader| reader.recv_timeout(limit)) {
            Some(Ok(None)) => {
                stop(child);
                return Err(HostError::ReplyTooLarge {
                    target: self.target.clone(),
                    command: what.to_owned(),
                    limit: self.limits.reply,
                });
            }
            Some(Err(RecvTimeoutError::Timeout)) => {
                stop(child);
                return Ok(None);
            }
            Some(Ok(Some(bytes))) => bytes,
            Some(Err(RecvTimeoutError::Disconnected)) | None => Vec::new(),
        };
        let left = limit.saturating_sub(start.elapsed());
        match child.wait_timeout(left).map_err(HostError::io(tool))? {
            Some(status) => Ok(Some((status, stdout))),
            None => {
                stop(child);
                Ok(None)
            }
        }
    }
}

/// Kill `child` and reap it.
fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
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
    // No argument holds a NUL (the OS refuses it), so dropping one loses nothing.
    shlex::try_quote(&word.replace('\0', ""))
        .map(std::borrow::Cow::into_owned)
        .unwrap_or_default()
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
        assert_eq!(shell_quote(""), "''");
        for word in [
            "it's",
            "a b",
            "$(reboot)",
            "`x`",
            "a\"b\\",
            "*",
            "~root",
            "x\ny",
        ] {
            let quoted = shell_quote(word);
            assert_ne!(quoted, word);
            assert_eq!(
                shlex::split(&quoted),
                Some(vec![word.to_owned()]),
                "{quoted}"
            );
        }
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
        let words = [
            "sh", "-c", HOST_SH, "lugc", "hold", "/tmp/a b", "lock", "it's me",
        ];
        assert_eq!(
            shlex::split(&command),
            Some(words.map(str::to_owned).to_vec())
        );
    }
}
