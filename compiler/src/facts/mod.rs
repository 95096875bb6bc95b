//! facts: what a host is, as `lugc facts` gathers it into `facts/<host>.json`.
//!
//! In: the files a host keeps its configuration in (read below `--root`) and
//! the output of a few commands run there through the fact runner
//! (`ip -j`, `pveversion`, `openssl`, `vgs`, `lvs`, `zfs`, `lsblk`). Out: a [`Facts`] document, written
//! with sorted keys and no timestamps, so the same host state gives the same
//! bytes. Pure: the model, the fact files (`load`, `write`) and the readers
//! of what a host answered; `crate::gather` asks the host.

pub mod inventory;
pub mod ip;
pub(crate) mod redact;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::diagnostic::{Diagnostics, SourceDiagnostic};
use crate::eval::nickel_string;

use inventory::Disk;
use ip::{Link, Route};

/// Value of the `schema` field of a fact file.
pub const SCHEMA: &str = "lugc-facts 1";

/// The directory of fact files, beside cluster.ncl and out/.
pub const FACTS_DIR: &str = "facts";

/// The file in facts/ that imports every fact file by host; lib/facts.ncl
/// imports it, so it exists with or without facts.
pub const INDEX_FILE: &str = "index.ncl";

/// The certificate PBS serves on its port.
pub(crate) const PBS_CERT: &str = "/etc/proxmox-backup/proxy.pem";

/// One host's facts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Facts {
    pub schema: &'static str,
    pub host: String,
    /// /etc/os-release (or /usr/lib/os-release) as key and value.
    pub os_release: BTreeMap<String, String>,
    /// `pveversion`'s line, where PVE is installed.
    pub pve_version: Option<String>,
    /// Network interfaces by name, without the loopback and guests' ports.
    pub links: BTreeMap<String, Link>,
    /// Bridges and their ports.
    pub bridges: BTreeMap<String, Vec<String>>,
    pub routes: Vec<Route>,
    /// /etc/pve/storage.cfg as PVE reads it: `{ id: { type, property: value } }`.
    pub storage: Option<BTreeMap<String, BTreeMap<String, serde_json::Value>>>,
    /// Volume groups and their thin pools (`vgs`, `lvs`), where LVM answered.
    pub volume_groups: Option<BTreeMap<String, Vec<String>>>,
    /// ZFS datasets (`zfs list`), where ZFS answered.
    pub zfs_datasets: Option<Vec<String>>,
    /// Whole disks by name (`lsblk`), where it answered.
    pub disks: Option<BTreeMap<String, Disk>>,
    /// This node's VM configs by id, secrets redacted.
    pub vms: BTreeMap<String, String>,
    /// SHA-256 fingerprint of the PBS certificate, where PBS runs.
    pub pbs_fingerprint: Option<String>,
    /// Where a secret was redacted and what kind it was, never its value.
    pub redacted: Vec<String>,
}

impl Facts {
    /// The fact file's text: pretty JSON, keys sorted, a final newline.
    pub fn render(&self) -> String {
        // serde_json's maps are sorted: a round through `Value` sorts every key.
        let mut value = serde_json::to_value(self).expect("facts serialise");
        // Everything but the schema came from the host.
        crate::sanitise::json(&mut value);
        let mut text = serde_json::to_string_pretty(&value).expect("facts serialise");
        text.push('\n');
        text
    }

    /// A one-line account: `12 links, 3 bridges, 2 VMs, Debian GNU/Linux 12 (bookworm), PVE 8.2.4`.
    pub fn summary(&self) -> String {
        let count = crate::ui::plural;
        let mut parts = vec![
            count(self.links.len(), "link"),
            count(self.bridges.len(), "bridge"),
            count(self.vms.len(), "VM"),
        ];
        if let Some(os) = self.os_release.get("PRETTY_NAME") {
            parts.push(os.clone());
        }
        if let Some(pve) = &self.pve_version {
            // `pve-manager/8.2.4/faa83925c9641325 (running kernel: …)`
            let version = pve.split('/').nth(1).unwrap_or(pve);
            parts.push(format!("PVE {version}"));
        }
        if self.pbs_fingerprint.is_some() {
            parts.push("PBS".to_owned());
        }
        crate::sanitise::line(&parts.join(", ")).into_owned()
    }
}

