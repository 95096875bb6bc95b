//! diff::sections: what `git diff` puts after a hunk's `@@` (its "function
//! name"), for the files whose structure lugc knows: the storage.cfg section
//! (`zfspool: local-zfs`), the /etc/network/interfaces stanza (`iface vmbr0
//! inet static`), the VM config key (`net0`, `[snapshot] memory`).
//!
//! Pure: lines in, a name out.

use similar::{DiffOp, DiffTag};

/// A file whose hunks are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Storage,
    Interfaces,
    Guest,
}

/// The kind of the file at `path` inside a bundle, if its hunks are named.
pub fn kind(path: &str) -> Option<Kind> {
    if path == "/etc/pve/storage.cfg" {
        return Some(Kind::Storage);
    }
    if path == "/etc/network/interfaces" || path.starts_with("/etc/network/interfaces.d/") {
        return Some(Kind::Interfaces);
    }
    let in_guest_dir = path.starts_with("/etc/pve/qemu-server/")
        || (path.starts_with("/etc/pve/nodes/") && path.contains("/qemu-server/"));
    (in_guest_dir && path.ends_with(".conf")).then_some(Kind::Guest)
}

/// The name of the hunk made of `ops`, where `old` and `new` are the lines of
/// each side: the section or stanza the first change lies in (the last one
/// that begins before it), or the key of the first changed line of a VM config.
pub fn name(kind: Kind, old: &[&str], new: &[&str], ops: &[DiffOp]) -> Option<String> {
    let first = ops.iter().find(|op| op.tag() != DiffTag::Equal)?;
    let before = &old[..first.old_range().start.min(old.len())];
    match kind {
        Kind::Storage => last_header(before, storage_section),
        Kind::Interfaces => last_header(before, interfaces_stanza),
        Kind::Guest => {
            let line = match first.tag() {
                DiffTag::Insert => new.get(first.new_range().start),
                _ => old.get(first.old_range().start),
            }?;
            let key = guest_key(line)?;
            Some(match last_header(before, guest_section) {
                Some(section) => format!("{section} {key}"),
                None => key.to_owned(),
            })
        }
    }
}

/// The last line of `lines` that `header` accepts, trimmed.
fn last_header(lines: &[&str], header: fn(&str) -> bool) -> Option<String> {
    lines
        .iter()
        .rev()
        .map(|line| line.trim_end())
        .find(|line| header(line))
        .map(str::to_owned)
}

/// `zfspool: local-zfs`: unindented `type: id`.
fn storage_section(line: &str) -> bool {
    !line.starts_with(char::is_whitespace)
        && !line.starts_with('#')
        && line.split_once(':').is_some_and(|(kind, id)| {
            !kind.is_empty() && !kind.contains(' ') && !id.trim().is_empty()
        })
}

/// `iface vmbr0 inet static`, `auto vmbr0`, `mapping`, `source …`, `allow-…`.
fn interfaces_stanza(line: &str) -> bool {
    let word = line.split_whitespace().next().unwrap_or_default();
    !line.starts_with(char::is_whitespace)
        && (matches!(
            word,
            "iface" | "auto" | "mapping" | "source" | "source-directory"
        ) || word.starts_with("allow-"))
}

/// `[snapshot]`, `[PENDING]`: a VM config section after the current config.
fn guest_section(line: &str) -> bool {
    line.starts_with('[') && line.ends_with(']')
}

/// `net0` of `net0: virtio=…`, or the section of `[snapshot]`; the
/// description's comment lines are named `description`.
fn guest_key(line: &str) -> Option<&str> {
    let line = line.trim_end();
    if line.starts_with('#') {
        return Some("description");
    }
    if guest_section(line) {
        return Some(line);
    }
    let (key, _) = line.split_once(':')?;
    (!key.is_empty() && !key.contains(char::is_whitespace)).then_some(key)
}

#[cfg(test)]
mod tests {
    use similar::TextDiff;

    use super::*;

    fn names(kind: Kind, old: &str, new: &str) -> Vec<Option<String>> {
        let diff = TextDiff::from_lines(old, new);
        let (old, new): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
        diff.grouped_ops(1)
            .iter()
            .map(|ops| name(kind, &old, &new, ops))
            .collect()
    }

    #[test]
    fn storage_hunks_name_their_section() {
        let old = "dir: local\n\tpath /var/lib/vz\n\tcontent iso\n\nzfspool: local-zfs\n\tpool rpool/data\n\tsparse 1\n\tcontent images\n";
        let new = old.replace("sparse 1", "sparse 0");
        assert_eq!(
            names(Kind::Storage, old, &new),
            [Some("zfspool: local-zfs".to_owned())]
        );
        let first = old.replace("content iso", "content iso,vztmpl");
        assert_eq!(
            names(Kind::Storage, old, &first),
            [Some("dir: local".to_owned())]
        );
    }

    #[test]
    fn interfaces_hunks_name_their_stanza() {
        let old = "auto lo\niface lo inet loopback\n\nauto vmbr0\niface vmbr0 inet static\n\taddress 10.0.0.5/24\n\tbridge-ports eno1\n\tbridge-stp off\n";
        let new = old.replace("eno1", "eno2");
        assert_eq!(
            names(Kind::Interfaces, old, &new),
            [Some("iface vmbr0 inet static".to_owned())]
        );
    }

    #[test]
    fn guest_hunks_name_the_key_and_the_snapshot() {
        let old = "cores: 4\nmemory: 8192\nname: web\nnet0: virtio=AA,bridge=vmbr0\nscsi0: local:1\n\n[before]\nmemory: 4096\nname: web\n";
        let new = old
            .replace(
                "net0: virtio=AA,bridge=vmbr0",
                "net0: virtio=AA,bridge=vmbr1",
            )
            .replace("memory: 4096", "memory: 2048");
        assert_eq!(
            names(Kind::Guest, old, &new),
            [Some("net0".to_owned()), Some("[before] memory".to_owned())]
        );
        assert_eq!(
            names(Kind::Guest, "", "cores: 2\n"),
            [Some("cores".to_owned())]
        );
    }

    #[test]
    fn only_known_files_have_a_kind() {
        assert_eq!(kind("/etc/pve/storage.cfg"), Some(Kind::Storage));
        assert_eq!(kind("/etc/network/interfaces"), Some(Kind::Interfaces));
        assert_eq!(
            kind("/etc/pve/nodes/pve-5/qemu-server/230.conf"),
            Some(Kind::Guest)
        );
        assert_eq!(kind("/etc/pve/nodes/pve-5/lxc/230.conf"), None);
        assert_eq!(kind("/etc/chrony/chrony.conf"), None);
    }
}
