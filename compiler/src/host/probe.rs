//! host::probe: what a host has, read in one command each over the session:
//! lugc's records of a bundle and of the pushes they name (`records`), the
//! files at given paths with mode, owner and content (`files`), or with mode,
//! owner and SHA-256 only (`hashes`, for `lugc status`), or what `lugc facts`
//! reads and runs (`facts`). Reads only. Text
//! from the host reaches a message only as a bounded excerpt.

use std::collections::{BTreeMap, BTreeSet};

use crate::host::error::HostError;
use crate::host::record::{self, excerpt, Before, HostFile, Recorded, Reverted};
use crate::host::remote::Session;

/// lugc's records of one bundle on a host.
#[derive(Debug, Clone, Default)]
pub struct Records {
    /// The last complete push.
    pub last: Option<Recorded>,
    /// Pushes begun since and not complete, oldest first.
    pub pending: Vec<Push>,
    /// The pushes that made the last complete one, oldest first.
    pub previous: Vec<Push>,
    /// The last push the host reverted on its own, unconfirmed.
    pub reverted: Option<Reverted>,
    /// Every push on the host, of this bundle or another, whose revert is
    /// armed or running.
    pub armed: Vec<ArmedPush>,
    /// Pending pushes of this bundle that lugc confirmed (their revert is
    /// disarmed) but did not record complete.
    pub confirmed: Vec<String>,
}

/// A push whose revert is armed on the host, or running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmedPush {
    pub id: String,
    /// The bundle whose PENDING names the push.
    pub bundle: String,
    /// The revert began to put files back (REVERTING).
    pub reverting: bool,
    /// Its process runs (`Some(true)`) or is gone; `None`: the host cannot
    /// tell (a revert armed by an earlier lugc).
    pub process: Option<bool>,
    /// Seconds from now to its deadline, by the host's clock (negative: past).
    pub left: i64,
    /// The deadline in UTC, when the host could read it.
    pub deadline: Option<String>,
}

/// What an armed revert means now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevertState {
    /// It fires at its deadline or runs now: no push may change the host.
    Due,
    /// Its process is gone before it fired or while it ran (a restart, a
    /// host clock behind): it will never run, nor end, on its own.
    Gone,
    /// Its deadline passed long ago and it never ran (a restart inside the
    /// window): the push stays pending, cut short.
    Stale,
}

impl ArmedPush {
    pub fn state(&self) -> RevertState {
        // A process that has not noticed its deadline yet is still due.
        let due = self.left >= -10;
        match self.process {
            Some(true) => RevertState::Due,
            None if due || self.reverting => RevertState::Due,
            Some(false) if self.reverting || self.left > 10 => RevertState::Gone,
            _ => RevertState::Stale,
        }
    }

    /// `armed ID BUNDLE armed|reverting live|gone|unknown SECONDS_LEFT DEADLINE|-`.
    pub(crate) fn parse(rest: &str) -> Option<ArmedPush> {
        let fields: Vec<&str> = rest.split(' ').collect();
        let [id, bundle, phase, process, left, deadline] = fields[..] else {
            return None;
        };
        let time_like = deadline.len() <= 32
            && deadline
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-:".contains(&b));
        let valid = record::valid_id(id) && record::valid_id(bundle) && time_like;
        valid.then_some(())?;
        Some(ArmedPush {
            id: id.to_owned(),
            bundle: bundle.to_owned(),
            reverting: match phase {
                "armed" => false,
                "reverting" => true,
                _ => return None,
            },
            process: match process {
                "live" => Some(true),
                "gone" => Some(false),
                "unknown" => None,
                _ => return None,
            },
            left: left.parse().ok()?,
            deadline: (deadline != "-").then(|| deadline.to_owned()),
        })
    }
}

/// A push that PENDING or PREVIOUS names.
#[derive(Debug, Clone)]
pub struct Push {
    pub id: String,
    /// What its backup directory holds; `None` when that directory is gone.
    pub backup: Option<Backup>,
}

