//! push::state: lugc's records on a host, where they live and how they are read.
//!
//! ```text
//! <root>/var/lib/lugc/<bundle>.MANIFEST          MANIFEST of the last complete push of <bundle>
//! <root>/var/lib/lugc/<bundle>.PREVIOUS          backup key of the bundle that push replaced
//! <root>/var/lib/lugc/<bundle>.PENDING           files of each push begun since, as MANIFESTs
//! <root>/var/lib/lugc/backup/<key>/MANIFEST      that replaced bundle's MANIFEST
//! <root>/var/lib/lugc/backup/<key>/files/<path>  every file a push replaced or removed
//! ```
//!
//! `<key>` is the replaced bundle's id, or `initial-<bundle>` when there was
//! none (the files lugc found before its first push). `probe` reads all of it
//! plus the mode and owner of the given paths in one ssh round trip; the
//! contents of files come with rsync (`Remote::fetch`).
//!
//! A push cut short (ssh dropped mid-transfer, a failed action) leaves each
//! file old or new, since rsync renames every file into place whole. So a
//! push appends what it is about to write to PENDING before the first file
//! moves, and writes MANIFEST and PREVIOUS, then removes PENDING, only once
//! its actions ran. The next push takes a host file that a pending push
//! wrote for lugc's own, not drift, and removes such files that no bundle
//! wants any more; it runs the actions of every path that differs from the
//! last MANIFEST. Replacing such a file keeps no backup copy, so
//! `backup/<key>` still holds the last complete bundle; a rollback while a
//! push is pending goes back to that bundle and leaves MANIFEST and PREVIOUS
//! as they are.

use std::collections::BTreeMap;

use crate::manifest::Manifest;
use crate::push::error::PushError;
use crate::push::transport::{describe, last_lines, shell_quote, Remote};

/// lugc's state directory on every host.
pub const STATE_DIR: &str = "/var/lib/lugc";

pub fn manifest_path(bundle: &str) -> String {
    format!("{STATE_DIR}/{bundle}.MANIFEST")
}

pub fn previous_path(bundle: &str) -> String {
    format!("{STATE_DIR}/{bundle}.PREVIOUS")
}

pub fn pending_path(bundle: &str) -> String {
    format!("{STATE_DIR}/{bundle}.PENDING")
}

/// The PENDING record: the MANIFEST texts one after another.
pub fn pending_record(manifests: &[&str]) -> String {
    manifests.concat()
}

/// Split a PENDING record at each MANIFEST header line.
fn split_pending(text: &str) -> Vec<String> {
    let mut manifests: Vec<String> = Vec::new();
    for line in text.split_inclusive('\n') {
        match manifests.last_mut() {
            Some(manifest) if line.trim_end_matches('\n') != crate::manifest::HEADER => {
                manifest.push_str(line);
            }
            _ => manifests.push(line.to_owned()),
        }
    }
    manifests
}

pub fn backup_manifest_path(key: &str) -> String {
    format!("{STATE_DIR}/backup/{key}/MANIFEST")
}

/// Where a push keeps what it replaced, mirroring the host's paths.
pub fn backup_files(key: &str) -> String {
    format!("{STATE_DIR}/backup/{key}/files")
}

/// The backup key of a push: the id of the bundle it replaces.
pub fn backup_key(bundle: &str, last: Option<&Recorded>) -> String {
    match last {
        Some(recorded) => recorded.id.clone(),
        None => format!("{INITIAL}{bundle}"),
    }
}

/// Prefix of the backup key of a first push.
pub const INITIAL: &str = "initial-";

/// A MANIFEST recorded on the host, with its exact text and id.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub manifest: Manifest,
    pub text: String,
    pub id: String,
}

impl Recorded {
    fn parse(text: String, host: &str, what: &str) -> Result<Recorded, PushError> {
        let manifest = Manifest::parse(&text).map_err(|error| PushError::RemoteState {
            host: host.to_owned(),
            reason: format!("{what}: {error}"),
        })?;
        Ok(Recorded {
            manifest,
            id: crate::manifest::bundle_id(text.as_bytes()),
            text,
        })
    }
}

/// Mode and owner of a regular file on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    pub mode: u32,
    pub owner: String,
}

