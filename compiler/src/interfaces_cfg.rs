//! /etc/network/interfaces as PVE reads it (pve-common 9.2.1,
//! `PVE::Network::Interfaces::__read_etc_network_interfaces`, which
//! `PVE::INotify::read_etc_network_interfaces` calls), as far as bridges,
//! their ports, VLANs and addresses go. Pure; knows nothing of the fleet.
//!
//! The grammar: `#` lines are comments; `auto`, `allow-auto`, `allow-ovs`
//! and `allow-hotplug` lines mark interfaces to start; `iface NAME [inet|inet6
//! METHOD]` opens a stanza whose option lines (`name value`) last until a
//! line that opens another (`iface`, `mapping`, `auto`, `source`,
//! `source-directory`, `allow-…`) or one that is no option (an empty line).
//! Several stanzas of one name add up (`inet` and `inet6`). `bridge-ports`
//! (or `bridge_ports`) makes a bridge, `none` one without ports; a name
//! `DEV.ID`, or `vlan-raw-device`, a VLAN (`vlanID` names its id);
//! `address`/`netmask` become a CIDR (`address6` in `inet6` stanzas, or for
//! an address with `:` in a stanza without family). `source` lines are not
//! followed, as PVE does not follow them.
//!
//! Where PVE keeps a value as written but ifupdown2 reads it
//! (`bridge-vlan-aware no`, which PVE holds as 1), the value is read as
//! ifupdown2 applies it.

use std::collections::{BTreeMap, BTreeSet};

/// One interface, all its stanzas together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Iface {
    pub autostart: bool,
    /// `inet` address with prefix length (`cidr`), and gateway.
    pub cidr: Option<String>,
    pub gateway: Option<String>,
    /// `inet6` address with prefix length (`cidr6`), and gateway.
    pub cidr6: Option<String>,
    pub gateway6: Option<String>,
    /// A bridge's ports, sorted (`bridge-ports none`: empty); `None`: no bridge.
    pub bridge_ports: Option<BTreeSet<String>>,
    pub vlan_aware: bool,
    pub bridge_vids: Option<String>,
    /// A VLAN interface's device and VLAN id.
    pub vlan: Option<(String, String)>,
    address: Option<String>,
    netmask: Option<String>,
    address6: Option<String>,
    netmask6: Option<String>,
}

/// The interfaces of a file, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interfaces {
    pub ifaces: BTreeMap<String, Iface>,
}

impl Interfaces {
    /// The bridges, by name.
    pub fn bridges(&self) -> impl Iterator<Item = (&str, &Iface)> {
        self.ifaces
            .iter()
            .filter(|(_, iface)| iface.bridge_ports.is_some())
            .map(|(name, iface)| (name.as_str(), iface))
    }

    /// A port as the bridge sees it: its name, and for a VLAN interface its
    /// device and VLAN id (`vlan101` with `vlan-raw-device eno1`: eno1, 101).
    pub fn port(&self, name: &str) -> String {
        match self.ifaces.get(name).and_then(|iface| iface.vlan.as_ref()) {
            Some((device, id)) if !name.contains('.') => format!("{name} (VLAN {id} on {device})"),
            _ => name.to_owned(),
        }
    }
}

/// `^\s*(?:(?:iface|mapping|auto|source|source-directory)\s|allow-)`.
fn opens_stanza(line: &str) -> bool {
    let line = line.trim_start();
    ["iface", "mapping", "auto", "source", "source-directory"]
        .iter()
        .any(|word| {
            line.strip_prefix(word)
                .is_some_and(|rest| rest.starts_with(char::is_whitespace))
        })
        || line.starts_with("allow-")
}

/// Read the file as PVE does; never fails.
pub fn read(text: &str) -> Interfaces {
    let mut interfaces = Interfaces::default();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') {
            continue;
        }
        let mut words = trimmed.split_whitespace();
        match words.next() {
            Some("auto" | "allow-auto" | "allow-ovs" | "allow-hotplug") => {
                for name in words {
                    interfaces
                        .ifaces
                        .entry(name.to_owned())
                        .or_default()
                        .autostart = true;
                }
            }
            Some("iface") => {
                let rest: Vec<&str> = words.collect();
                let (name, family) = match rest[..] {
                    [name] => (name, None),
                    [name, family @ ("inet" | "inet6"), _method] => (name, Some(family)),
                    _ => continue,
                };
                let iface = interfaces.ifaces.entry(name.to_owned()).or_default();
                while let Some(option) = lines.next_if(|line| !opens_stanza(line)) {
                    let option = option.trim();
                    if option.starts_with('#') {
                        continue;
                    }
                    match option.split_once(char::is_whitespace) {
                        Some((key, value)) => iface.option(family, key, value.trim()),
                        None => break,
                    }
                }
            }
            _ => {}
        }
    }
    for (name, iface) in &mut interfaces.ifaces {
        iface.settle(name);
    }
    interfaces
}