#[derive(Debug, Clone, Default)]
pub struct Backup {
    pub before: Option<Before>,
    pub pushing: Option<Recorded>,
    pub replaced: Option<Recorded>,
}

impl Push {
    /// For a rollback, the pushes it undoes (its BEFORE says); empty for a push.
    pub fn undoes(&self) -> &[String] {
        self.backup
            .as_ref()
            .and_then(|backup| backup.before.as_ref())
            .map_or(&[], |before| before.undoes.as_slice())
    }
}

impl Records {
    /// The rollback cut short, when the last pending push is one: it
    /// undid pushes that `--rollback` undoes again to finish it.
    pub fn rollback_cut_short(&self) -> Option<&Push> {
        self.pending.last().filter(|push| !push.undoes().is_empty())
    }

    /// What the pending pushes write, as far as their records tell.
    pub fn pending_manifests(&self) -> Vec<&crate::manifest::Manifest> {
        self.pending
            .iter()
            .filter_map(|push| push.backup.as_ref()?.pushing.as_ref())
            .map(|recorded| &recorded.manifest)
            .filter(|manifest| Some(*manifest) != self.last.as_ref().map(|last| &last.manifest))
            .collect()
    }
}

/// Regular files found at the probed paths.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub files: BTreeMap<String, HostFile>,
    pub contents: BTreeMap<String, Vec<u8>>,
    /// Files above the size limit, hashed on the host and not read: their
    /// sizes. Their `files` entry holds `sha256:<hex>` for a blake3 until
    /// `recognise` finds the bundle's version in them.
    pub large: BTreeMap<String, u64>,
    /// Probed paths that are there but are not regular files, or lie behind a symbolic link.
    pub irregular: Vec<String>,
}

/// SHA-256 of `bytes` as lowercase hex, as sha256sum prints it on a host.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// lugc's records of `bundle` on the host, and the reverts armed there.
pub fn records(session: &Session, host: &str, bundle: &str) -> Result<Records, HostError> {
    let output = session.run("records", &[bundle], b"")?;
    Answer::read(&output, host, &session.root)?.records(bundle)
}

/// What `host.sh records` answered: each record's bytes by name, the
/// pushes whose backup directory is gone, the reverts armed and the pushes
/// lugc confirmed.
struct Answer<'a> {
    host: &'a str,
    /// The host's root, for the paths in messages.
    root: &'a str,
    raw: BTreeMap<String, Vec<u8>>,
    gone: BTreeSet<String>,
    armed: Vec<ArmedPush>,
    confirmed: Vec<String>,
}

impl<'a> Answer<'a> {
    /// Read the answer's lines and blocks; refuse a line it does not know.
    fn read(output: &[u8], host: &'a str, root: &'a str) -> Result<Self, HostError> {
        let mut answer = Answer {
            host,
            root,
            raw: BTreeMap::new(),
            gone: BTreeSet::new(),
            armed: Vec::new(),
            confirmed: Vec::new(),
        };
        let mut stream = Stream::new(output, host);
        while let Some(line) = stream.line()? {
            match line.split_once(' ') {
                Some(("record", rest)) => {
                    let (size, name) = rest.split_once(' ').ok_or_else(|| stream.bad(&line))?;
                    let bytes = stream.take(size)?;
                    answer.raw.insert(name.to_owned(), bytes);
                }
                Some(("nobackup", id)) => {
                    answer.gone.insert(id.to_owned());
                }
                Some(("armed", rest)) => {
                    let armed = ArmedPush::parse(rest).ok_or_else(|| stream.bad(&line))?;
                    answer.armed.push(armed);
                }
                Some(("confirmed", id)) if record::valid_id(id) => {
                    answer.confirmed.push(id.to_owned());
                }
                Some(("irregular", path)) => {
                    return Err(answer.bad(format!(
                        "{} is not a regular file or lies behind a symbolic link",
                        excerpt(path.as_bytes(), 200)
                    )));
                }
                _ => return Err(stream.bad(&line)),
            }
        }
        Ok(answer)
    }

