//! host::record: lugc's records on a host, their names and formats. Pure.
//!
//! ```text
//! /var/lib/lugc/lock                       flock(1)ed by the push under way; names its holder
//! /var/lib/lugc/<bundle>.MANIFEST          MANIFEST of the last complete push of <bundle>
//! /var/lib/lugc/<bundle>.PENDING           pushes begun since and not complete (push ids)
//! /var/lib/lugc/<bundle>.PREVIOUS          the pushes that made the last complete one (push ids)
//! /var/lib/lugc/backup/<id>/BEFORE         each path that push changes, as it was before
//! /var/lib/lugc/backup/<id>/PUSHING        the files that push writes, as a MANIFEST
//! /var/lib/lugc/backup/<id>/MANIFEST       the last complete MANIFEST when it began, if any
//! /var/lib/lugc/backup/<id>/files/<path>   every file it replaced or removed
//! /var/lib/lugc/<bundle>.REVERTED          the last push the host reverted on its own
//! ```
//!
//! A push that runs a confirmed action arms a revert in its backup directory:
//!
//! ```text
//! backup/<id>/PUSHES      the pushes the revert undoes (this one and those pending)
//! backup/<id>/ACTIONS     the actions of the paths it puts back, one per line
//! backup/<id>/revert.sh   the host script the detached revert process runs
//! backup/<id>/DEADLINE    when it fires, in seconds since the epoch
//! backup/<id>/ARMED       armed; renamed CONFIRMED by a confirmation, or
//!                         REVERTING then REVERTED by the revert (REVERT.log)
//! ```
//!
//! A push id names a backup directory that the push created (`mktemp -d`):
//! no push ever writes into another's, so no backup is ever overwritten.
//! Names here are relative to /var/lib/lugc.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::manifest::Manifest;

/// lugc's state directory on every host.
pub const STATE_DIR: &str = "/var/lib/lugc";

const PUSHES_HEADER: &str = "lugc-pushes 1";
const BEFORE_HEADER: &str = "lugc-before 2";
/// Written before rollbacks were recorded as such: no `undoes` line.
const BEFORE_HEADER_1: &str = "lugc-before 1";
const REVERTED_HEADER: &str = "lugc-reverted 1";

pub fn manifest(bundle: &str) -> String {
    format!("{bundle}.MANIFEST")
}

pub fn pending(bundle: &str) -> String {
    format!("{bundle}.PENDING")
}

pub fn previous(bundle: &str) -> String {
    format!("{bundle}.PREVIOUS")
}

pub fn reverted(bundle: &str) -> String {
    format!("{bundle}.REVERTED")
}

pub fn armed_pushes(id: &str) -> String {
    format!("backup/{id}/PUSHES")
}

pub fn armed_actions(id: &str) -> String {
    format!("backup/{id}/ACTIONS")
}

pub fn before(id: &str) -> String {
    format!("backup/{id}/BEFORE")
}

pub fn pushing(id: &str) -> String {
    format!("backup/{id}/PUSHING")
}

/// The MANIFEST that was complete when push `id` began.
pub fn replaced(id: &str) -> String {
    format!("backup/{id}/MANIFEST")
}

/// Where push `id` keeps the files it replaced, absolute below `root`.
pub fn backup_files(root: &str, id: &str) -> String {
    format!("{root}{STATE_DIR}/backup/{id}/files")
}

/// Absolute path of a record below `root`, for messages.
pub fn path(root: &str, name: &str) -> String {
    format!("{root}{STATE_DIR}/{name}")
}

/// One regular file as found on the host, and as BEFORE records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFile {
    pub blake3: String,
    pub mode: u32,
    pub owner: String,
}

/// A push id as `begin` makes it; anything else read from a host is refused.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// The prefix of a new push id: the bundle it pushes and its id.
pub fn id_prefix(bundle: &str, bundle_id: &str) -> String {
    format!("{bundle}-{}", bundle_id.get(..12).unwrap_or(bundle_id))
}

/// PENDING and PREVIOUS: push ids, oldest first.
pub fn render_pushes(ids: &[String]) -> String {
    let mut text = format!("{PUSHES_HEADER}\n");
    for id in ids {
        let _ = writeln!(text, "{id}");
    }
    text
}

pub fn parse_pushes(text: &str) -> Result<Vec<String>, String> {
    let mut lines = text.lines();
    if lines.next() != Some(PUSHES_HEADER) {
        return Err(format!("its first line is not `{PUSHES_HEADER}`"));
    }
    let mut ids: Vec<String> = Vec::new();
    for (index, line) in lines.enumerate() {
        if !valid_id(line) {
            return Err(format!("line {} is not a push id", index + 2));
        }
        if !ids.iter().any(|id| id == line) {
            ids.push(line.to_owned());
        }
    }
    Ok(ids)
}

