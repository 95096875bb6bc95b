//! /etc/network/interfaces: a bridge removed, or its ports or VLANs
//! changed, while a VM uses it; the management address changed (an
//! address on an interface that holds the default gateway).

use std::collections::{BTreeMap, BTreeSet};

use crate::interfaces_cfg::{self, Iface, Interfaces};

use super::{Harm, Kind};

pub(super) fn harms(
    path: &str,
    before: &str,
    after: &str,
    users: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<Harm> {
    let (old, new) = (interfaces_cfg::read(before), interfaces_cfg::read(after));
    let mut harms = bridge_harms(path, &old, &new, users);
    harms.extend(address_harms(path, &old, &new));
    harms
}

fn bridge_harms(
    path: &str,
    old: &Interfaces,
    new: &Interfaces,
    users: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<Harm> {
    let mut harms = Vec::new();
    for (name, bridge) in old.bridges() {
        let Some(vms) = users.get(name).filter(|vms| !vms.is_empty()) else {
            continue;
        };
        let ids = vms.iter().cloned().collect::<Vec<_>>().join(", ");
        let (vms, verb) = if vms.len() == 1 {
            (format!("VM {ids}"), "uses")
        } else {
            (format!("VMs {ids}"), "use")
        };
        let Some(now) = new
            .ifaces
            .get(name)
            .filter(|iface| iface.bridge_ports.is_some())
        else {
            harms.push(Harm::new(
                Kind::BridgeRemoved,
                path,
                format!("bridge {name} is removed while {vms} {verb} it: their NICs on it lose the network"),
            ));
            continue;
        };
        let changes = bridge_changes(old, bridge, new, now);
        if !changes.is_empty() {
            harms.push(Harm::new(
                Kind::BridgeChanged,
                path,
                format!("bridge {name}, which {vms} {verb}: {}", changes.join("; ")),
            ));
        }
    }
    harms
}

/// What changes of a bridge's ports (with their VLANs) and VLAN filtering.
fn bridge_changes(old: &Interfaces, was: &Iface, new: &Interfaces, now: &Iface) -> Vec<String> {
    let ports = |interfaces: &Interfaces, iface: &Iface| -> Vec<String> {
        iface
            .bridge_ports
            .iter()
            .flatten()
            .map(|port| interfaces.port(port))
            .collect()
    };
    let listed = |ports: &[String]| {
        if ports.is_empty() {
            "none".to_owned()
        } else {
            ports.join(" ")
        }
    };
    let (ports_was, ports_now) = (ports(old, was), ports(new, now));
    let mut changes = Vec::new();
    if ports_was != ports_now {
        changes.push(format!(
            "ports {} → {}",
            listed(&ports_was),
            listed(&ports_now)
        ));
    }
    if was.vlan_aware != now.vlan_aware {
        let aware = |on: bool| if on { "VLAN-aware" } else { "not VLAN-aware" };
        changes.push(format!(
            "{} → {}",
            aware(was.vlan_aware),
            aware(now.vlan_aware)
        ));
    }
    if was.vlan_aware && now.vlan_aware && was.bridge_vids != now.bridge_vids {
        let vids = |vids: &Option<String>| vids.clone().unwrap_or_else(|| "1".to_owned());
        changes.push(format!(
            "VLANs {} → {}",
            vids(&was.bridge_vids),
            vids(&now.bridge_vids)
        ));
    }
    changes
}

fn address_harms(path: &str, old: &Interfaces, new: &Interfaces) -> Vec<Harm> {
    let mut harms = Vec::new();
    type Side = fn(&Iface) -> (Option<&String>, Option<&String>);
    let families: [(&str, Side); 2] = [
        ("", |iface| (iface.cidr.as_ref(), iface.gateway.as_ref())),
        (" (IPv6)", |iface| {
            (iface.cidr6.as_ref(), iface.gateway6.as_ref())
        }),
    ];
    for (family, side) in families {
        for (name, iface) in &old.ifaces {
            let (Some(cidr), Some(gateway)) = side(iface) else {
                continue;
            };
            let now = new.ifaces.get(name).map(side);
            if now == Some((Some(cidr), Some(gateway))) {
                continue;
            }
            let moved = new
                .ifaces
                .iter()
                .find(|(_, other)| side(other) == (Some(cidr), Some(gateway)))
                .map(|(other, _)| other);
            let becomes = match (moved, now) {
                (Some(other), _) => format!("moves to {other}"),
                (None, Some((Some(cidr), gateway))) => format!(
                    "becomes {cidr}{}",
                    gateway
                        .map(|g| format!(" (gateway {g})"))
                        .unwrap_or_default()
                ),
                _ => "goes away".to_owned(),
            };
            harms.push(Harm::new(
                Kind::AddressChanged,
                path,
                format!(
                    "the management address{family} {cidr} on {name} (gateway {gateway}) {becomes}: the host may become unreachable"
                ),
            ));
        }
    }
    harms
}
