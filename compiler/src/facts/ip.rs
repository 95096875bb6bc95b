//! facts::ip: what `ip -j -d link`, `ip -j addr` and `ip -j route` print
//! (iproute2's JSON), read into the links, addresses and routes a fact
//! file keeps. Counters, lifetimes and interface indexes change while the
//! host's configuration does not, so they are left out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One network interface as a fact file keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// `bridge`, `vlan`, `bond`, `veth`…; `null` for a device of its own (a NIC).
    pub kind: Option<String>,
    pub mac: Option<String>,
    /// The bridge or bond it is a port of.
    pub master: Option<String>,
    pub mtu: Option<u64>,
    /// `up`, `down`, `unknown`… (the kernel's operstate, lower-cased).
    pub state: String,
    /// The device it sits on (a VLAN's NIC).
    pub parent: Option<String>,
    /// The bus a NIC sits on (`pci`, `virtio`…), from `ip -d`.
    pub bus: Option<String>,
    /// A VLAN's id.
    pub vlan: Option<u64>,
    /// Megabits per second, where the NIC reports it.
    pub speed: Option<u64>,
    /// `address/prefix`, IPv4 then IPv6, as `ip addr` lists them.
    pub addresses: Vec<String>,
}

/// One route of the main table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub dst: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefsrc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<u64>,
}

#[derive(Deserialize)]
struct RawLink {
    ifname: String,
    #[serde(default)]
    link_type: Option<String>,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    master: Option<String>,
    #[serde(default)]
    mtu: Option<u64>,
    #[serde(default)]
    operstate: Option<String>,
    #[serde(default)]
    link: Option<String>,
    #[serde(default)]
    parentbus: Option<String>,
    #[serde(default)]
    linkinfo: Option<LinkInfo>,
}