    /// The records of `bundle`, each parsed.
    fn records(self, bundle: &str) -> Result<Records, HostError> {
        let reverted = record::reverted(bundle);
        Ok(Records {
            last: self.manifest(&record::manifest(bundle))?,
            pending: self.pushes(&record::pending(bundle))?,
            previous: self.pushes(&record::previous(bundle))?,
            reverted: self
                .text(&reverted)?
                .map(|text| Reverted::parse(&text).map_err(|reason| self.parsed(&reverted, reason)))
                .transpose()?,
            armed: self.armed,
            confirmed: self.confirmed,
        })
    }

    fn bad(&self, reason: String) -> HostError {
        HostError::RemoteState {
            host: self.host.to_owned(),
            reason,
        }
    }

    /// The record `name` could not be parsed: `reason`.
    fn parsed(&self, name: &str, reason: String) -> HostError {
        self.bad(format!("{}: {reason}", record::path(self.root, name)))
    }

    /// The text of the record `name`, if the host has it.
    fn text(&self, name: &str) -> Result<Option<String>, HostError> {
        self.raw
            .get(name)
            .map(|bytes| {
                record_text(bytes)
                    .map_err(|what| self.bad(format!("{} {what}", record::path(self.root, name))))
            })
            .transpose()
    }

    fn manifest(&self, name: &str) -> Result<Option<Recorded>, HostError> {
        self.text(name)?
            .map(|text| Recorded::parse(text).map_err(|reason| self.parsed(name, reason)))
            .transpose()
    }

    /// The pushes the list `name` holds, each with its backup's records.
    fn pushes(&self, name: &str) -> Result<Vec<Push>, HostError> {
        let Some(list) = self.text(name)? else {
            return Ok(Vec::new());
        };
        let ids = record::parse_pushes(&list).map_err(|reason| self.parsed(name, reason))?;
        ids.into_iter().map(|id| self.push(id)).collect()
    }

    fn push(&self, id: String) -> Result<Push, HostError> {
        if self.gone.contains(&id) {
            return Ok(Push { id, backup: None });
        }
        let before = record::before(&id);
        let backup = Backup {
            before: self
                .text(&before)?
                .map(|text| Before::parse(&text).map_err(|reason| self.parsed(&before, reason)))
                .transpose()?,
            pushing: self.manifest(&record::pushing(&id))?,
            replaced: self.manifest(&record::replaced(&id))?,
        };
        Ok(Push {
            id,
            backup: Some(backup),
        })
    }
}

/// A record's text: UTF-8 without a control character but line breaks and
/// tabs, as lugc writes it, so that no field of it can reach a message raw.
fn record_text(bytes: &[u8]) -> Result<String, &'static str> {
    let text = String::from_utf8(bytes.to_vec()).map_err(|_| "is not UTF-8")?;
    if crate::sanitise::text(&text) != text {
        return Err("holds a control character");
    }
    Ok(text)
}

/// The regular files at `paths` (absolute on the host, below the root).
pub fn files(session: &Session, host: &str, paths: &[String]) -> Result<Found, HostError> {
    let mut found = Found::default();
    if paths.is_empty() {
        return Ok(found);
    }
    let mut input = paths.join("\n");
    input.push('\n');
    let limit = session.remote.limits.file.to_string();
    let output = session.run("files", &[&limit], input.as_bytes())?;
    let mut stream = Stream::new(&output, host);
    while let Some(line) = stream.line()? {
        if !found_file(&mut stream, &line, &mut found)? {
            return Err(stream.bad(&line));
        }
    }
    Ok(found)
}

