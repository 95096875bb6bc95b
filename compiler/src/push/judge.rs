//! push::judge: the harm check of a plan, after the plan and before anything
//! is written. Its two sides are the host's files as the probe read them and
//! what the plan leaves there; when the network configuration changes, the
//! node's VM configs join both sides, so that a bridge a VM uses counts.
//! `harm::check` judges them.

use crate::harm::{self, Files, Harm, INTERFACES};
use crate::host::probe::{self, Found};
use crate::host::{HostError, Session};
use crate::plan::{Change, Desired, Plan};

/// The harms of carrying out `plan` on the host of `session`.
pub fn harms(
    session: &Session,
    host: &str,
    desired: &Desired,
    found: &Found,
    plan: &Plan,
) -> Result<Vec<Harm>, HostError> {
    let changes_network = plan.changes.iter().any(|(path, _)| path == INTERFACES);
    let vms = if changes_network {
        probe::vm_configs(session, host)?
    } else {
        Files::new()
    };
    let (before, after) = sides(found, &vms, desired, plan);
    Ok(harm::check(&before, &after))
}

/// The files the harm check reads, before and after the plan: what `found`
/// holds (and `vms`, where the probe did not read the path itself), then
/// each path the plan writes or removes.
pub fn sides(found: &Found, vms: &Files, desired: &Desired, plan: &Plan) -> (Files, Files) {
    let mut before: Files = vms.clone();
    before.extend(
        found
            .contents
            .iter()
            .filter(|(path, _)| harm::judges(path))
            .map(|(path, bytes)| (path.clone(), bytes.clone())),
    );
    let mut after = before.clone();
    for (path, change) in &plan.changes {
        if !harm::judges(path) {
            continue;
        }
        match (change, desired.files.get(path)) {
            (Change::Remove, _) => {
                after.remove(path);
            }
            (Change::Add | Change::Modify, Some(want)) => {
                after.insert(path.clone(), want.bytes.clone());
            }
            _ => {}
        }
    }
    (before, after)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::host::HostFile;
    use crate::plan::{plan, Want};

    fn want(text: &str) -> Want {
        Want {
            bytes: text.as_bytes().to_vec(),
            blake3: blake3::hash(text.as_bytes()).to_hex().to_string(),
            mode: 0o644,
            owner: "root:root".into(),
            action: None,
        }
    }

    #[test]
    fn the_plan_decides_the_after_side() {
        let conf = "/etc/pve/nodes/pve-5/qemu-server/230.conf";
        let on_host =
            "scsi0: local-zfs:vm-230-disk-0,size=32G\nscsi1: local-zfs:vm-230-disk-1,size=2T\n";
        let mut found = Found::default();
        for (path, text) in [(conf, on_host), ("/etc/hosts", "127.0.0.1 localhost\n")] {
            found.files.insert(
                path.to_owned(),
                HostFile {
                    blake3: blake3::hash(text.as_bytes()).to_hex().to_string(),
                    mode: 0o644,
                    owner: "root:root".into(),
                },
            );
            found
                .contents
                .insert(path.to_owned(), text.as_bytes().to_vec());
        }
        let files: BTreeMap<String, Want> = [
            (conf, want("scsi0: local-zfs:vm-230-disk-0,size=32G\n")),
            ("/etc/hosts", want("::1 localhost\n")),
        ]
        .into_iter()
        .map(|(path, want)| (path.to_owned(), want))
        .collect();
        let desired = Desired {
            bundle: "cluster".into(),
            manifest: None,
            files,
            confirm: Vec::new(),
            undoes: Vec::new(),
        };
        let plan = plan(&desired, &found.files, None, &[], true);
        let (before, after) = sides(&found, &Files::new(), &desired, &plan);
        assert_eq!(before.keys().collect::<Vec<_>>(), [conf]);
        assert_eq!(after[conf], desired.files[conf].bytes);
        let harms = harm::check(&before, &after);
        assert_eq!(harms.len(), 1);
        assert_eq!(harms[0].kind, harm::Kind::DiskRemoved);
    }
}