/// What stops `lugc facts` or a build that reads facts.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum FactsError {
    #[error("no facts from {}: {}", if hosts.len() == 1 { "this host" } else { "these hosts" }, hosts.join(", "))]
    #[diagnostic(
        code(lugc::facts::unreached),
        help("the other hosts' facts are written; check that ssh reaches them and run `lugc facts` for them again")
    )]
    Unreached { hosts: Vec<String> },

    #[error("cannot write {}: {error}", path.display())]
    #[diagnostic(code(lugc::facts::write))]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },

    #[error("{} is not a directory", path.display())]
    #[diagnostic(
        code(lugc::facts::not_a_directory),
        help("lugc writes fact files only into a real facts/ directory beside cluster.ncl, never through a symbolic link; replace it with a directory")
    )]
    NotADirectory { path: PathBuf },

    #[error("the cluster bundle has no facts of its own")]
    #[diagnostic(
        code(lugc::facts::cluster),
        help("name the hosts, or none for every host")
    )]
    Cluster,
}

/// The fact file of `host` under the repository root `root`.
pub fn path(root: &Path, host: &str) -> PathBuf {
    root.join(FACTS_DIR).join(format!("{host}.json"))
}

/// Write `text` as `host`'s fact file (a temporary file renamed into place)
/// and facts/index.ncl with it; false when the file already held it.
pub fn write(root: &Path, host: &str, text: &str) -> Result<bool, FactsError> {
    let written = write_file(root, &format!("{host}.json"), text)?;
    write_index(root)?;
    Ok(written)
}

/// Write `text` as facts/`name`, unless it holds that already.
fn write_file(root: &Path, name: &str, text: &str) -> Result<bool, FactsError> {
    let path = root.join(FACTS_DIR).join(name);
    if std::fs::read(&path).is_ok_and(|old| old == text.as_bytes()) {
        return Ok(false);
    }
    let failed = |error| FactsError::Write {
        path: path.clone(),
        error,
    };
    let dir = root.join(FACTS_DIR);
    if let Err(error) = std::fs::create_dir(&dir) {
        if error.kind() != std::io::ErrorKind::AlreadyExists {
            return Err(failed(error));
        }
    }
    // Never written through a link: facts/ is a directory of the repository.
    if !std::fs::symlink_metadata(&dir).is_ok_and(|meta| meta.is_dir()) {
        return Err(FactsError::NotADirectory { path: dir });
    }
    let mut file = tempfile::NamedTempFile::new_in(&dir).map_err(failed)?;
    std::io::Write::write_all(&mut file, text.as_bytes()).map_err(failed)?;
    let permissions = std::os::unix::fs::PermissionsExt::from_mode(0o644);
    file.as_file()
        .set_permissions(permissions)
        .map_err(failed)?;
    file.persist(&path).map_err(|error| failed(error.error))?;
    Ok(true)
}

/// The hosts that have a fact file under `root`'s facts/, sorted; none
/// without facts/.
fn hosts_with_files(root: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(root.join(FACTS_DIR)) else {
        return Vec::new();
    };
    let mut hosts: Vec<String> = entries
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .filter_map(|path| Some(path.file_stem()?.to_string_lossy().into_owned()))
        .collect();
    hosts.sort();
    hosts
}

/// Whether any host has a fact file under `root`'s facts/.
pub fn has_any(root: &Path) -> bool {
    !hosts_with_files(root).is_empty()
}

/// facts/index.ncl importing the fact files of `hosts`.
pub fn index_text(hosts: &[String]) -> String {
    let mut text = String::from(
        "# The hosts' facts: facts/<host>.json by host, as `lugc facts` gathered them.\n\
         # lib/facts.ncl imports this file; `lugc facts` rewrites it. Without facts,\n\
         # it is `{}`.\n",
    );
    if hosts.is_empty() {
        text.push_str("{}\n");
        return text;
    }
    text.push_str("{\n");
    for host in hosts {
        let quoted = nickel_string(host);
        let file = nickel_string(&format!("{host}.json"));
        text.push_str(&format!("  {quoted} = import {file},\n"));
    }
    text.push_str("}\n");
    text
}

/// Write facts/index.ncl for the fact files there now; false when it
/// already held that.
pub fn write_index(root: &Path) -> Result<bool, FactsError> {
    write_file(root, INDEX_FILE, &index_text(&hosts_with_files(root)))
}

