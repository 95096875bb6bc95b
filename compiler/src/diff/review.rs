//! diff::review: a [`Report`] arranged for a reviewer. Equal file changes
//! (same path, same change of bytes and metadata) on several bundles form a
//! [`Group`] shown once; a [`Summary`] says which hosts and bundles change and
//! which actions push runs where.
//!
//! Input: a report; output: references into it, in the order they are drawn.
//! Pure: reads nothing, formats nothing but the notes on moved VMs.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::diff::renames;
use crate::diff::report::{BundleChange, Content, FileChange, Place, Report, Status};
use crate::manifest::Entry;
use crate::natural;

/// A report with its equal changes grouped and summed up.
#[derive(Debug)]
pub struct Review<'a> {
    pub report: &'a Report,
    pub summary: Summary<'a>,
    /// Changes made on two or more bundles, by path.
    pub groups: Vec<Group<'a>>,
    /// Per bundle of the report and file of that bundle: the index of its
    /// group, or `None` for a change of its own.
    pub group_of: Vec<Vec<Option<usize>>>,
}

/// One change made the same way on several bundles.
#[derive(Debug)]
pub struct Group<'a> {
    /// The change as the first bundle has it: path, status, metadata, content.
    pub change: &'a FileChange,
    /// The bundles that make it, in natural order.
    pub bundles: Vec<&'a str>,
    /// Whether each host's diff names that host where the first names its
    /// own (the same change modulo the host's name).
    pub host_named: bool,
}

/// The overview drawn first.
#[derive(Debug, Default)]
pub struct Summary<'a> {
    /// Hosts a changed bundle lands on, before or after, in natural order.
    pub hosts: Vec<&'a str>,
    pub modified: Vec<&'a str>,
    pub added: Vec<&'a str>,
    pub removed: Vec<&'a str>,
    pub renamed: Vec<&'a BundleChange>,
    /// File changes in all, counting each bundle's.
    pub files: usize,
    pub lines_added: usize,
    pub lines_removed: usize,
    /// Each action push runs, with the bundles it runs for, in order of first appearance.
    pub actions: Vec<(&'a str, Vec<&'a str>)>,
    /// What lugc does not do for a move (a VM's disks and running state).
    pub warnings: Vec<String>,
}

/// What makes two file changes the same change.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Key<'a> {
    path: &'a str,
    status: Status,
    /// A rename's old path; a move's origin, bundle included.
    from_path: Option<&'a str>,
    from_bundle: Option<&'a str>,
    moved_to: Option<&'a Place>,
    old: Option<Meta<'a>>,
    new: Option<Meta<'a>>,
    /// A host bundle's diff with its own names and addresses replaced by a placeholder.
    content: Cow<'a, Content>,
}

/// An entry without its path; the blake3 only where the content is not a
/// text diff (equal hunks make equal changes, whatever lies around them).
#[derive(Debug, PartialEq, Eq, Hash)]
struct Meta<'a> {
    mode: u32,
    owner: &'a str,
    action: Option<&'a str>,
    blake3: Option<&'a str>,
}

impl<'a> Key<'a> {
    /// The key of `file`, changed on `hosts` (a host bundle's name, and
    /// its old name if renamed; none for another bundle).
    fn of(file: &'a FileChange, hosts: &[&str]) -> Key<'a> {
        let text = matches!(file.content, Content::Text { .. });
        let meta = |entry: &'a Option<Entry>| {
            entry.as_ref().map(|entry| Meta {
                mode: entry.mode,
                owner: &entry.owner,
                action: entry.action.as_deref(),
                blake3: (!text).then_some(entry.blake3.as_str()),
            })
        };
        Key {
            path: &file.path,
            status: file.status,
            from_path: file.from.as_ref().map(|from| from.path.as_str()),
            from_bundle: file
                .from
                .as_ref()
                .filter(|_| file.status == Status::Moved)
                .map(|from| from.bundle.as_str()),
            moved_to: file.moved_to.as_ref(),
            old: meta(&file.old),
            new: meta(&file.new),
            content: without_hosts(&file.content, hosts),
        }
    }
}

/// `content` with the names and addresses of `hosts`, where its diff holds
/// them, replaced by a placeholder no host name or address can be.
fn without_hosts<'a>(content: &'a Content, hosts: &[&str]) -> Cow<'a, Content> {
    let Content::Text {
        added,
        removed,
        hunks,
    } = content
    else {
        return Cow::Borrowed(content);
    };
    match renames::without_own(hunks.as_bytes(), hosts) {
        Cow::Borrowed(_) => Cow::Borrowed(content),
        Cow::Owned(bytes) => Cow::Owned(Content::Text {
            added: *added,
            removed: *removed,
            hunks: String::from_utf8_lossy(&bytes).into(),
        }),
    }
}

