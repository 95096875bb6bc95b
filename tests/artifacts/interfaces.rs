//! /etc/network/interfaces: ifupdown2 itself parses and dry-runs every file,
//! then its parsed view (`ifquery -o json`) is checked for what ifupdown2
//! does not check: undeclared bridge ports or bond slaves, routes through
//! undeclared devices, prefix lengths beyond 32 (128 for IPv6).
//!
//! ifupdown2 runs as VALIDATORS.md describes, isolated by [`run_isolated`]:
//! - new mount and network namespaces, tmpfs over /run and /var/tmp (its
//!   lock and state), `/run/network` created, every mount with `mount -n`;
//! - a copy of ifupdown2.conf with `addon_syntax_check=1` bind-mounted over
//!   the shipped one (which has 0, accepting unknown keywords silently);
//! - a copy of lib/nlcache.py whose `link_set_bridge_info_data_dry_run`
//!   gets the default `link_just_created=False` its caller relies on, without
//!   which `--no-act` crashes on any bridge with attributes, bind-mounted over
//!   the shipped one, with PYTHONDONTWRITEBYTECODE=1 so that no bytecode of
//!   the patched module lands on the machine;
//! - an empty tmpfs over /etc/network/interfaces.d, so that a `source` line
//!   reads nothing of the build machine.
//!
//! Every file must also keep the PVE installer's last line,
//! `source /etc/network/interfaces.d/*`, which PVE's SDN relies on.

use std::collections::BTreeSet;
use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{
    assert_rejects, check_all, of_kind, on_file, run_isolated, scratch, write, Kind, Mount, Outcome,
};

/// The line that reads /etc/network/interfaces.d, where PVE's SDN writes.
const SOURCE_D: &str = "source /etc/network/interfaces.d/*";

const CONF: &str = "/etc/network/ifupdown2/ifupdown2.conf";
const NLCACHE: &str = "/usr/share/ifupdown2/lib/nlcache.py";
const NLCACHE_BUG: &str =
    "def link_set_bridge_info_data_dry_run(self, ifname, ifla_info_data, link_just_created):";
const NLCACHE_FIX: &str =
    "def link_set_bridge_info_data_dry_run(self, ifname, ifla_info_data, link_just_created=False):";

/// Warnings ifupdown2 prints that say nothing wrong about the file, each
/// with why; a line is harmless when it starts with `warning: ` and contains
/// one of these.
const HARMLESS: &[&str] = &[
    // bridge-utils is not installed on the build machine (nor needed: PVE's
    // ifupdown2 manages bridges over netlink); printed once per run.
    "/sbin/brctl: missing - bridge operation may not work as expected",
    // `ifup -s` only: PVE writes `bridge-ports none` for a bridge without
    // ports, which ifupdown2 accepts when it brings the bridge up.
    ": bridge-ports: invalid value \"none\": valid attribute values: ['<interface-list>']",
    // `ifup -s` only: an mtu on a bridge, which PVE writes and ifupdown2
    // applies at run time.
    ": bridge inherits mtu from its ports. There is no need to assign mtu on a bridge",
];

/// What ifupdown2 prints, whatever the file, when its netlink listener reads
/// the socket the run is closing; such a run is repeated.
const LISTENER_RACE: &str = "error: recv() error: [Errno 22] Invalid argument";

fn harmless(line: &str) -> bool {
    line.strip_prefix("warning: ")
        .is_some_and(|warning| HARMLESS.iter().any(|h| warning.contains(h)))
}

/// ifupdown2 set up to check files without touching the machine.
pub(super) struct Ifupdown2 {
    _scratch: tempfile::TempDir,
    conf: PathBuf,
    nlcache: PathBuf,
}

impl Ifupdown2 {
    pub(super) fn new() -> Self {
        let scratch = scratch();
        let shipped = fs::read_to_string(CONF).expect("ifupdown2 is installed");
        let strict: String = shipped
            .lines()
            .filter(|line| !line.starts_with("addon_syntax_check="))
            .chain(["addon_syntax_check=1"])
            .map(|line| format!("{line}\n"))
            .collect();
        let conf = write(scratch.path(), "ifupdown2.conf", &strict);
        let nlcache = fs::read_to_string(NLCACHE).expect("ifupdown2's nlcache.py");
        let nlcache = write(
            scratch.path(),
            "nlcache.py",
            &nlcache.replace(NLCACHE_BUG, NLCACHE_FIX),
        );
        Ifupdown2 {
            _scratch: scratch,
            conf,
            nlcache,
        }
    }

    fn run(&self, tool: &str, args: &[&Path]) -> Outcome {
        let mounts = [
            Mount::Dir("/run/network"),
            Mount::Bind {
                source: &self.conf,
                target: CONF,
            },
            Mount::Bind {
                source: &self.nlcache,
                target: NLCACHE,
            },
            Mount::Tmpfs("/etc/network/interfaces.d"),
        ];
        run_isolated(&mounts, tool, args)
    }