/// What one probe found on the host.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The remote user is root and can set owners.
    pub root_user: bool,
    /// The last complete push of this bundle.
    pub last: Option<Recorded>,
    /// What each push begun since wrote, oldest first (none equal to `last`).
    pub pending: Vec<Recorded>,
    /// The host has a PENDING record (even one that only repeats `last`).
    pub pending_record: bool,
    /// Backup key of the bundle the last push replaced.
    pub previous: Option<String>,
    /// MANIFEST kept under that backup key (absent for `initial-…`).
    pub previous_manifest: Option<Recorded>,
    /// Regular files among the probed paths.
    pub files: BTreeMap<String, Stat>,
    /// Probed paths that exist but are not regular files (symlinks, directories).
    pub irregular: Vec<String>,
}

/// Reads the state and stats the paths given one per line on stdin.
const PROBE: &str = r#"
root=$1 bundle=$2
state=$root/var/lib/lugc
printf 'uid %s\n' "$(id -u)"
emit() {
  if [ -f "$2" ]; then
    printf 'file %s %s\n' "$1" "$(wc -c < "$2" | tr -d ' ')" && cat "$2"
  fi
}
emit MANIFEST "$state/$bundle.MANIFEST"
emit PENDING "$state/$bundle.PENDING"
if [ -f "$state/$bundle.PREVIOUS" ]; then
  previous=$(cat "$state/$bundle.PREVIOUS")
  printf 'previous %s\n' "$previous"
  case $previous in
    *[!0-9a-z-]* | '') ;;
    *) emit BACKUP "$state/backup/$previous/MANIFEST" ;;
  esac
fi
while IFS= read -r path; do
  target=$root$path
  if [ -L "$target" ] || { [ -e "$target" ] && [ ! -f "$target" ]; }; then
    printf 'irregular %s\n' "$path"
  elif [ -f "$target" ]; then
    printf 'stat %s %s\n' "$(stat -c '%a %U:%G' -- "$target")" "$path"
  fi
done
"#;

/// Tells whether pmxcfs takes writes: exit 3 without /etc/pve, 4 when read-only.
const QUORUM: &str = r#"
dir=$1/etc/pve
[ -d "$dir" ] || exit 3
probe=$dir/.lugc-quorum-probe.$$
if ( : > "$probe" ) 2>/dev/null; then rm -f "$probe"; else exit 4; fi
"#;

/// Read the state of `bundle` and stat `paths` (absolute, under the root).
pub fn probe(
    remote: &Remote,
    host: &str,
    bundle: &str,
    paths: &[String],
) -> Result<Probe, PushError> {
    let command = format!(
        "sh -c {} lugc-probe {} {}",
        shell_quote(PROBE),
        shell_quote(&remote.root),
        shell_quote(bundle)
    );
    let mut stdin = paths.join("\n");
    stdin.push('\n');
    let output = remote.shell(&command, stdin.as_bytes())?;
    if !output.status.success() {
        return Err(PushError::Remote {
            target: remote.target.clone(),
            command: "state probe".to_owned(),
            status: describe(&output),
            detail: last_lines(&output.stderr),
        });
    }
    parse(&output.stdout, host)
}

/// Fail unless /etc/pve under the root takes writes.
pub fn check_quorum(remote: &Remote) -> Result<(), PushError> {
    let command = format!(
        "sh -c {} lugc-quorum {}",
        shell_quote(QUORUM),
        shell_quote(&remote.root)
    );
    let output = remote.shell(&command, b"")?;
    match output.status.code() {
        Some(0) => Ok(()),
        Some(3) => Err(PushError::NoPmxcfs {
            target: remote.target.clone(),
        }),
        Some(4) => Err(PushError::NoQuorum {
            target: remote.target.clone(),
        }),
        _ => Err(PushError::Remote {
            target: remote.target.clone(),
            command: "quorum probe".to_owned(),
            status: describe(&output),
            detail: last_lines(&output.stderr),
        }),
    }
}