impl<'a> Review<'a> {
    pub fn new(report: &'a Report) -> Review<'a> {
        let mut members: Vec<(&'a FileChange, Vec<&'a str>, bool)> = Vec::new();
        let mut by_key: HashMap<Key<'a>, usize> = HashMap::new();
        let mut member_of: Vec<Vec<usize>> = Vec::new();
        for bundle in &report.bundles {
            let hosts: Vec<&str> = if bundle.is_host() {
                let mut names = vec![bundle.name.as_str()];
                names.extend(bundle.old_name.as_deref());
                names.extend(bundle.addresses.iter().map(String::as_str));
                names
            } else {
                Vec::new()
            };
            let mut indices = Vec::new();
            for file in &bundle.files {
                let next = members.len();
                let index = *by_key.entry(Key::of(file, &hosts)).or_insert(next);
                if index == next {
                    members.push((file, Vec::new(), false));
                }
                let member = &mut members[index];
                member.1.push(&bundle.name);
                member.2 |= member.0.content != file.content;
                indices.push(index);
            }
            member_of.push(indices);
        }
        let mut shared: Vec<usize> = (0..members.len())
            .filter(|index| members[*index].1.len() > 1)
            .collect();
        shared.sort_by(|a, b| members[*a].0.path.cmp(&members[*b].0.path).then(a.cmp(b)));
        let mut group_index = vec![None; members.len()];
        for (position, member) in shared.iter().enumerate() {
            group_index[*member] = Some(position);
        }
        let groups = shared
            .iter()
            .map(|member| Group {
                change: members[*member].0,
                bundles: members[*member].1.clone(),
                host_named: members[*member].2,
            })
            .collect();
        let group_of = member_of
            .iter()
            .map(|indices| indices.iter().map(|index| group_index[*index]).collect())
            .collect();
        Review {
            report,
            summary: Summary::new(report),
            groups,
            group_of,
        }
    }

    /// The changes of the bundle at `index` that no other bundle shares.
    pub fn own_files(&self, index: usize) -> impl Iterator<Item = &'a FileChange> + '_ {
        self.report.bundles[index]
            .files
            .iter()
            .zip(&self.group_of[index])
            .filter(|(_, group)| group.is_none())
            .map(|(file, _)| file)
    }

    /// The paths of the changes of the bundle at `index` shown in a group.
    pub fn shared_paths(&self, index: usize) -> Vec<&'a str> {
        let bundle = &self.report.bundles[index];
        bundle
            .files
            .iter()
            .zip(&self.group_of[index])
            .filter(|(_, group)| group.is_some())
            .map(|(file, _)| file.path.as_str())
            .collect()
    }

    /// Whether the bundle at `index` has anything to show besides its groups.
    pub fn has_own_section(&self, index: usize) -> bool {
        let bundle = &self.report.bundles[index];
        bundle.status() != Status::Modified
            || bundle.files.is_empty()
            || self.own_files(index).next().is_some()
    }
}

impl<'a> Summary<'a> {
    fn new(report: &'a Report) -> Summary<'a> {
        let mut summary = Summary::default();
        for bundle in &report.bundles {
            match bundle.status() {
                Status::Added => summary.added.push(bundle.name.as_str()),
                Status::Removed => summary.removed.push(bundle.name.as_str()),
                Status::Renamed => summary.renamed.push(bundle),
                Status::Modified | Status::Moved => summary.modified.push(bundle.name.as_str()),
            }
            summary
                .hosts
                .extend(bundle.reaches.iter().map(String::as_str));
            // A move is one change, counted where the file arrived.
            summary.files += bundle.files.iter().filter(|f| f.moved_to.is_none()).count();
            for file in &bundle.files {
                let (added, removed) = file.content.lines();
                summary.lines_added += added;
                summary.lines_removed += removed;
                if let Some(warning) = move_warning(file) {
                    summary.warnings.push(warning);
                }
            }
            for action in &bundle.actions {
                match summary
                    .actions
                    .iter_mut()
                    .find(|(known, _)| known == action)
                {
                    Some((_, bundles)) => bundles.push(&bundle.name),
                    None => summary.actions.push((action, vec![&bundle.name])),
                }
            }
        }
        natural::sort(&mut summary.hosts);
        summary.hosts.dedup();
        summary
    }
}

/// For a VM or container config that moved to another node's directory in
/// /etc/pve (PVE's own layout), what lugc will not do for the operator.
pub fn move_warning(file: &FileChange) -> Option<String> {
    let from = file.from.as_ref()?;
    let (old_node, kind, id) = guest_config(&from.path)?;
    let (new_node, new_kind, new_id) = guest_config(&file.path)?;
    if old_node == new_node || kind != new_kind || id != new_id {
        return None;
    }
    let (what, migrate) = match kind {
        "qemu-server" => ("VM", "qm migrate"),
        _ => ("container", "pct migrate"),
    };
    Some(format!(
        "{what} {id} moves from {old_node} to {new_node}: lugc moves only its config in /etc/pve; \
         it does not migrate its disks or running state (`{migrate} {id} {new_node}` on {old_node} does, before the push)"
    ))
}

/// `/etc/pve/nodes/<node>/{qemu-server,lxc}/<id>.conf` → (node, kind, id).
fn guest_config(path: &str) -> Option<(&str, &str, &str)> {
    let rest = path.strip_prefix("/etc/pve/nodes/")?;
    let mut parts = rest.split('/');
    let (node, kind, file) = (parts.next()?, parts.next()?, parts.next()?);
    let id = file.strip_suffix(".conf")?;
    let valid = parts.next().is_none()
        && matches!(kind, "qemu-server" | "lxc")
        && !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_digit());
    valid.then_some((node, kind, id))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn entry(path: &str, blake3: &str) -> Entry {
        Entry {
            blake3: blake3.repeat(64),
            mode: 0o644,
            owner: "root:root".to_owned(),
            path: path.to_owned(),
            action: Some("restart".to_owned()),
        }
    }