/// Reads a `file`, `large` or `irregular` line (and the file's bytes) into
/// `found`; false for any other line.
fn found_file(stream: &mut Stream<'_>, line: &str, found: &mut Found) -> Result<bool, HostError> {
    match line.split_once(' ') {
        Some(("large", rest)) => {
            let fields: Vec<&str> = rest.splitn(5, ' ').collect();
            let [mode, owner, size, sha256, path] = fields[..] else {
                return Err(stream.bad(line));
            };
            let mode = u32::from_str_radix(mode, 8).map_err(|_| stream.bad(line))?;
            let size = size.parse().map_err(|_| stream.bad(line))?;
            if !is_sha256(sha256) {
                return Err(stream.bad(line));
            }
            let file = HostFile {
                blake3: format!("sha256:{sha256}"),
                mode,
                owner: owner.to_owned(),
            };
            found.files.insert(path.to_owned(), file);
            found.large.insert(path.to_owned(), size);
        }
        Some(("file", rest)) => {
            let fields: Vec<&str> = rest.splitn(4, ' ').collect();
            let [mode, owner, size, path] = fields[..] else {
                return Err(stream.bad(line));
            };
            let mode = u32::from_str_radix(mode, 8).map_err(|_| stream.bad(line))?;
            let bytes = stream.take(size)?;
            let file = HostFile {
                blake3: blake3::hash(&bytes).to_hex().to_string(),
                mode,
                owner: crate::sanitise::line(owner).into_owned(),
            };
            found.files.insert(path.to_owned(), file);
            found.contents.insert(path.to_owned(), bytes);
        }
        Some(("irregular", path)) => found
            .irregular
            .push(crate::sanitise::line(path).into_owned()),
        _ => return Ok(false),
    }
    Ok(true)
}

/// One fact command to run on the host (`host.sh facts`).
#[derive(Debug, Clone, Copy)]
pub struct FactCommand<'a> {
    pub name: &'a str,
    /// A file below the root given to the command as its input; the command
    /// is not run when it is absent.
    pub input: Option<&'a str>,
    pub command: &'a str,
}

/// What `host.sh facts` answered: the files facts are read from, and each
/// command's exit status and output (`None`: its input is absent).
#[derive(Debug, Clone, Default)]
pub struct Gathered {
    pub found: Found,
    pub ran: BTreeMap<String, Option<(i32, Vec<u8>)>>,
}

/// Read the fact files and run `commands` through `runner` on the host.
pub fn facts(
    session: &Session,
    host: &str,
    runner: &str,
    commands: &[FactCommand<'_>],
) -> Result<Gathered, HostError> {
    let limit = session.remote.limits.file.to_string();
    let mut args = vec![limit.as_str(), runner];
    for command in commands {
        args.extend([command.name, command.input.unwrap_or("-"), command.command]);
    }
    let output = session.run("facts", &args, b"")?;
    let mut stream = Stream::new(&output, host);
    let mut gathered = Gathered::default();
    while let Some(line) = stream.line()? {
        if found_file(&mut stream, &line, &mut gathered.found)? {
            continue;
        }
        match line.split_once(' ') {
            Some(("run", rest)) => {
                let fields: Vec<&str> = rest.splitn(3, ' ').collect();
                let [name, status, size] = fields[..] else {
                    return Err(stream.bad(&line));
                };
                let status = status.parse().map_err(|_| stream.bad(&line))?;
                let bytes = stream.take(size)?;
                gathered.ran.insert(name.to_owned(), Some((status, bytes)));
            }
            Some(("absent", name)) => {
                gathered.ran.insert(name.to_owned(), None);
            }
            _ => return Err(stream.bad(&line)),
        }
    }
    Ok(gathered)
}

/// The VM configs of the host's node (`/etc/pve/qemu-server`, the link
/// pmxcfs makes to `nodes/<node>/qemu-server`, followed as `facts` does),
/// by the path they have there.
pub fn vm_configs(session: &Session, host: &str) -> Result<BTreeMap<String, Vec<u8>>, HostError> {
    let gathered = facts(session, host, "true", &[])?;
    Ok(gathered
        .found
        .contents
        .into_iter()
        .filter(|(path, _)| crate::qemu_cfg::vm_id(path).is_some())
        .collect())
}

/// A regular file as `hashes` finds it: no content, its SHA-256 (the host
/// has sha256sum; lugc's records hold blake3, which the caller matches).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashed {
    pub mode: u32,
    pub owner: String,
    pub sha256: String,
}