fn parse(mut bytes: &[u8], host: &str) -> Result<Probe, PushError> {
    let bad = |reason: String| PushError::RemoteState {
        host: host.to_owned(),
        reason,
    };
    let mut probe = Probe {
        root_user: false,
        last: None,
        pending: Vec::new(),
        pending_record: false,
        previous: None,
        previous_manifest: None,
        files: BTreeMap::new(),
        irregular: Vec::new(),
    };
    while !bytes.is_empty() {
        let end = bytes
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(bytes.len());
        let line = String::from_utf8_lossy(&bytes[..end]).into_owned();
        bytes = bytes.get(end + 1..).unwrap_or_default();
        let (kind, rest) = line.split_once(' ').unwrap_or((&line, ""));
        match kind {
            "uid" => probe.root_user = rest == "0",
            "previous" => probe.previous = Some(rest.to_owned()),
            "irregular" => probe.irregular.push(rest.to_owned()),
            "stat" => {
                let mut fields = rest.splitn(3, ' ');
                let (Some(mode), Some(owner), Some(path)) =
                    (fields.next(), fields.next(), fields.next())
                else {
                    return Err(bad(format!("probe line `{line}`")));
                };
                let mode =
                    u32::from_str_radix(mode, 8).map_err(|_| bad(format!("mode in `{line}`")))?;
                let stat = Stat {
                    mode,
                    owner: owner.to_owned(),
                };
                probe.files.insert(path.to_owned(), stat);
            }
            "file" => {
                let (name, length) = rest
                    .split_once(' ')
                    .ok_or_else(|| bad(format!("probe line `{line}`")))?;
                let length: usize = length
                    .parse()
                    .map_err(|_| bad(format!("length in `{line}`")))?;
                let content = bytes
                    .get(..length)
                    .ok_or_else(|| bad(format!("{name} is cut short")))?;
                bytes = &bytes[length..];
                let text = String::from_utf8(content.to_vec())
                    .map_err(|_| bad(format!("{name} is not UTF-8")))?;
                match name {
                    "MANIFEST" => {
                        probe.last = Some(Recorded::parse(text, host, "recorded MANIFEST")?);
                    }
                    "PENDING" => {
                        probe.pending_record = true;
                        for text in split_pending(&text) {
                            probe
                                .pending
                                .push(Recorded::parse(text, host, "pending MANIFEST")?);
                        }
                    }
                    _ => {
                        probe.previous_manifest =
                            Some(Recorded::parse(text, host, "backed-up MANIFEST")?);
                    }
                }
            }
            "" => {}
            _ => return Err(bad(format!("probe line `{line}`"))),
        }
    }
    // What the last complete push wrote is known already (a push that
    // recorded its MANIFEST was cut short before it removed PENDING).
    let last = probe.last.as_ref().map(|recorded| recorded.text.as_str());
    probe
        .pending
        .retain(|pending| Some(pending.text.as_str()) != last);
    Ok(probe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_probe() {
        let manifest = "lugc-manifest 1\nbundle pve-5\nreaches pve-5\n";
        let output = format!(
            "uid 0\nfile MANIFEST {}\n{manifest}previous initial-pve-5\nstat 644 root:root /etc/a b\nirregular /etc/c\n",
            manifest.len()
        );
        let probe = parse(output.as_bytes(), "pve-5").unwrap();
        assert!(probe.root_user);
        assert_eq!(probe.last.unwrap().manifest.bundle, "pve-5");
        assert_eq!(probe.previous.as_deref(), Some("initial-pve-5"));
        assert_eq!(
            probe.files["/etc/a b"],
            Stat {
                mode: 0o644,
                owner: "root:root".into()
            }
        );
        assert_eq!(probe.irregular, vec!["/etc/c".to_owned()]);
    }

    #[test]
    fn a_pending_record_holds_one_manifest_per_push_begun() {
        let manifest = |bundle: &str| format!("lugc-manifest 1\nbundle {bundle}\nreaches pve-5\n");
        let pending = pending_record(&[&manifest("a"), &manifest("b"), &manifest("c")]);
        let last = manifest("c");
        let output = format!(
            "uid 0\nfile MANIFEST {}\n{last}file PENDING {}\n{pending}",
            last.len(),
            pending.len()
        );
        let probe = parse(output.as_bytes(), "pve-5").unwrap();
        assert!(probe.pending_record);
        let bundles: Vec<&str> = probe
            .pending
            .iter()
            .map(|pending| pending.manifest.bundle.as_str())
            .collect();
        assert_eq!(bundles, ["a", "b"], "the one equal to MANIFEST is dropped");
        assert_eq!(probe.pending[1].text, manifest("b"));
    }

    #[test]
    fn a_cut_short_manifest_is_an_error() {
        assert!(parse(b"uid 0\nfile MANIFEST 100\nlugc", "pve-5").is_err());
    }
}