/// Check every fact file under `root`'s facts/: each must be a fact file
/// (an error at its line and column otherwise) and facts/index.ncl must
/// import it, or lib/ would never see it.
pub fn load(root: &Path) -> Result<(), Diagnostics> {
    let hosts = hosts_with_files(root);
    let mut problems = Vec::new();
    for host in &hosts {
        let name = format!("{FACTS_DIR}/{host}.json");
        let path = root.join(FACTS_DIR).join(format!("{host}.json"));
        if let Err(problem) = read_fact_file(&path, &name, host) {
            problems.push(problem);
        }
    }
    if !hosts.is_empty() {
        problems.extend(unindexed(root, &hosts));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Diagnostics::new(problems, ""))
    }
}

/// A problem for each of `hosts` whose fact file facts/index.ncl does not import.
fn unindexed(root: &Path, hosts: &[String]) -> Vec<SourceDiagnostic> {
    let name = format!("{FACTS_DIR}/{INDEX_FILE}");
    let help = "`lugc facts` rewrites it with every fact file in facts/";
    let Ok(text) = std::fs::read_to_string(root.join(FACTS_DIR).join(INDEX_FILE)) else {
        return vec![SourceDiagnostic::new(format!(
            "{name} is missing: lib/facts.ncl reads the facts through it"
        ))
        .with_help(help)];
    };
    hosts
        .iter()
        .filter(|host| {
            !text.contains(&format!(
                "import {}",
                nickel_string(&format!("{host}.json"))
            ))
        })
        .map(|host| {
            SourceDiagnostic::new(format!(
                "{name} does not import {FACTS_DIR}/{host}.json: lib/ would not see {host}'s facts"
            ))
            .with_help(help)
        })
        .collect()
}

/// One fact file, checked to be one (its schema and host).
fn read_fact_file(
    path: &Path,
    name: &str,
    host: &str,
) -> Result<serde_json::Value, SourceDiagnostic> {
    let text: std::sync::Arc<str> = std::fs::read_to_string(path)
        .map_err(|error| SourceDiagnostic::new(format!("cannot read {name}: {error}")))?
        .into();
    let again = "run `lugc facts HOST` to gather it again";
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|error| {
        let at = offset(&text, error.line(), error.column());
        SourceDiagnostic::new(format!("{name} is not JSON: {error}"))
            .at(name, &text, at..at, "here")
            .with_help(again)
    })?;
    let field = |key: &str| value.get(key).and_then(serde_json::Value::as_str);
    if field("schema") != Some(SCHEMA) {
        return Err(
            SourceDiagnostic::new(format!("{name} is not a `{SCHEMA}` fact file")).with_help(again),
        );
    }
    if field("host") != Some(host) {
        return Err(SourceDiagnostic::new(format!(
            "{name} holds the facts of `{}`, not of {host}",
            field("host").unwrap_or("no host")
        ))
        .with_help("a fact file is named after its host"));
    }
    Ok(value)
}

/// The byte offset of a 1-based line and column (serde_json's) in `text`.
fn offset(text: &str, line: usize, column: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (start + column.saturating_sub(1)).min(text.len())
}

/// `os-release` lines (`KEY=value`, quoted or not) as a map.
pub(crate) fn os_release(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let (key, value) = line.trim().split_once('=')?;
            if key.is_empty() || key.starts_with('#') {
                return None;
            }
            let value = value.trim();
            let unquoted = ['"', '\'']
                .into_iter()
                .find_map(|q| value.strip_prefix(q)?.strip_suffix(q))
                .unwrap_or(value);
            Some((key.to_owned(), unquoted.replace("\\\"", "\"")))
        })
        .collect()
}

/// storage.cfg as PVE keeps it, as JSON values (sets as sorted arrays),
/// with what lugc keeps beyond it: the sections of types and the property
/// lines pve-storage does not know, as written.
pub(crate) fn storage(text: &str) -> BTreeMap<String, BTreeMap<String, serde_json::Value>> {
    use crate::storage_cfg::{read, Storage, Value};
    let config = read(text).config;
    let section = |section: Storage| {
        let known = section.values.into_iter().map(|(key, value)| {
            let value = match value {
                Value::Text(text) => serde_json::Value::from(text),
                Value::Number(number) => serde_json::Value::from(number),
                Value::Set(items) => serde_json::Value::from(items.into_iter().collect::<Vec<_>>()),
            };
            (key, value)
        });
        let foreign = section
            .foreign
            .into_iter()
            .map(|(key, text)| (key, serde_json::Value::from(text)));
        let mut values: BTreeMap<String, serde_json::Value> = known.chain(foreign).collect();
        values.insert("type".to_owned(), section.storage_type.into());
        values
    };
    config
        .storages
        .into_iter()
        .chain(config.foreign)
        .map(|(id, storage)| (id, section(storage)))
        .collect()
}