    /// `ifup -s -i FILE -a` checks every keyword and value (it exits 1 on
    /// any warning, so only its lines count), then `ifup --no-act -i FILE -a`
    /// dry-runs bringing up every `auto` interface.
    fn validate(&self, file: &Path) -> Result<(), String> {
        let at = |option| {
            let run = || {
                self.run(
                    "ifup",
                    &[Path::new(option), Path::new("-i"), file, Path::new("-a")],
                )
            };
            let mut outcome = run();
            for _ in 0..3 {
                if !outcome.lines().any(|line| line.contains(LISTENER_RACE)) {
                    break;
                }
                outcome = run();
            }
            outcome
        };
        let syntax = at("-s");
        if syntax.lines().any(|line| !harmless(line)) {
            return Err(syntax.to_string());
        }
        let dry_run = at("--no-act");
        if dry_run.lines().any(|line| !harmless(line)) {
            return Err(dry_run.to_string());
        }
        dry_run.ok()
    }

    /// Every interface of the file as ifupdown2 parsed it.
    fn query(&self, file: &Path) -> Result<Vec<Value>, String> {
        let text = fs::read_to_string(file).map_err(|e| e.to_string())?;
        let names: BTreeSet<&str> = text
            .lines()
            .filter_map(|line| line.trim_start().strip_prefix("iface "))
            .filter_map(|rest| rest.split_whitespace().next())
            .collect();
        let mut args = vec![Path::new("-o"), Path::new("json"), Path::new("-i"), file];
        args.extend(names.iter().map(Path::new));
        let outcome = self.run("ifquery", &args);
        outcome.ok()?;
        match serde_json::from_str(&outcome.stdout) {
            Ok(Value::Array(interfaces)) => Ok(interfaces),
            _ => Err(format!("unexpected output of {outcome}")),
        }
    }

    pub(super) fn check(&self, file: &Path) -> Result<(), String> {
        let text = fs::read_to_string(file).map_err(|e| e.to_string())?;
        if !text.lines().any(|line| line == SOURCE_D) {
            return Err(format!(
                "no `{SOURCE_D}` (PVE's installer writes it; SDN needs it)"
            ));
        }
        self.validate(file)?;
        let problems = own_checks(&self.query(file)?);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }
}