/// The regular files at `paths`, hashed on the host; nothing else is read.
pub fn hashes(
    session: &Session,
    host: &str,
    paths: &[String],
) -> Result<(BTreeMap<String, Hashed>, Vec<String>), HostError> {
    let mut files = BTreeMap::new();
    let mut irregular = Vec::new();
    if paths.is_empty() {
        return Ok((files, irregular));
    }
    let mut input = paths.join("\n");
    input.push('\n');
    let output = session.run("hashes", &[], input.as_bytes())?;
    let mut stream = Stream::new(&output, host);
    while let Some(line) = stream.line()? {
        match line.split_once(' ') {
            Some(("hash", rest)) => {
                let fields: Vec<&str> = rest.splitn(4, ' ').collect();
                let [mode, owner, sha256, path] = fields[..] else {
                    return Err(stream.bad(&line));
                };
                let mode = u32::from_str_radix(mode, 8).map_err(|_| stream.bad(&line))?;
                if !is_sha256(sha256) {
                    return Err(stream.bad(&line));
                }
                let hashed = Hashed {
                    mode,
                    owner: crate::sanitise::line(owner).into_owned(),
                    sha256: sha256.to_owned(),
                };
                files.insert(path.to_owned(), hashed);
            }
            Some(("irregular", path)) => irregular.push(crate::sanitise::line(path).into_owned()),
            _ => return Err(stream.bad(&line)),
        }
    }
    Ok((files, irregular))
}

fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Lines, each possibly followed by a counted block of bytes.
struct Stream<'a> {
    bytes: &'a [u8],
    host: &'a str,
}

