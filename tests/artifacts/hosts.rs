//! /etc/hostname and /etc/hosts of each host. PVE needs the node name to
//! resolve, through /etc/hosts, to the node's own address, never to a
//! loopback one (Debian's installer writes 127.0.1.1; pve-cluster then fails).
//! glibc itself resolves the name and the FQDN (`getent hosts`, with the
//! bundle's /etc/hosts bind-mounted over the machine's in a private mount
//! namespace); glibc skips malformed lines silently, so every line is also
//! checked here: an IP address, then host names.

use std::net::IpAddr;
use std::path::Path;

use super::{
    artifacts, assert_rejects, check_all, of_kind, on_file, run_isolated, scratch, Artifact, Kind,
    Mount,
};

/// The domain of every host's FQDN (FLEET.md).
const DOMAIN: &str = "vm.ustclug.org";

/// A DNS label sequence: labels of letters, digits and inner `-`.
fn is_host_name(name: &str) -> bool {
    name.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

/// One line `NAME\n`, NAME a PVE node name (one label).
fn check_hostname(text: &str) -> Result<&str, String> {
    let name = text
        .strip_suffix('\n')
        .filter(|name| !name.contains('\n') && !name.contains('.') && is_host_name(name))
        .ok_or_else(|| format!("not one line holding a node name: {text:?}"))?;
    Ok(name)
}

fn check_lines(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let content = line.split('#').next().unwrap_or_default();
        let mut words = content.split_whitespace();
        let Some(address) = words.next() else {
            continue;
        };
        let names: Vec<&str> = words.collect();
        if address.parse::<IpAddr>().is_err() {
            problems.push(format!(
                "line {}: `{address}` is not an IP address",
                index + 1
            ));
        }
        if names.is_empty() {
            problems.push(format!("line {}: no host name", index + 1));
        }
        for name in names.iter().filter(|name| !is_host_name(name)) {
            problems.push(format!("line {}: `{name}` is not a host name", index + 1));
        }
    }
    problems
}

/// `name` and `name.DOMAIN` resolve through `hosts` to one address that is
/// not a loopback address.
pub(super) fn check_resolution(hosts: &Path, name: &str) -> Result<(), String> {
    let mount = [Mount::Bind {
        source: hosts,
        target: "/etc/hosts",
    }];
    let fqdn = format!("{name}.{DOMAIN}");
    let mut addresses = Vec::new();
    for query in [name, fqdn.as_str()] {
        let outcome = run_isolated(&mount, "getent", &["hosts", query]);
        outcome.ok()?;
        let address = outcome.stdout.split_whitespace().next().unwrap_or_default();
        match address.parse::<IpAddr>() {
            Ok(ip) if !ip.is_loopback() => addresses.push(address.to_owned()),
            _ => return Err(format!("{query} resolves to {address}, a loopback address")),
        }
    }
    if addresses[0] != addresses[1] {
        return Err(format!("{name} and {fqdn} resolve to {addresses:?}"));
    }
    Ok(())
}

fn check(hostname: &Artifact, all: &[Artifact]) -> Result<(), String> {
    let name = check_hostname(&String::from_utf8_lossy(&hostname.bytes()))?.to_owned();
    if name != hostname.bundle {
        return Err(format!("names `{name}`, not the bundle's host"));
    }
    let hosts = all
        .iter()
        .find(|a| a.bundle == hostname.bundle && a.target == "/etc/hosts")
        .ok_or("no /etc/hosts beside it")?;
    let problems = check_lines(&hosts.text());
    if !problems.is_empty() {
        return Err(format!("{hosts}:\n{}", problems.join("\n")));
    }
    check_resolution(&hosts.file, &name).map_err(|e| format!("{hosts}: {e}"))
}

#[test]
fn every_host_resolves_its_own_name_through_its_hosts_file() {
    let all = artifacts();
    check_all(&of_kind(Kind::Hostname), |hostname| check(hostname, &all));
}

#[test]
fn every_hosts_file_has_a_hostname_beside_it() {
    let all = artifacts();
    check_all(&of_kind(Kind::Hosts), |hosts| {
        let beside = |a: &Artifact| a.bundle == hosts.bundle && a.target == "/etc/hostname";
        if all.iter().any(beside) {
            Ok(())
        } else {
            Err("no /etc/hostname beside it".to_owned())
        }
    });
}

pub(super) const GOOD: &str = "\
127.0.0.1 localhost.localdomain localhost
10.38.95.111 esxi-5.vm.ustclug.org esxi-5

# pinned outside host
20.205.243.166 github.com
::1     ip6-localhost ip6-loopback
";

#[test]
fn loopback_names_missing_names_and_malformed_lines_are_rejected() {
    let dir = scratch();
    assert_rejects(
        GOOD,
        &[
            ("10.38.95.111", "127.0.1.1", "a loopback address"),
            (" esxi-5\n", "\n", "`getent hosts esxi-5` failed"),
            (" esxi-5\n", "\n10.38.95.112 esxi-5\n", "resolve to"),
        ],
        on_file(dir.path(), "hosts", |file| check_resolution(file, "esxi-5")),
    );
    let lines = |text: &str| match check_lines(text).as_slice() {
        [] => Ok(()),
        problems => Err(problems.join("\n")),
    };
    assert_rejects(
        GOOD,
        &[
            ("10.38.95.111", "10.38.95.311", "not an IP address"),
            (
                "20.205.243.166 github.com",
                "20.205.243.166",
                "no host name",
            ),
            ("github.com", "git_hub.com", "not a host name"),
        ],
        lines,
    );
    assert_eq!(check_hostname("esxi-5\n"), Ok("esxi-5"));
    for bad in [
        "esxi-5",
        "esxi-5.vm.ustclug.org\n",
        "esxi_5\n",
        "esxi-5\n\n",
        "-x\n",
    ] {
        assert!(check_hostname(bad).is_err(), "accepted {bad:?}");
    }
}
