//! A real OpenSSH server on a loopback port, for the push tests: a throwaway
//! host key and client key made by ssh-keygen in a temporary directory, its
//! own sshd_config, run in the foreground and killed when dropped. It
//! listens on 127.0.0.1, or on ::1 (`start_on`); a machine without an IPv6
//! loopback fails that test, never skips it.

use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::require_tool;

pub struct Sshd {
    child: Child,
    dir: TempDir,
    address: IpAddr,
    port: u16,
}

impl Sshd {
    /// Start sshd on a free port of 127.0.0.1; panics (never skips) when OpenSSH is missing.
    pub fn start() -> Sshd {
        Sshd::spawn(IpAddr::V4(Ipv4Addr::LOCALHOST), None)
    }

    /// Start sshd on a free port of `address` (127.0.0.1 or ::1).
    pub fn start_on(address: IpAddr) -> Sshd {
        Sshd::spawn(address, None)
    }

    /// As `start`, in a mount namespace of its own where `below` (relative
    /// to `dir()`) is a tmpfs of `kib` KiB: a small disk for what the host's
    /// commands write there, the machine's own mounts untouched. `seen`
    /// reads and writes through that namespace.
    pub fn start_with_small_disk(below: &str, kib: u32) -> Sshd {
        Sshd::spawn(IpAddr::V4(Ipv4Addr::LOCALHOST), Some((below, kib)))
    }

    /// `path` as sshd and the commands it runs see it.
    pub fn seen(&self, path: &Path) -> PathBuf {
        let relative = path.strip_prefix("/").expect("an absolute path");
        PathBuf::from(format!("/proc/{}/root", self.child.id())).join(relative)
    }

    fn spawn(address: IpAddr, disk: Option<(&str, u32)>) -> Sshd {
        let sshd = require_tool("sshd");
        let keygen = require_tool("ssh-keygen");
        require_tool("ssh");
        let dir = tempfile::Builder::new()
            .prefix("lugc-sshd-")
            .tempdir()
            .expect("tempdir");
        for key in ["host_key", "client_key"] {
            let status = Command::new(&keygen)
                .args(["-q", "-t", "ed25519", "-N", "", "-C", "lugc-test", "-f"])
                .arg(dir.path().join(key))
                .status()
                .expect("run ssh-keygen");
            assert!(status.success(), "ssh-keygen failed");
        }
        fs::copy(
            dir.path().join("client_key.pub"),
            dir.path().join("authorized_keys"),
        )
        .expect("authorized_keys");
        // sshd refuses to start without its privilege separation directory.
        fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        let log = dir.path().join("sshd.log");
        for _ in 0..5 {
            let port = free_port_on(address);
            let config = dir.path().join("sshd_config");
            fs::write(&config, sshd_config(dir.path(), address, port)).expect("sshd_config");
            let mut command = match disk {
                None => Command::new(&sshd),
                Some((below, kib)) => {
                    let mount = dir.path().join(below);
                    fs::create_dir_all(&mount).expect("mount point");
                    let mut command = Command::new(require_tool("unshare"));
                    command
                        .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
                        .arg("mount -t tmpfs -o size=\"$2\"k lugc-test \"$1\" && shift 2 && exec \"$@\"")
                        .arg("sh")
                        .arg(mount)
                        .arg(kib.to_string())
                        .arg(&sshd);
                    command
                }
            };
            let mut child = command
                .arg("-D")
                .arg("-e")
                .arg("-f")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(fs::File::create(&log).expect("sshd.log"))
                .spawn()
                .expect("start sshd");
            if wait_until_listening(&mut child, address, port) {
                return Sshd {
                    child,
                    dir,
                    address,
                    port,
                };
            }
            // Someone may have taken the port in the meantime: try another.
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "sshd did not start: {}",
            fs::read_to_string(&log).unwrap_or_default()
        );
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The address it listens on.
    pub fn address(&self) -> IpAddr {
        self.address
    }

    /// `root@` its address, as `--target` takes it (an IPv6 one in brackets).
    pub fn target(&self) -> String {
        match self.address {
            IpAddr::V4(address) => format!("root@{address}"),
            IpAddr::V6(address) => format!("root@[{address}]"),
        }
    }

    /// The temporary directory that holds the keys; tests may keep their files there.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn client_key(&self) -> PathBuf {
        self.dir().join("client_key")
    }

    /// `-o` options that make the client use the throwaway key and trust the throwaway host key.
    pub fn client_options(&self) -> Vec<String> {
        vec![
            format!("IdentityFile={}", self.client_key().display()),
            "IdentitiesOnly=yes".to_owned(),
            "StrictHostKeyChecking=no".to_owned(),
            "UserKnownHostsFile=/dev/null".to_owned(),
            "BatchMode=yes".to_owned(),
            "LogLevel=ERROR".to_owned(),
        ]
    }

    /// Whatever sshd logged so far (for assertion messages).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir().join("sshd.log")).unwrap_or_default()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_until_listening(child: &mut Child, address: IpAddr, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if TcpStream::connect((address, port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A port of 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    free_port_on(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// A port of `address` that was free a moment ago; panics when the machine
/// has no such address (an IPv6 loopback is part of the test setup).
fn free_port_on(address: IpAddr) -> u16 {
    TcpListener::bind((address, 0))
        .and_then(|listener| listener.local_addr())
        .unwrap_or_else(|error| {
            panic!("cannot bind a port of {address}: {error}; the push tests need 127.0.0.1 and ::1 (`ip -6 addr show lo`)")
        })
        .port()
}

/// The IPv6 loopback, for tests that reach a host by an IPv6 address.
pub const IPV6_LOOPBACK: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

/// The test sshd logs in as the machine's own root, whose ~/.bashrc is not a
/// host's: Debian's bash sources it under ssh only for a top-level shell, so
/// `SHLVL=1` keeps its output (a pyenv rehash racing another session's) out
/// of what lugc shows from the host.
fn sshd_config(dir: &Path, address: IpAddr, port: u16) -> String {
    let dir = dir.display();
    format!(
        "ListenAddress {address}\n\
         Port {port}\n\
         HostKey {dir}/host_key\n\
         AuthorizedKeysFile {dir}/authorized_keys\n\
         PidFile {dir}/sshd.pid\n\
         StrictModes no\n\
         UsePAM no\n\
         PermitRootLogin yes\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         SetEnv SHLVL=1\n"
    )
}