    fn change(path: &str, hunks: &str) -> FileChange {
        FileChange {
            path: path.to_owned(),
            status: Status::Modified,
            from: None,
            moved_to: None,
            similarity: None,
            old: Some(entry(path, "a")),
            new: Some(entry(path, "b")),
            content: Content::Text {
                added: 1,
                removed: 1,
                hunks: Arc::from(hunks),
            },
        }
    }

    fn bundle(name: &str, files: Vec<FileChange>) -> BundleChange {
        BundleChange::new(
            name,
            Some("1".repeat(64)),
            Some("2".repeat(64)),
            vec![name.to_owned()],
            files,
        )
    }

    #[test]
    fn equal_changes_form_one_group_and_the_rest_stays_per_bundle() {
        let chrony = "/etc/chrony/chrony.conf";
        let report = Report {
            bundles: vec![
                bundle("pve-5", vec![change(chrony, "@@ -1 +1 @@\n-a\n+b\n")]),
                bundle(
                    "pve-6",
                    vec![
                        change(chrony, "@@ -1 +1 @@\n-a\n+b\n"),
                        change("/etc/hosts", "@@ -1 +1 @@\n-x\n+y\n"),
                    ],
                ),
                bundle("pve-10", vec![change(chrony, "@@ -2 +2 @@\n-a\n+b\n")]),
            ],
            ..Report::default()
        };
        let review = Review::new(&report);
        assert_eq!(review.groups.len(), 1);
        assert_eq!(review.groups[0].bundles, ["pve-5", "pve-6"]);
        assert_eq!(
            review.group_of,
            [vec![Some(0)], vec![Some(0), None], vec![None]]
        );
        assert!(!review.has_own_section(0));
        let own: Vec<&str> = review.own_files(1).map(|f| f.path.as_str()).collect();
        assert_eq!(own, ["/etc/hosts"]);
        assert_eq!(review.shared_paths(1), [chrony]);
        assert_eq!(review.summary.files, 4);
        assert_eq!(
            review.summary.actions,
            [("restart", vec!["pve-5", "pve-6", "pve-10"])]
        );
        assert_eq!(review.summary.hosts, ["pve-5", "pve-6", "pve-10"]);
    }

    #[test]
    fn a_vm_config_moving_nodes_warns() {
        let mut file = change("/etc/pve/nodes/pve-6/qemu-server/230.conf", "");
        file.status = Status::Renamed;
        file.from = Some(Place {
            bundle: "cluster".to_owned(),
            path: "/etc/pve/nodes/pve-5/qemu-server/230.conf".to_owned(),
        });
        let warning = move_warning(&file).unwrap();
        assert!(
            warning.starts_with("VM 230 moves from pve-5 to pve-6: "),
            "{warning}"
        );
        assert!(
            warning.contains("`qm migrate 230 pve-6` on pve-5"),
            "{warning}"
        );
        file.from.as_mut().unwrap().path = "/etc/pve/nodes/pve-5/qemu-server/231.conf".to_owned();
        assert_eq!(move_warning(&file), None, "another VM");
        assert_eq!(
            guest_config("/etc/pve/nodes/a/lxc/7.conf"),
            Some(("a", "lxc", "7"))
        );
        assert_eq!(guest_config("/etc/pve/nodes/a/host.fw"), None);
    }
}
