//! manifest: the MANIFEST format of a bundle, rendered and parsed.
//!
//! ```text
//! lugc-manifest 3
//! bundle pve-5
//! reaches pve-5
//! absent <path>                       (zero or more, sorted)
//! confirm <action>                    (zero or more, sorted)
//! check <path>                        (zero or more, sorted)
//! <blake3> <mode> <owner> <path> <action or ->
//! ```
//!
//! `absent` names a path that must not exist on the host (a push refuses to
//! go on while it does); `confirm` an action that can cut the host off, which
//! a push runs only under a revert armed on the host; `check` a file of the
//! bundle, a health check the host runs after those actions and before the
//! push is confirmed (a failure reverts the push). File lines are sorted
//! by path; the action is the rest of the line. Versions 1 (without
//! `absent` and `confirm` lines) and 2 (without `check` lines) are still
//! read (records on hosts pushed before). The blake3 of the MANIFEST bytes
//! is the bundle id. Knows nothing of Nickel,
//! git or the file system.

use std::fmt::Write as _;

/// First line of every MANIFEST lugc writes; bump it on any format change.
pub const HEADER: &str = "lugc-manifest 3";

/// The headers of MANIFESTs that earlier versions of lugc recorded on hosts.
const HEADER_V1: &str = "lugc-manifest 1";
const HEADER_V2: &str = "lugc-manifest 2";

/// One file of a bundle as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub blake3: String,
    pub mode: u32,
    pub owner: String,
    /// Absolute target path on the host.
    pub path: String,
    pub action: Option<String>,
}

/// Whether a file's action is due when the host goes from the file `old`
/// (as the last push recorded it) to `new` (as the bundle has it); `None`:
/// no file. Due when the file is written or removed: its bytes, mode or
/// owner change, or it comes or goes. A changed action alone runs nothing.
/// The one rule `plan` (what push runs) and `diff` (what it announces) share.
pub fn action_due(old: Option<&Entry>, new: Option<&Entry>) -> bool {
    match (old, new) {
        (Some(old), Some(new)) => {
            old.blake3 != new.blake3 || old.mode != new.mode || old.owner != new.owner
        }
        (None, None) => false,
        _ => true,
    }
}

/// A parsed or freshly built manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// `cluster` or a host name.
    pub bundle: String,
    /// Hosts this bundle lands on, sorted.
    pub reaches: Vec<String>,
    /// Paths that must not exist on the host, sorted.
    pub absent: Vec<String>,
    /// Actions that run only under a revert armed on the host, sorted.
    pub confirm: Vec<String>,
    /// Paths of the bundle's health checks, sorted: run after the actions
    /// under the revert, before the push is confirmed.
    pub check: Vec<String>,
    /// Sorted by path.
    pub entries: Vec<Entry>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("MANIFEST line {line}: {reason}")]
pub struct ParseError {
    pub line: usize,
    pub reason: String,
}

impl Manifest {
    pub fn render(&self) -> String {
        let mut text = format!(
            "{HEADER}\nbundle {}\nreaches {}\n",
            self.bundle,
            self.reaches.join(" ")
        );
        for path in &self.absent {
            let _ = writeln!(text, "absent {path}");
        }
        for action in &self.confirm {
            let _ = writeln!(text, "confirm {action}");
        }
        for path in &self.check {
            let _ = writeln!(text, "check {path}");
        }
        for entry in &self.entries {
            let action = entry.action.as_deref().unwrap_or("-");
            let _ = writeln!(
                text,
                "{} {:04o} {} {} {action}",
                entry.blake3, entry.mode, entry.owner, entry.path
            );
        }
        text
    }

    /// The bundle id: blake3 of the rendered manifest.
    pub fn id(&self) -> String {
        bundle_id(self.render().as_bytes())
    }

    pub fn parse(text: &str) -> Result<Manifest, ParseError> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(index, line)| (index + 1, line));
        let fail = |line: usize, reason: &str| ParseError {
            line,
            reason: reason.to_owned(),
        };
        match lines.next() {
            Some((_, HEADER | HEADER_V2 | HEADER_V1)) => {}
            _ => return Err(fail(1, &format!("expected `{HEADER}`"))),
        }
        let bundle = header_field(lines.next(), "bundle")?.to_owned();
        let reaches = header_field(lines.next(), "reaches")?
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let mut absent: Vec<String> = Vec::new();
        let mut confirm: Vec<String> = Vec::new();
        let mut check: Vec<String> = Vec::new();
        let mut entries: Vec<Entry> = Vec::new();
        for (number, line) in lines {
            let before_files = entries.is_empty();
            let listed = match line.split_once(' ') {
                Some(("absent", path))
                    if before_files && confirm.is_empty() && check.is_empty() =>
                {
                    Some((&mut absent, canonical(path).then_some(path)))
                }
                Some(("confirm", action)) if before_files && check.is_empty() => {
                    Some((&mut confirm, Some(action).filter(|a| !a.is_empty())))
                }
                Some(("check", path)) if before_files => {
                    Some((&mut check, canonical(path).then_some(path)))
                }
                _ => None,
            };
            if let Some((list, item)) = listed {
                let item = item.ok_or_else(|| fail(number, "malformed line"))?;
                if list.last().is_some_and(|last| last.as_str() >= item) {
                    return Err(fail(number, "lines must be sorted and unique"));
                }
                list.push(item.to_owned());
                continue;
            }
            let entry = parse_entry(line).ok_or_else(|| fail(number, "malformed file line"))?;
            if entries.last().is_some_and(|last| last.path >= entry.path) {
                return Err(fail(number, "file lines must be sorted by path and unique"));
            }
            entries.push(entry);
        }
        Ok(Manifest {
            bundle,
            reaches,
            absent,
            confirm,
            check,
            entries,
        })
    }
}