impl<'a> Stream<'a> {
    fn new(bytes: &'a [u8], host: &'a str) -> Stream<'a> {
        Stream { bytes, host }
    }

    fn line(&mut self) -> Result<Option<String>, HostError> {
        if self.bytes.is_empty() {
            return Ok(None);
        }
        let end = self
            .bytes
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| self.bad_bytes(self.bytes))?;
        let line = std::str::from_utf8(&self.bytes[..end])
            .map_err(|_| self.bad_bytes(&self.bytes[..end]))?;
        self.bytes = &self.bytes[end + 1..];
        Ok(Some(line.to_owned()))
    }

    fn take(&mut self, size: &str) -> Result<Vec<u8>, HostError> {
        let size: usize = size.trim().parse().map_err(|_| self.bad(size))?;
        let block = self
            .bytes
            .get(..size)
            .ok_or_else(|| HostError::RemoteState {
                host: self.host.to_owned(),
                reason: "the probe's answer is cut short".to_owned(),
            })?;
        self.bytes = &self.bytes[size..];
        Ok(block.to_vec())
    }

    fn bad(&self, line: &str) -> HostError {
        self.bad_bytes(line.as_bytes())
    }

    fn bad_bytes(&self, bytes: &[u8]) -> HostError {
        HostError::RemoteState {
            host: self.host.to_owned(),
            reason: format!("the probe answered `{}`", excerpt(bytes, 80)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_file_comes_as_its_size_and_hash() {
        let bundle = b"server time.ustc.edu.cn iburst\n";
        let answer = format!(
            "large 644 root:root 1073741824 {} /etc/chrony/chrony.conf\nlarge 644 root:root 9000000 {} /etc/motd\nfile 644 root:root 3 /etc/hostname\nab\n",
            sha256(bundle),
            "0".repeat(64)
        );
        let mut stream = Stream::new(answer.as_bytes(), "pve-5");
        let mut found = Found::default();
        while let Some(line) = stream.line().unwrap() {
            assert!(
                found_file(&mut stream, &line, &mut found).unwrap(),
                "{line}"
            );
        }
        assert_eq!(found.large["/etc/chrony/chrony.conf"], 1 << 30);
        assert_eq!(found.contents.keys().collect::<Vec<_>>(), ["/etc/hostname"]);
        let bad = "large 644 root:root 12 nothex /etc/motd\n";
        let mut stream = Stream::new(bad.as_bytes(), "pve-5");
        let line = stream.line().unwrap().unwrap();
        assert!(found_file(&mut stream, &line, &mut found).is_err());
    }

    #[test]
    fn armed_reverts_are_due_gone_or_stale() {
        let armed = |rest: &str| ArmedPush::parse(rest).map(|armed| armed.state());
        let id = "pve-5-0123456789ab.Xy3kP0aQ";
        let due = Some(RevertState::Due);
        assert_eq!(
            armed(&format!("{id} pve-5 armed live 30 2026-01-01T00:00:00Z")),
            due
        );
        assert_eq!(armed(&format!("{id} pve-5 armed live -600 -")), due);
        assert_eq!(armed(&format!("{id} pve-5 reverting unknown -600 -")), due);
        assert_eq!(armed(&format!("{id} pve-5 armed unknown 30 -")), due);
        let gone = Some(RevertState::Gone);
        assert_eq!(armed(&format!("{id} pve-5 armed gone 3600 -")), gone);
        assert_eq!(armed(&format!("{id} pve-5 reverting gone -5 -")), gone);
        let stale = Some(RevertState::Stale);
        assert_eq!(armed(&format!("{id} pve-5 armed gone -600 -")), stale);
        assert_eq!(armed(&format!("{id} pve-5 armed unknown -600 -")), stale);
        for bad in [
            format!("{id} pve-5 armed live 30"),
            "../x pve-5 armed live 30 -".to_owned(),
            format!("{id} pve-5 armed maybe 30 -"),
            format!("{id} pve-5 armed live soon -"),
            format!("{id} pve-5 armed live 30 $(reboot)"),
        ] {
            assert_eq!(armed(&bad), None, "{bad}");
        }
    }

    /// `host.sh records` as lugc reads it: each record by name, a push
    /// whose backup is gone, an armed revert and a confirmed push.
    #[test]
    fn the_records_answer_is_read_record_by_record() {
        let manifest = crate::manifest::Manifest {
            bundle: "pve-5".into(),
            reaches: vec!["pve-5".into()],
            ..Default::default()
        }
        .render();
        let (id, gone) = ("pve-5-0123456789ab.Xy3kP0aQ", "pve-5-0123456789ab.Gone0000");
        let pending = record::render_pushes(&[id.to_owned(), gone.to_owned()]);
        let before = Before {
            bundle: "pve-5".into(),
            replaces: None,
            undoes: Vec::new(),
            paths: BTreeMap::new(),
        };
        let block = |name: &str, text: &str| format!("record {} {name}\n{text}", text.len());
        let answer = [
            block("pve-5.MANIFEST", &manifest),
            block("pve-5.PENDING", &pending),
            block(&record::before(id), &before.render()),
            format!("nobackup {gone}\n"),
            format!("armed {id} pve-5 armed live 30 -\n"),
            format!("confirmed {id}\n"),
        ]
        .concat();
        let read = |answer: &str| Answer::read(answer.as_bytes(), "pve-5", "")?.records("pve-5");
        let records = read(&answer).unwrap();
        assert_eq!(records.last.unwrap().text, manifest);
        let backups: Vec<_> = records
            .pending
            .iter()
            .map(|push| push.backup.is_some())
            .collect();
        assert_eq!(backups, [true, false]);
        assert_eq!(
            records.pending[0].backup.as_ref().unwrap().before,
            Some(before)
        );
        assert_eq!(records.armed.len(), 1);
        assert_eq!(records.confirmed, [id]);
        assert!(records.previous.is_empty() && records.reverted.is_none());
        for bad in [
            "what now\n",
            "record 99 pve-5.MANIFEST\ncut",
            "record x pve-5.MANIFEST\n",
            "irregular /var/lib/lugc/pve-5.MANIFEST\n",
            "record 2 pve-5.PENDING\n\x1b\n",
            "record 4 pve-5.MANIFEST\nnope",
            "no newline",
        ] {
            assert!(read(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sha256_is_hex_of_the_digest() {
        assert_eq!(
            sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