/// A MANIFEST read from a host, with its exact text and id.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub manifest: Manifest,
    pub text: String,
    pub id: String,
}

impl Recorded {
    pub fn parse(text: String) -> Result<Recorded, String> {
        let manifest = Manifest::parse(&text).map_err(|error| error.to_string())?;
        Ok(Recorded {
            manifest,
            id: crate::manifest::bundle_id(text.as_bytes()),
            text,
        })
    }
}

/// `<bundle>.REVERTED`: the push a host reverted on its own because no
/// confirmation came, written by host.sh's `revert`.
///
/// ```text
/// lugc-reverted 1
/// push <push id>
/// bundle <bundle id>
/// at <UTC time>
/// outcome complete|incomplete
/// ```
///
/// `incomplete`: a file could not be put back or an action failed (the
/// push's backup directory holds REVERT.log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reverted {
    pub push: String,
    pub bundle_id: String,
    pub at: String,
    pub complete: bool,
}

impl Reverted {
    pub fn parse(text: &str) -> Result<Reverted, String> {
        let mut lines = text.lines();
        if lines.next() != Some(REVERTED_HEADER) {
            return Err(format!("its first line is not `{REVERTED_HEADER}`"));
        }
        let mut field = |name: &str, valid: fn(&str) -> bool| {
            lines
                .next()
                .and_then(|line| line.strip_prefix(name))
                .filter(|value| valid(value))
                .map(str::to_owned)
                .ok_or_else(|| format!("it has no valid `{}` line", name.trim_end()))
        };
        let id_like =
            |value: &str| value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit());
        let time_like = |value: &str| {
            value.len() <= 32
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-:".contains(&b))
        };
        Ok(Reverted {
            push: field("push ", valid_id)?,
            bundle_id: field("bundle ", id_like)?,
            at: field("at ", time_like)?,
            complete: field("outcome ", |value| {
                matches!(value, "complete" | "incomplete")
            })? == "complete",
        })
    }
}

/// BEFORE: what each path a push changes was before it.
///
/// ```text
/// lugc-before 2
/// bundle <bundle>
/// replaces <bundle id, or none>
/// undoes[ <push id>]...          (a rollback: the pushes it undoes)
/// present <blake3> <mode> <owner> <path>
/// absent <path>
/// ```
///
/// Version 1 (still read) has no `undoes` line: it undoes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Before {
    pub bundle: String,
    /// Id of the MANIFEST that was complete when the push began.
    pub replaces: Option<String>,
    /// For a rollback, the pushes it undoes, oldest first; empty for a push.
    pub undoes: Vec<String>,
    /// Each path, and the file that was there (`None`: no file).
    pub paths: BTreeMap<String, Option<HostFile>>,
}

impl Before {
    pub fn render(&self) -> String {
        let mut text = format!(
            "{BEFORE_HEADER}\nbundle {}\nreplaces {}\nundoes",
            self.bundle,
            self.replaces.as_deref().unwrap_or("none")
        );
        for id in &self.undoes {
            let _ = write!(text, " {id}");
        }
        text.push('\n');
        for (path, file) in &self.paths {
            let _ = match file {
                Some(file) => writeln!(
                    text,
                    "present {} {:04o} {} {path}",
                    file.blake3, file.mode, file.owner
                ),
                None => writeln!(text, "absent {path}"),
            };
        }
        text
    }

    pub fn parse(text: &str) -> Result<Before, String> {
        let bad = |line: usize| format!("line {line} is not understood");
        let mut lines = text.lines();
        let version = match lines.next() {
            Some(BEFORE_HEADER) => 2,
            Some(BEFORE_HEADER_1) => 1,
            _ => return Err(format!("its first line is not `{BEFORE_HEADER}`")),
        };
        let mut field = |name: &str| {
            lines
                .next()
                .and_then(|line| line.strip_prefix(name))
                .map(str::to_owned)
                .ok_or_else(|| format!("it has no `{}` line", name.trim_end()))
        };
        let bundle = field("bundle ")?;
        let replaces = Some(field("replaces ")?).filter(|id| id != "none");
        let undoes = if version == 1 {
            String::new()
        } else {
            field("undoes")?
        };
        if !(undoes.is_empty() || undoes.starts_with(' ')) {
            return Err(bad(4));
        }
        let undoes: Vec<String> = undoes.split_whitespace().map(str::to_owned).collect();
        if !undoes.iter().all(|id| valid_id(id)) {
            return Err(bad(4));
        }
        let mut paths = BTreeMap::new();
        for (index, line) in lines.enumerate() {
            let number = index + 3 + version;
            let fields: Vec<&str> = line.split(' ').collect();
            let (path, file) = match fields.as_slice() {
                ["absent", path] => (*path, None),
                ["present", blake3, mode, owner, path] => {
                    let mode = u32::from_str_radix(mode, 8).map_err(|_| bad(number))?;
                    let file = HostFile {
                        blake3: (*blake3).to_owned(),
                        mode,
                        owner: (*owner).to_owned(),
                    };
                    (*path, Some(file))
                }
                _ => return Err(bad(number)),
            };
            if !crate::manifest::canonical(path) {
                return Err(bad(number));
            }
            paths.insert(path.to_owned(), file);
        }
        Ok(Before {
            bundle,
            replaces,
            undoes,
            paths,
        })
    }
}

