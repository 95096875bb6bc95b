//! host::target: an ssh destination as lugc takes it (`host`, `user@host`,
//! `user@[IPv6 address]`), checked so that neither ssh nor rsync can read
//! it as an option, a path, a port or an rsync daemon, and written out for
//! each: ssh gets the user with `-l` and the host alone after `--`, rsync
//! `user@host:path` with an IPv6 address in brackets. A bare IPv6 address
//! is refused with the bracketed form to write instead: rsync would take
//! what precedes its first `:` for the host. Pure.

use std::fmt;
use std::net::Ipv6Addr;

/// A checked ssh destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The login, if the destination names one.
    pub user: Option<String>,
    /// A host name or an IPv4 address, or an IPv6 address without brackets
    /// (with its `%zone`, if any).
    pub host: String,
}

impl Target {
    /// Read `text` as a destination, or say why it is none.
    pub fn parse(text: &str) -> Result<Target, String> {
        let shown = crate::sanitise::line(text);
        let (user, address) = match text.rsplit_once('@') {
            Some((user, address)) => (Some(user), address),
            None => (None, text),
        };
        if let Some(user) = user {
            if user.is_empty() || user.starts_with('-') || !word(user, "") {
                return Err(format!("`{shown}` has no usable user name before `@`"));
            }
        }
        let host = match address.strip_prefix('[') {
            Some(rest) => {
                let inner = rest.strip_suffix(']').unwrap_or(rest);
                if !rest.ends_with(']') || !is_ipv6(inner) {
                    return Err(format!(
                        "`{shown}`: only an IPv6 address goes in brackets, as in root@[2001:db8::5]"
                    ));
                }
                inner
            }
            None if is_ipv6(address) => {
                let user = user.map_or(String::new(), |user| format!("{user}@"));
                return Err(format!(
                    "`{shown}` is an IPv6 address without brackets, which rsync reads as a host and a path: write {user}[{address}]"
                ));
            }
            None if address.is_empty() || address.starts_with('-') || !word(address, "") => {
                return Err(format!(
                    "`{shown}` is not an address: a host name or IPv4 address (letters, digits, `.`, `-`, `_`, not starting with `-`), or an IPv6 address in brackets; a port goes to --port"
                ));
            }
            None => address,
        };
        Ok(Target {
            user: user.map(str::to_owned),
            host: host.to_owned(),
        })
    }

    /// ssh's arguments that name the destination: `-l USER`, then `--` and
    /// the host as an argument of its own.
    pub fn ssh_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(user) = &self.user {
            args.extend(["-l".to_owned(), user.clone()]);
        }
        args.extend(["--".to_owned(), self.host.clone()]);
        args
    }

    /// rsync's remote side for `path`: `USER@HOST:PATH`, an IPv6 address in
    /// brackets, so that the host ends where rsync looks for it.
    pub fn rsync(&self, path: &str) -> String {
        format!("{self}:{path}")
    }
}

impl fmt::Display for Target {
    /// The destination as it is written: `user@host`, `user@[::1]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)
        } else {
            f.write_str(&self.host)
        }
    }
}

/// Letters, digits, `.`, `-`, `_` and `extra` only.
fn word(text: &str, extra: &str) -> bool {
    text.chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c) || extra.contains(c))
}

/// An IPv6 address, with a `%zone` of letters, digits, `.`, `-` and `_`.
fn is_ipv6(text: &str) -> bool {
    let (address, zone) = text.split_once('%').unwrap_or((text, "a"));
    !zone.is_empty() && word(zone, "") && address.parse::<Ipv6Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_addresses_are_targets() {
        for (text, user, host) in [
            (
                "root@pve-5.vm.ustclug.org",
                Some("root"),
                "pve-5.vm.ustclug.org",
            ),
            ("pve-5", None, "pve-5"),
            ("root@10.38.95.115", Some("root"), "10.38.95.115"),
            ("root@[::1]", Some("root"), "::1"),
            ("[2001:db8::5]", None, "2001:db8::5"),
            ("admin_1@[fe80::1%eth0]", Some("admin_1"), "fe80::1%eth0"),
            ("root@[::ffff:127.0.0.1]", Some("root"), "::ffff:127.0.0.1"),
        ] {
            let target = Target::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(target.user.as_deref(), user, "{text}");
            assert_eq!(target.host, host, "{text}");
            assert_eq!(target.to_string(), text);
        }
    }

    #[test]
    fn what_ssh_or_rsync_could_misread_is_refused() {
        for bad in [
            "-oProxyCommand=touch /tmp/x",
            "root@-oProxyCommand=x",
            "-l@host",
            "root@host;reboot",
            "root@$(id)",
            "root@host name",
            "",
            "@host",
            "root@",
            "root@host:22",
            "root@host::module",
            "root@[pve-5]",
            "root@[::1",
            "root@[::1]:22",
            "root@host/path",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
        let error = Target::parse("root@0:0:0:0:0:ffff:7f00:1").unwrap_err();
        assert!(
            error.contains("write root@[0:0:0:0:0:ffff:7f00:1]"),
            "{error}"
        );
        let error = Target::parse("root@::ffff:127.0.0.1").unwrap_err();
        assert!(error.contains("IPv6 address without brackets"), "{error}");
        assert!(Target::parse("root@a\x1b[2J")
            .unwrap_err()
            .contains("\\x1b"));
    }

    #[test]
    fn each_tool_gets_the_host_where_it_looks() {
        let target = Target::parse("root@[::1]").unwrap();
        assert_eq!(target.ssh_args(), ["-l", "root", "--", "::1"]);
        assert_eq!(target.rsync("/srv/root/"), "root@[::1]:/srv/root/");
        let target = Target::parse("pve-5").unwrap();
        assert_eq!(target.ssh_args(), ["--", "pve-5"]);
        assert_eq!(target.rsync("/"), "pve-5:/");
    }
}