#[derive(Deserialize)]
struct LinkInfo {
    #[serde(default)]
    info_kind: Option<String>,
    #[serde(default)]
    info_data: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawAddresses {
    ifname: String,
    #[serde(default)]
    addr_info: Vec<AddrInfo>,
}

#[derive(Deserialize)]
struct AddrInfo {
    family: String,
    local: String,
    prefixlen: u32,
}

/// Whether a link belongs to a guest rather than to the host: the ports
/// PVE adds for a running VM or container (`tap100i0`, `veth100i0`,
/// `fwbr100i0`, `fwpr100p0`, `fwln100i0`), which come and go with it.
pub fn is_guest_port(name: &str) -> bool {
    ["tap", "veth", "fwbr", "fwpr", "fwln"]
        .iter()
        .any(|prefix| {
            name.strip_prefix(prefix).is_some_and(|rest| {
                let digits = rest.chars().take_while(char::is_ascii_digit).count();
                digits > 0 && matches!(rest[digits..].chars().next(), Some('i' | 'p'))
            })
        })
}

/// The host's links from `ip -j -d link` and `ip -j addr`, by name: the
/// loopback and guests' ports left out.
pub fn links(link_json: &[u8], addr_json: &[u8]) -> Result<BTreeMap<String, Link>, String> {
    let raw: Vec<RawLink> =
        serde_json::from_slice(link_json).map_err(|e| format!("`ip -j -d link`: {e}"))?;
    let addresses: Vec<RawAddresses> =
        serde_json::from_slice(addr_json).map_err(|e| format!("`ip -j addr`: {e}"))?;
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in addresses {
        let mut listed: Vec<(bool, String)> = entry
            .addr_info
            .into_iter()
            .map(|a| (a.family != "inet", format!("{}/{}", a.local, a.prefixlen)))
            .collect();
        // IPv4 first; each family in the kernel's order.
        listed.sort_by_key(|(v6, _)| *v6);
        by_name
            .entry(entry.ifname)
            .or_default()
            .extend(listed.into_iter().map(|(_, address)| address));
    }
    Ok(raw
        .into_iter()
        .filter(|link| {
            link.link_type.as_deref() != Some("loopback") && !is_guest_port(&link.ifname)
        })
        .map(|link| {
            let info = link.linkinfo.as_ref();
            let kind = info.and_then(|info| info.info_kind.clone());
            let vlan = info
                .filter(|_| kind.as_deref() == Some("vlan"))
                .and_then(|info| info.info_data.as_ref()?.get("id")?.as_u64());
            let addresses = by_name.remove(&link.ifname).unwrap_or_default();
            let state = link
                .operstate
                .as_deref()
                .unwrap_or("unknown")
                .to_ascii_lowercase();
            (
                link.ifname,
                Link {
                    kind,
                    mac: link.address,
                    master: link.master,
                    mtu: link.mtu,
                    state,
                    parent: link.link,
                    bus: link.parentbus,
                    vlan,
                    speed: None,
                    addresses,
                },
            )
        })
        .collect())
}

/// The bridges and their ports (guests' ports left out), from the links.
pub fn bridges(links: &BTreeMap<String, Link>) -> BTreeMap<String, Vec<String>> {
    let mut bridges: BTreeMap<String, Vec<String>> = links
        .iter()
        .filter(|(_, link)| link.kind.as_deref() == Some("bridge"))
        .map(|(name, _)| (name.clone(), Vec::new()))
        .collect();
    for (name, link) in links {
        if let Some(ports) = link.master.as_ref().and_then(|m| bridges.get_mut(m)) {
            ports.push(name.clone());
        }
    }
    bridges
}

/// The main table's routes from `ip -j route`, sorted.
pub fn routes(route_json: &[u8]) -> Result<Vec<Route>, String> {
    let mut routes: Vec<Route> =
        serde_json::from_slice(route_json).map_err(|e| format!("`ip -j route`: {e}"))?;
    routes.sort_by(|a, b| (&a.dst, &a.dev, a.metric).cmp(&(&b.dst, &b.dev, b.metric)));
    Ok(routes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/facts")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn a_debian_12_machine_has_its_nic_with_mac_state_and_addresses() {
        let links = links(
            &fixture("debian12-ip-link.json"),
            &fixture("debian12-ip-addr.json"),
        )
        .unwrap();
        assert_eq!(
            links.keys().collect::<Vec<_>>(),
            ["eth0", "ifb0", "ifb1"],
            "no loopback"
        );
        let eth0 = &links["eth0"];
        assert_eq!(eth0.kind, None, "a device of its own");
        assert_eq!(eth0.bus.as_deref(), Some("virtio"));
        assert_eq!(eth0.mac.as_deref(), Some("02:fc:00:00:00:01"));
        assert_eq!(eth0.state, "up");
        assert_eq!(eth0.mtu, Some(1400));
        assert_eq!(
            eth0.addresses,
            ["192.0.2.2/24", "fd00::2/64", "fe80::fc:ff:fe00:1/64"]
        );
        assert_eq!(links["ifb0"].kind.as_deref(), Some("ifb"));
        assert_eq!(links["ifb0"].state, "down");
        let routes = routes(&fixture("debian12-ip-route.json")).unwrap();
        assert_eq!(routes[0].dst, "192.0.2.0/24");
        assert_eq!(routes[1].dst, "default");
        assert_eq!(routes[1].gateway.as_deref(), Some("192.0.2.1"));
    }

    #[test]
    fn bridges_list_their_ports_without_guests() {
        let links = links(&fixture("pve-ip-link.json"), &fixture("pve-ip-addr.json")).unwrap();
        assert!(!links.contains_key("tap100i0"), "a guest's port");
        assert_eq!(
            links["vmbr0"].addresses,
            ["192.168.93.6/24", "fe80::3eec:efff:fe10:2001/64"]
        );
        assert_eq!(links["vmbr1"].addresses[0], "10.254.0.242/21");
        assert_eq!(links["eno1"].master.as_deref(), Some("vmbr0"));
        assert_eq!(links["eno1"].mac.as_deref(), Some("3c:ec:ef:10:20:01"));
        let bridges = bridges(&links);
        assert_eq!(bridges["vmbr0"], ["eno1"]);
        assert_eq!(bridges["vmbr1"], ["eno2"]);
        assert!(bridges["vmbr10"].is_empty());
        assert_eq!(links["vmbr10"].state, "unknown");
        let routes = routes(&fixture("pve-ip-route.json")).unwrap();
        let default = routes.iter().find(|r| r.dst == "default").unwrap();
        assert_eq!(default.gateway.as_deref(), Some("192.168.93.254"));
        assert_eq!(default.dev.as_deref(), Some("vmbr0"));
    }

    #[test]
    fn guest_ports_are_told_by_pve_names() {
        for name in [
            "tap100i0",
            "veth230i1",
            "fwbr100i0",
            "fwpr100p0",
            "fwln100i0",
        ] {
            assert!(is_guest_port(name), "{name}");
        }
        for name in ["eno1", "vmbr0", "veth0", "tap", "tapx1i0", "enp65s0f0"] {
            assert!(!is_guest_port(name), "{name}");
        }
    }
}