impl Iface {
    /// One option line of a stanza of `family` (`None`: `iface NAME` alone).
    fn option(&mut self, family: Option<&str>, key: &str, value: &str) {
        let six = match family {
            Some(family) => family == "inet6",
            None => key != "netmask" && value.contains(':'),
        };
        let slot = match (key, six) {
            ("address", false) => &mut self.address,
            ("address", true) => &mut self.address6,
            ("netmask", false) => &mut self.netmask,
            ("netmask", true) => &mut self.netmask6,
            ("gateway", false) => &mut self.gateway,
            ("gateway", true) => &mut self.gateway6,
            ("bridge-ports" | "bridge_ports", _) => {
                let ports = self.bridge_ports.get_or_insert_with(BTreeSet::new);
                ports.extend(
                    value
                        .split_whitespace()
                        .filter(|port| *port != "none")
                        .map(str::to_owned),
                );
                return;
            }
            ("bridge-vlan-aware" | "bridge_vlan_aware", _) => {
                self.vlan_aware = matches!(value, "yes" | "on" | "1" | "true");
                return;
            }
            ("bridge-vids" | "bridge_vids", _) => &mut self.bridge_vids,
            ("vlan-raw-device", _) => {
                self.vlan.get_or_insert_with(Default::default).0 = value.to_owned();
                return;
            }
            ("vlan-id", _) => {
                self.vlan.get_or_insert_with(Default::default).1 = value.to_owned();
                return;
            }
            _ => return,
        };
        *slot = Some(value.to_owned());
    }

    /// The VLAN a name says, and addresses as CIDRs.
    fn settle(&mut self, name: &str) {
        if self.bridge_ports.is_none() {
            if let Some((device, id)) = name.rsplit_once('.') {
                if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
                    let vlan = self.vlan.get_or_insert_with(Default::default);
                    if vlan.0.is_empty() {
                        vlan.0 = device.to_owned();
                    }
                    vlan.1 = id.to_owned();
                }
            } else if let (Some(vlan), Some(id)) = (&mut self.vlan, name.strip_prefix("vlan")) {
                if vlan.1.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
                    vlan.1 = id.to_owned();
                }
            }
        }
        self.cidr = cidr(self.address.as_deref(), self.netmask.as_deref(), 32);
        self.cidr6 = cidr(self.address6.as_deref(), self.netmask6.as_deref(), 128);
    }
}

/// `address/prefix` from an address and a netmask (bits or dotted).
fn cidr(address: Option<&str>, netmask: Option<&str>, bits: u32) -> Option<String> {
    let address = address?;
    if address.contains('/') {
        return Some(address.to_owned());
    }
    let prefix = match netmask {
        Some(mask) if !mask.is_empty() && mask.bytes().all(|b| b.is_ascii_digit()) => {
            mask.to_owned()
        }
        Some(mask) => match mask.parse::<std::net::Ipv4Addr>() {
            Ok(mask) if u32::from(mask).leading_ones() == u32::from(mask).count_ones() => {
                u32::from(mask).count_ones().to_string()
            }
            _ => bits.to_string(),
        },
        None => bits.to_string(),
    };
    Some(format!("{address}/{prefix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As the PVE 8 installer writes it, with a VLAN-aware bridge added in the web UI.
    const INSTALLER: &str = "\
auto lo
iface lo inet loopback

iface eno1 inet manual

auto vmbr0
iface vmbr0 inet static
\taddress 192.168.93.6/24
\tgateway 192.168.93.254
\tbridge-ports eno1
\tbridge-stp off
\tbridge-fd 0

iface vmbr0 inet6 static
\taddress 2001:db8::6
\tnetmask 64

auto vlan101
iface vlan101 inet manual
\tvlan-raw-device eno1

auto vmbr1
iface vmbr1 inet manual
\tbridge-ports vlan101 eno2.7
#\tbridge-ports eno3
\tbridge-stp off
\tbridge-vlan-aware yes
\tbridge-vids 2-4094
iface vmbr2 inet static
\taddress 10.0.0.1
\tnetmask 255.255.0.0
\tbridge-ports none

source /etc/network/interfaces.d/*
";

    #[test]
    fn bridges_ports_vlans_and_addresses() {
        let read = read(INSTALLER);
        let vmbr0 = &read.ifaces["vmbr0"];
        assert!(vmbr0.autostart);
        assert_eq!(vmbr0.cidr.as_deref(), Some("192.168.93.6/24"));
        assert_eq!(vmbr0.gateway.as_deref(), Some("192.168.93.254"));
        assert_eq!(vmbr0.cidr6.as_deref(), Some("2001:db8::6/64"));
        let bridges: Vec<&str> = read.bridges().map(|(name, _)| name).collect();
        assert_eq!(bridges, ["vmbr0", "vmbr1", "vmbr2"]);
        let vmbr1 = &read.ifaces["vmbr1"];
        assert_eq!(
            vmbr1
                .bridge_ports
                .as_ref()
                .unwrap()
                .iter()
                .collect::<Vec<_>>(),
            ["eno2.7", "vlan101"]
        );
        assert!(vmbr1.vlan_aware);
        assert_eq!(vmbr1.bridge_vids.as_deref(), Some("2-4094"));
        assert_eq!(read.port("vlan101"), "vlan101 (VLAN 101 on eno1)");
        assert!(!read.ifaces.contains_key("eno2.7"), "not declared");
        assert_eq!(read.port("eno2.7"), "eno2.7");
        let vmbr2 = &read.ifaces["vmbr2"];
        assert_eq!(vmbr2.cidr.as_deref(), Some("10.0.0.1/16"));
        assert!(vmbr2.bridge_ports.as_ref().unwrap().is_empty());
        assert!(!vmbr2.autostart);
    }

    #[test]
    fn an_option_without_value_ends_the_stanza() {
        let read = read("iface vmbr0 inet static\n\tbridge-vlan-aware\n\tbridge-ports eno1\n");
        assert_eq!(read.ifaces["vmbr0"].bridge_ports, None);
        assert!(!read.ifaces["vmbr0"].vlan_aware);
        let vlan = super::read("iface eno1.20 inet manual\n");
        assert_eq!(
            vlan.ifaces["eno1.20"].vlan,
            Some(("eno1".into(), "20".into()))
        );
    }
}