/// `sha256 Fingerprint=AB:CD:…` (openssl x509 -fingerprint) → `AB:CD:…`.
pub(crate) fn fingerprint(output: &str) -> Option<String> {
    let (_, value) = output.lines().next()?.split_once('=')?;
    let value = value.trim().to_ascii_uppercase();
    let pairs: Vec<&str> = value.split(':').collect();
    (pairs.len() == 32
        && pairs
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit())))
    .then_some(value)
}

/// `eth0 10000` lines → speeds of the links that report one.
pub(crate) fn speeds(text: &str) -> BTreeMap<&str, u64> {
    text.lines()
        .filter_map(|line| {
            let (name, speed) = line.split_once(' ')?;
            let speed: u64 = speed.trim().parse().ok()?;
            (speed > 0 && speed < u64::from(u32::MAX)).then_some((name, speed))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_are_written_into_a_real_directory_only() {
        let root = tempfile::tempdir().unwrap();
        assert!(write(root.path(), "pve-5", "{}\n").unwrap());
        assert!(!write(root.path(), "pve-5", "{}\n").unwrap());

        let elsewhere = tempfile::tempdir().unwrap();
        let linked = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), linked.path().join(FACTS_DIR)).unwrap();
        let error = write(linked.path(), "pve-5", "{}\n").unwrap_err();
        assert!(matches!(error, FactsError::NotADirectory { .. }), "{error}");
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    }

    #[test]
    fn the_index_imports_each_fact_file_by_host() {
        assert!(index_text(&[]).ends_with("\n{}\n"));
        let text = index_text(&["pve-5".into(), "a\"b%{c}".into()]);
        assert!(
            text.ends_with(
                "{\n  \"pve-5\" = import \"pve-5.json\",\n  \"a\\\"b\\%{c}\" = import \"a\\\"b\\%{c}.json\",\n}\n"
            ),
            "{text}"
        );
        let committed = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../facts/index.ncl"),
        )
        .unwrap();
        assert!(
            committed.starts_with(&index_text(&[])[..100]),
            "{committed}"
        );
    }

    #[test]
    fn os_release_values_lose_their_quotes() {
        let text = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_CODENAME=bookworm\n# comment\n";
        let values = os_release(text);
        assert_eq!(values["PRETTY_NAME"], "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(values["VERSION_CODENAME"], "bookworm");
        assert_eq!(values.len(), 3);
    }

    #[test]
    fn storage_is_read_as_pve_reads_it() {
        let text = "dir: local\n\tpath /var/lib/vz\n\tcontent iso,backup\n\nlvmthin: local-lvm\n\tthinpool data\n\tvgname pve\n\tcontent rootdir,images\n\nzfspool: local-zfs\n\tpool rpool/data\n\tsparse\n\tcontent images\n";
        let sections = storage(text);
        assert_eq!(sections["local"]["type"], "dir");
        assert_eq!(
            sections["local"]["content"],
            serde_json::json!(["backup", "iso"])
        );
        assert_eq!(sections["local-lvm"]["vgname"], "pve");
        assert_eq!(sections["local-zfs"]["sparse"], 1);
    }

    #[test]
    fn fingerprints_are_read_from_openssl() {
        let pairs = vec!["ab"; 32].join(":");
        assert_eq!(
            fingerprint(&format!("sha256 Fingerprint={pairs}\n")),
            Some(pairs.to_ascii_uppercase())
        );
        assert_eq!(fingerprint("unable to load certificate\n"), None);
    }

    #[test]
    fn speeds_skip_links_without_one() {
        let speeds = speeds("eno1 1000\neno2 -1\nvmbr0 \nlo\n");
        assert_eq!(speeds.into_iter().collect::<Vec<_>>(), [("eno1", 1000)]);
    }
}