pub use crate::sanitise::excerpt;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverted_records_are_read_and_odd_ones_refused() {
        let id = "a".repeat(64);
        let text = format!(
            "lugc-reverted 1\npush pve-6-aaaaaaaaaaaa.Xy3kP0aQ\nbundle {id}\nat 2026-12-01T10:00:00Z\noutcome complete\n"
        );
        let reverted = Reverted::parse(&text).unwrap();
        assert_eq!(reverted.push, "pve-6-aaaaaaaaaaaa.Xy3kP0aQ");
        assert_eq!(reverted.bundle_id, id);
        assert_eq!(reverted.at, "2026-12-01T10:00:00Z");
        assert!(reverted.complete);
        let incomplete = text.replace("outcome complete", "outcome incomplete");
        assert!(!Reverted::parse(&incomplete).unwrap().complete);
        assert!(Reverted::parse(&text.replace("push pve-6", "push ../pve-6")).is_err());
        assert!(Reverted::parse(&text.replace("2026-12-01T10", "$(reboot)")).is_err());
        assert!(Reverted::parse("lugc-reverted 2\n").is_err());
    }

    #[test]
    fn push_lists_round_trip_and_refuse_what_begin_cannot_make() {
        let ids = vec!["pve-5-0123456789ab.Xy3kP0aQ".to_owned()];
        assert_eq!(parse_pushes(&render_pushes(&ids)), Ok(ids));
        assert!(parse_pushes("lugc-pushes 1\n../etc\n").is_err());
        assert!(parse_pushes("lugc-pushes 1\n.hidden\n").is_err());
        for text in [
            "root:$6$secret:19000:0:99999:7:::\n",
            "lugc-pushes 1\nroot:$6$secret:1\n",
        ] {
            let error = parse_pushes(text).unwrap_err();
            assert!(!error.contains("secret"), "{error}");
        }
    }

    #[test]
    fn before_round_trips() {
        let before = Before {
            bundle: "pve-5".into(),
            replaces: None,
            undoes: vec!["pve-5-0123456789ab.Xy3kP0aQ".into()],
            paths: BTreeMap::from([
                ("/etc/hosts".to_owned(), None),
                (
                    "/etc/chrony/chrony.conf".to_owned(),
                    Some(HostFile {
                        blake3: "ab".repeat(32),
                        mode: 0o640,
                        owner: "root:_chrony".into(),
                    }),
                ),
            ]),
        };
        assert_eq!(Before::parse(&before.render()), Ok(before.clone()));
        let push = Before {
            undoes: Vec::new(),
            ..before
        };
        assert!(push.render().contains("\nundoes\n"), "{}", push.render());
        assert_eq!(Before::parse(&push.render()), Ok(push));
        assert!(Before::parse("lugc-before 2\nbundle x\n").is_err());
        for path in [
            "relative",
            "/../victim",
            "/etc/./hosts",
            "//etc/hosts",
            "/etc/",
        ] {
            let text = format!("lugc-before 2\nbundle x\nreplaces none\nundoes\nabsent {path}\n");
            assert_eq!(
                Before::parse(&text),
                Err("line 5 is not understood".into()),
                "{path}"
            );
            let text = format!("lugc-before 1\nbundle x\nreplaces none\nabsent {path}\n");
            assert_eq!(
                Before::parse(&text),
                Err("line 4 is not understood".into()),
                "{path}"
            );
        }
        assert!(Before::parse("lugc-before 2\nbundle x\nreplaces none\nundoes ../x\n").is_err());
    }

    #[test]
    fn before_of_version_1_is_read_as_undoing_nothing() {
        let text = "lugc-before 1\nbundle pve-5\nreplaces none\nabsent /etc/hosts\n";
        let before = Before::parse(text).unwrap();
        assert!(before.undoes.is_empty());
        assert_eq!(
            before.paths.into_iter().collect::<Vec<_>>(),
            [("/etc/hosts".to_owned(), None)]
        );
        assert!(Before::parse("lugc-before 1\nbundle x\nreplaces none\nundoes\n").is_err());
    }
}
