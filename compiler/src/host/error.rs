//! host::error: everything that stops a conversation with a host, as
//! `HostError`: trouble in the environment (ssh or rsync missing or
//! refused, a lost connection, no answer in time, no quorum), a host whose
//! state lugc cannot read, and a lock another push holds. Each carries a
//! help line saying what to do next where there is one. The codes are those
//! `lugc push` has always reported; `status` and `facts` report them too.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum HostError {
    #[error("no quorum on {target}: /etc/pve is read-only")]
    #[diagnostic(
        code(lugc::push::env::no_quorum),
        help("pmxcfs refuses writes while the node is not quorate; check `pvecm status`, or push through another member with --target")
    )]
    NoQuorum { target: String },

    #[error("{target} has no /etc/pve: not a Proxmox VE cluster member")]
    #[diagnostic(
        code(lugc::push::no_pmxcfs),
        help("push the cluster bundle through a cluster member")
    )]
    NoPmxcfs { target: String },

    #[error("another push to {host} is under way: {holder}")]
    #[diagnostic(
        code(lugc::push::busy),
        help("one push per host at a time: wait for it to finish; the lock in /var/lib/lugc/lock is released when its holder ends")
    )]
    Busy { host: String, holder: String },

    #[error("the push lock on {host} is stale: lugc (pid {pid}) of this machine, which took it, has exited ({holder})")]
    #[diagnostic(
        code(lugc::push::stale_lock),
        help("the ssh session that push left on {host} still holds /var/lib/lugc/lock; the host releases it as soon as that session ends (sshd notices the closed connection). Try again shortly; should it stay, end that session on the host")
    )]
    StaleLock {
        host: String,
        holder: String,
        pid: u32,
    },

    #[error("lugc state on {host} is unreadable: {reason}")]
    #[diagnostic(
        code(lugc::push::remote_state),
        help("inspect /var/lib/lugc on the host")
    )]
    RemoteState { host: String, reason: String },

    #[error("`{tool}` is not installed here: {reason}")]
    #[diagnostic(
        code(lugc::push::env::tool_missing),
        help("install it (Debian: apt-get install {package})")
    )]
    ToolMissing {
        tool: String,
        package: String,
        reason: String,
    },

    #[error("ssh to {target} failed: {detail}")]
    #[diagnostic(
        code(lugc::push::env::ssh),
        help("check that `{command}` works on its own (address, --port, --ssh-option)")
    )]
    Ssh {
        target: String,
        detail: String,
        command: String,
    },

    #[error("the connection to {target} was lost: {detail}")]
    #[diagnostic(code(lugc::push::env::connection_lost))]
    ConnectionLost { target: String, detail: String },

    #[error("{target} answered `{command}` with more than {} MiB", limit >> 20)]
    #[diagnostic(
        code(lugc::push::env::reply_too_large),
        help("lugc's own commands answer far less; the host may not run lugc's script as sent. Should a host really hold that much, raise --max-reply-size")
    )]
    ReplyTooLarge {
        target: String,
        command: String,
        limit: usize,
    },

    #[error("{target} did not answer within {seconds} s while {what}")]
    #[diagnostic(
        code(lugc::push::env::timeout),
        help("check that the host is up and reachable over ssh, or give it longer with --timeout")
    )]
    Timeout {
        target: String,
        what: String,
        seconds: u64,
    },

    #[error("--root {root} is not a directory on {target}")]
    #[diagnostic(code(lugc::push::no_root))]
    NoRoot { target: String, root: String },

    #[error("a symbolic link on {target}: {detail}")]
    #[diagnostic(
        code(lugc::push::link),
        help("lugc never writes or reads through a symbolic link below the root; replace the link with the directory or file it stands for")
    )]
    Link { target: String, detail: String },

    #[error("rsync to {target} failed ({status}): {detail}")]
    #[diagnostic(code(lugc::push::env::rsync))]
    Rsync {
        target: String,
        status: String,
        detail: String,
    },

    #[error("`{command}` on {target} failed ({status}): {detail}")]
    #[diagnostic(code(lugc::push::env::remote))]
    Remote {
        target: String,
        command: String,
        status: String,
        detail: String,
    },

    #[error("cannot use {}: {source}", path.display())]
    #[diagnostic(code(lugc::push::env::io))]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl HostError {
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> HostError {
        let path = path.into();
        move |source| HostError::Io { path, source }
    }

    /// Trouble on this machine (a tool missing, a local file), not with the host.
    pub fn is_local(&self) -> bool {
        matches!(self, HostError::ToolMissing { .. } | HostError::Io { .. })
    }

    /// The host could not be reached, or stopped answering.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            HostError::Ssh { .. } | HostError::ConnectionLost { .. } | HostError::Timeout { .. }
        )
    }

    /// The message on one line, sanitised.
    pub fn one_line(&self) -> String {
        let text = crate::sanitise::text(&self.to_string()).into_owned();
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect();
        lines.join("; ")
    }
}