/// The values of `key` in an interface's config: ifquery gives one string,
/// or a list when the key repeats.
fn values<'a>(interface: &'a Value, key: &str) -> Vec<&'a str> {
    match &interface["config"][key] {
        Value::String(value) => vec![value.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// What ifupdown2 leaves unchecked.
fn own_checks(interfaces: &[Value]) -> Vec<String> {
    let declared: BTreeSet<&str> = interfaces
        .iter()
        .filter_map(|interface| interface["name"].as_str())
        .collect();
    let mut problems = Vec::new();
    for interface in interfaces {
        let name = interface["name"].as_str().unwrap_or("?");
        for key in ["bridge-ports", "bond-slaves"] {
            for port in values(interface, key)
                .iter()
                .flat_map(|v| v.split_whitespace())
            {
                if port != "none" && !declared.contains(port) {
                    problems.push(format!("{name}: {key} `{port}` is not declared"));
                }
            }
        }
        for key in ["pre-up", "up", "post-up", "down", "pre-down", "post-down"] {
            for command in values(interface, key) {
                let words: Vec<&str> = command.split_whitespace().collect();
                for pair in words.windows(2).filter(|pair| pair[0] == "dev") {
                    if !declared.contains(pair[1]) {
                        problems.push(format!(
                            "{name}: `{command}` uses undeclared device `{}`",
                            pair[1]
                        ));
                    }
                }
            }
        }
        for address in values(interface, "address") {
            if let Err(problem) = check_address(address) {
                problems.push(format!("{name}: address {address}: {problem}"));
            }
        }
    }
    problems
}

/// `ip/prefix`, the prefix at most the address width.
fn check_address(address: &str) -> Result<(), &'static str> {
    let (ip, prefix) = address.split_once('/').ok_or("no prefix length")?;
    let ip: IpAddr = ip.parse().map_err(|_| "not an IP address")?;
    let prefix: u8 = prefix
        .parse()
        .map_err(|_| "prefix length is not a number")?;
    let width = if ip.is_ipv4() { 32 } else { 128 };
    if prefix > width {
        return Err("prefix length beyond the address width");
    }
    Ok(())
}

#[test]
fn every_interfaces_file_passes_ifupdown2_and_declares_what_it_uses() {
    let ifupdown2 = Ifupdown2::new();
    check_all(&of_kind(Kind::Interfaces), |artifact| {
        ifupdown2.check(&artifact.file)
    });
}

/// The pve-5 end of the esxi-5 tunnel as FLEET.md shows it, with a campus
/// bridge, a headless bridge and a pinned outside route.
pub(super) const GOOD: &str = "\
auto lo
iface lo inet loopback

iface enp1s0 inet manual

auto vmbr0
iface vmbr0 inet static
\taddress 10.38.95.111/24
\tgateway 10.38.95.254
\tbridge-ports enp1s0
\tbridge-stp off
\tbridge-fd 0

auto gretap0esxi-5
iface gretap0esxi-5 inet manual
\tpre-up ip link add name $IFACE mtu $IF_MTU type gretap local 10.38.95.111 remote 10.38.95.115
\tpost-down ip link delete $IFACE
\tmtu 1500

auto vmbr1
iface vmbr1 inet static
\taddress 10.254.0.240/21
\tbridge-ports gretap0esxi-5
\tbridge-stp off
\tbridge-fd 0
\tup ip route replace 20.205.243.166 via 10.254.0.254 dev vmbr1

auto vmbr4
iface vmbr4 inet manual
\tbridge-ports none
\tbridge-stp off
\tbridge-fd 0

source /etc/network/interfaces.d/*
";

#[test]
fn ifupdown2_and_the_own_checks_reject_broken_files() {
    let ifupdown2 = Ifupdown2::new();
    let dir = scratch();
    assert_rejects(
        GOOD,
        &[
            (
                "\tbridge-stp off\n\tbridge-fd 0\n\tup",
                "\tbridge-stpp off\n\tbridge-fd 0\n\tup",
                "unsupported keyword",
            ),
            ("\tmtu 1500", "\tmtu fifteen", "invalid mtu fifteen"),
            (
                "\tbridge-ports none\n\tbridge-stp off\n",
                "\tbridge-ports none\n\tbridge-stp maybe\n",
                "bridge-stp: invalid value \"maybe\"",
            ),
            (
                "10.38.95.111/24",
                "10.38.95.300/24",
                "invalid value \"10.38.95.300/24\"",
            ),
            (
                "gateway 10.38.95.254",
                "gateway banana",
                "gateway: invalid value",
            ),
            (
                "iface vmbr4 inet manual",
                "iface vmbr4 inet statik",
                "unsupported address method",
            ),
            // What ifupdown2 accepts and the own checks catch:
            (
                "\tbridge-ports enp1s0",
                "\tbridge-ports enp2s0",
                "`enp2s0` is not declared",
            ),
            ("dev vmbr1\n", "dev vmbr3\n", "undeclared device `vmbr3`"),
            ("10.254.0.240/21", "10.254.0.240/33", "prefix length beyond"),
            ("10.254.0.240/21", "10.254.0.240", "no prefix length"),
            (
                "\nsource /etc/network/interfaces.d/*\n",
                "",
                "no `source /etc/network/interfaces.d/*`",
            ),
        ],
        on_file(dir.path(), "interfaces", |file| ifupdown2.check(file)),
    );
}

#[test]
fn the_dry_run_needs_the_nlcache_workaround_and_the_strict_conf() {
    // Proof that each workaround is still needed and in effect: the shipped
    // nlcache.py crashes the dry run of a bridge with attributes, and the
    // shipped conf accepts an unknown keyword.
    let ifupdown2 = Ifupdown2::new();
    let shipped = fs::read_to_string(NLCACHE).expect("nlcache.py");
    assert!(
        shipped.contains(NLCACHE_BUG),
        "ifupdown2's nlcache.py no longer has the dry-run bug: drop the workaround"
    );
    let dir = scratch();
    let file = write(dir.path(), "good", GOOD);
    let unpatched = run_isolated(
        &[
            Mount::Dir("/run/network"),
            Mount::Tmpfs("/etc/network/interfaces.d"),
        ],
        "ifup",
        &[
            Path::new("--no-act"),
            Path::new("-i"),
            &file,
            Path::new("-a"),
        ],
    );
    assert!(
        unpatched.stderr.contains("link_just_created"),
        "expected the nlcache crash: {unpatched}"
    );
    let unknown = write(
        dir.path(),
        "unknown",
        &GOOD.replacen("bridge-stp off", "bridge-stpp off", 1),
    );
    let lax = run_isolated(
        &[
            Mount::Dir("/run/network"),
            Mount::Bind {
                source: &ifupdown2.nlcache,
                target: NLCACHE,
            },
            Mount::Tmpfs("/etc/network/interfaces.d"),
        ],
        "ifup",
        &[
            Path::new("--no-act"),
            Path::new("-i"),
            &unknown,
            Path::new("-a"),
        ],
    );
    assert!(
        lax.success,
        "the shipped conf now rejects unknown keywords: {lax}"
    );
    assert!(ifupdown2.validate(&unknown).is_err());
}
