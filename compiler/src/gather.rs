//! gather: one host's facts (`lugc facts`) over one read-only `host`
//! session: the files read below the root and the commands run through the
//! fact runner, in one `host.sh facts` call, made into `facts::Facts` by
//! `facts`' pure readers.

use crate::facts::{
    fingerprint, inventory, ip, os_release, redact, speeds, storage, Facts, PBS_CERT,
};
use crate::host::probe::{self, FactCommand, Gathered};
use crate::host::{Hold, HostError, Remote, Session};

/// The commands a fact comes from; the runner gets each as one argument.
const COMMANDS: [FactCommand<'static>; 10] = [
    FactCommand {
        name: "ip-link",
        input: None,
        command: "ip -j -d link",
    },
    FactCommand {
        name: "ip-addr",
        input: None,
        command: "ip -j addr",
    },
    FactCommand {
        name: "ip-route",
        input: None,
        command: "ip -j route",
    },
    FactCommand {
        name: "speed",
        input: None,
        command: r#"for nic in /sys/class/net/*; do echo "${nic##*/} $(cat "$nic/speed" 2>/dev/null)"; done"#,
    },
    FactCommand {
        name: "pveversion",
        input: None,
        command: "pveversion",
    },
    FactCommand {
        name: "pbs-fingerprint",
        input: Some(PBS_CERT),
        command: "openssl x509 -noout -fingerprint -sha256",
    },
    FactCommand {
        name: "vgs",
        input: None,
        command: "vgs --noheadings -o vg_name",
    },
    FactCommand {
        name: "lvs",
        input: None,
        command: "lvs --noheadings --separator : -o vg_name,lv_name,lv_attr",
    },
    FactCommand {
        name: "zfs",
        input: None,
        command: "zfs list -H -o name",
    },
    FactCommand {
        name: "lsblk",
        input: None,
        command: "lsblk -J -d -b -o NAME,SIZE,MODEL,SERIAL,TYPE",
    },
];

/// The commands whose failure leaves no usable facts.
const REQUIRED: [&str; 3] = ["ip-link", "ip-addr", "ip-route"];

/// Gather `host`'s facts, reading and running only; `runner` runs each command there.
pub fn gather(remote: &Remote, host: &str, runner: &str) -> Result<Facts, HostError> {
    let session = Session::open(remote, host, &Hold::Read)?;
    let gathered = probe::facts(&session, host, runner, &COMMANDS)?;
    let checked = match gathered.found.large.iter().next() {
        Some((path, size)) => Err(format!(
            "{path} is {size} bytes, above --max-file-size: hashed on the host, not read"
        )),
        None => assemble(host, &gathered),
    };
    checked.map_err(|reason| HostError::RemoteState {
        host: host.to_owned(),
        reason,
    })
}

/// Facts from what the host answered.
fn assemble(host: &str, gathered: &Gathered) -> Result<Facts, String> {
    let output = |name: &str| -> Option<&[u8]> {
        match gathered.ran.get(name) {
            Some(Some((0, bytes))) => Some(bytes),
            _ => None,
        }
    };
    for name in REQUIRED {
        if output(name).is_none() {
            let command = COMMANDS
                .iter()
                .find(|c| c.name == name)
                .map_or(name, |c| c.command);
            let status = match gathered.ran.get(name) {
                Some(Some((status, _))) => format!("exit {status}"),
                _ => "no answer".to_owned(),
            };
            return Err(format!("`{command}` failed on the host ({status})"));
        }
    }
    let text = |path: &str| {
        gathered
            .found
            .contents
            .get(path)
            .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
    };
    let mut links = ip::links(
        output("ip-link").unwrap_or_default(),
        output("ip-addr").unwrap_or_default(),
    )?;
    let speed_text = String::from_utf8_lossy(output("speed").unwrap_or_default()).into_owned();
    for (name, speed) in speeds(&speed_text) {
        if let Some(link) = links.get_mut(name) {
            link.speed = Some(speed);
        }
    }
    let vms = gathered
        .found
        .contents
        .iter()
        .filter_map(|(path, bytes)| {
            let (dir, file) = path.rsplit_once('/')?;
            let id = file.strip_suffix(".conf")?;
            let is_vm = dir.ends_with("/qemu-server")
                && !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_digit());
            is_vm.then(|| (id.to_owned(), String::from_utf8_lossy(bytes).into_owned()))
        })
        .collect();
    let mut facts = Facts {
        schema: crate::facts::SCHEMA,
        host: host.to_owned(),
        os_release: text("/etc/os-release")
            .or_else(|| text("/usr/lib/os-release"))
            .map(|text| os_release(&text))
            .unwrap_or_default(),
        pve_version: output("pveversion")
            .map(String::from_utf8_lossy)
            .and_then(|text| text.lines().next().map(|line| line.trim().to_owned()))
            .filter(|line| !line.is_empty()),
        bridges: ip::bridges(&links),
        links,
        routes: ip::routes(output("ip-route").unwrap_or_default())?,
        storage: text(crate::pve::STORAGE_CFG).map(|text| storage(&text)),
        volume_groups: output("vgs").map(|vgs| {
            let lvs = String::from_utf8_lossy(output("lvs").unwrap_or_default());
            inventory::volume_groups(&String::from_utf8_lossy(vgs), &lvs)
        }),
        zfs_datasets: output("zfs")
            .map(|names| inventory::zfs_datasets(&String::from_utf8_lossy(names))),
        disks: output("lsblk").and_then(inventory::disks),
        vms,
        pbs_fingerprint: output("pbs-fingerprint")
            .and_then(|bytes| fingerprint(&String::from_utf8_lossy(bytes))),
        redacted: Vec::new(),
    };
    redact::facts(&mut facts);
    Ok(facts)
}