/// blake3 of a MANIFEST's bytes, as lowercase hex.
pub fn bundle_id(manifest: &[u8]) -> String {
    blake3::hash(manifest).to_hex().to_string()
}

/// An absolute path with no empty, `.` or `..` component: it names one
/// file below a host's root and nothing outside it.
pub fn canonical(path: &str) -> bool {
    path.strip_prefix('/').is_some_and(|relative| {
        relative
            .split('/')
            .all(|component| !matches!(component, "" | "." | ".."))
    })
}

fn header_field<'a>(line: Option<(usize, &'a str)>, key: &str) -> Result<&'a str, ParseError> {
    let (number, text) = line.unwrap_or((0, ""));
    text.strip_prefix(key)
        .and_then(|rest| rest.strip_prefix(' ').or((rest.is_empty()).then_some("")))
        .ok_or_else(|| ParseError {
            line: number,
            reason: format!("expected `{key} …`"),
        })
}

fn parse_entry(line: &str) -> Option<Entry> {
    let mut fields = line.splitn(5, ' ');
    let blake3 = fields.next()?;
    let mode = fields.next()?;
    let owner = fields.next()?;
    let path = fields.next()?;
    let action = fields.next()?;
    let is_hash = blake3.len() == 64 && blake3.bytes().all(|b| b.is_ascii_hexdigit());
    if !is_hash || !canonical(path) || owner.is_empty() {
        return None;
    }
    Some(Entry {
        blake3: blake3.to_owned(),
        mode: u32::from_str_radix(mode, 8).ok().filter(|m| *m <= 0o7777)?,
        owner: owner.to_owned(),
        path: path.to_owned(),
        action: (action != "-").then(|| action.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            bundle: "pve-5".into(),
            reaches: vec!["pve-5".into()],
            entries: vec![
                Entry {
                    blake3: "a".repeat(64),
                    mode: 0o644,
                    owner: "root:root".into(),
                    path: "/etc/chrony/chrony.conf".into(),
                    action: Some("systemctl restart chrony.service".into()),
                },
                Entry {
                    blake3: "b".repeat(64),
                    mode: 0o755,
                    owner: "root:root".into(),
                    path: "/etc/cron.daily/sync-cert".into(),
                    action: None,
                },
            ],
            ..Manifest::default()
        }
    }

    #[test]
    fn paths_that_leave_the_root_or_are_not_canonical_are_refused() {
        for path in ["/etc/hosts", "/etc/pve/qemu-server/100.conf", "/.hidden"] {
            assert!(canonical(path), "{path}");
        }
        for path in [
            "",
            "/",
            "etc/hosts",
            "/../victim",
            "/etc/../../victim",
            "/./etc",
            "/etc//hosts",
            "/etc/",
            "/etc/.",
            "/etc/..",
        ] {
            assert!(!canonical(path), "{path}");
        }
        let text = sample().render();
        for (from, to) in [
            ("/etc/cron.daily/sync-cert", "/etc/cron.daily/../../victim"),
            ("/etc/cron.daily/sync-cert", "/etc/cron.daily//sync-cert"),
            ("/etc/cron.daily/sync-cert", "/etc/cron.daily/./sync-cert"),
        ] {
            let error = Manifest::parse(&text.replace(from, to)).unwrap_err();
            assert_eq!(error.reason, "malformed file line", "{to}");
        }
        let absent = text.replace("reaches pve-5\n", "reaches pve-5\nabsent /etc/x/../../y\n");
        assert!(Manifest::parse(&absent).is_err());
    }

    #[test]
    fn round_trip() {
        let manifest = sample();
        let text = manifest.render();
        assert!(text.contains(" 0755 root:root /etc/cron.daily/sync-cert -\n"));
        assert_eq!(Manifest::parse(&text), Ok(manifest));
    }

    #[test]
    fn round_trip_with_absent_paths_confirmed_actions_and_checks() {
        let manifest = Manifest {
            absent: vec!["/etc/network/interfaces.new".into()],
            confirm: vec!["ifreload -a".into()],
            check: vec!["/etc/cron.daily/sync-cert".into()],
            ..sample()
        };
        let text = manifest.render();
        assert!(text.contains(
            "\nabsent /etc/network/interfaces.new\nconfirm ifreload -a\ncheck /etc/cron.daily/sync-cert\n"
        ));
        assert_eq!(Manifest::parse(&text), Ok(manifest));
        for (from, to) in [
            ("check /etc/cron.daily/sync-cert", "check etc/x"),
            (
                "confirm ifreload -a\ncheck /etc/cron.daily/sync-cert",
                "check /etc/cron.daily/sync-cert\nconfirm ifreload -a",
            ),
        ] {
            assert!(Manifest::parse(&text.replace(from, to)).is_err(), "{to}");
        }
    }

    #[test]
    fn reads_versions_1_and_2() {
        for header in [HEADER_V1, HEADER_V2] {
            let text = sample().render().replace(HEADER, header);
            assert_eq!(Manifest::parse(&text), Ok(sample()));
        }
    }

    #[test]
    fn rejects_unsorted_lines() {
        let mut manifest = sample();
        manifest.entries.reverse();
        let error = Manifest::parse(&manifest.render()).unwrap_err();
        assert_eq!(error.line, 5);
    }

    #[test]
    fn rejects_a_foreign_header() {
        assert!(Manifest::parse("something else\n").is_err());
    }
}
