//! diff::report: what changes between two versions of bundles, as data: a
//! [`Report`] of [`BundleChange`]s, each a list of [`FileChange`]s.
//!
//! `compare` makes one from two out/ trees; any other caller (push, showing
//! what it would change on a host) builds one with [`FileChange::between`]
//! and [`BundleChange::new`] and draws it with [`crate::diff::draw`]. Pure:
//! reads nothing, formats nothing.

use std::sync::Arc;

use similar::{ChangeTag, TextDiff};

use crate::diff::sections::{self, Kind};
use crate::manifest::{action_due, Entry};

/// Files larger than this on either side are reported, not diffed.
pub const MAX_BYTES: usize = 1 << 20;
/// Files with more lines than this on either side are reported, not diffed.
pub const MAX_LINES: usize = 5000;
/// Lines of context around each change in a unified diff.
const CONTEXT: usize = 3;

/// Everything that differs between two sets of bundles; empty `bundles` means no change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Label of the old side (a revision).
    pub old: String,
    /// Label of the new side (a revision, `working tree`, `cluster.ncl (rebuilt)`).
    pub new: String,
    /// Changed bundles in natural order of their (new) names.
    pub bundles: Vec<BundleChange>,
    /// Files and MANIFESTs that do not match what lists them: out/ edited by hand.
    pub hand_edits: Vec<HandEdit>,
    /// Work left undone, said rather than skipped silently (rename detection over too many files).
    pub notes: Vec<String>,
    /// What push's dry runs found that can lose data or cut service (`None`
    /// outside push: the JSON then has no `harms`).
    pub harms: Option<Vec<crate::harm::Listed>>,
}

/// A file or MANIFEST of out/ that does not match its MANIFEST or INDEX line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct HandEdit {
    /// Label of the side it was found on.
    pub side: String,
    /// Path inside out/: `pve-5/etc/hosts`, `pve-5/MANIFEST`.
    pub location: String,
    pub reason: String,
}

/// One bundle whose id differs, or that was renamed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleChange {
    pub name: String,
    /// The bundle's name on the old side, when it was renamed.
    pub old_name: Option<String>,
    /// How alike a renamed bundle's files are, in percent.
    pub similarity: Option<u8>,
    /// `None` when the bundle is new.
    pub old_id: Option<String>,
    /// `None` when the bundle is gone.
    pub new_id: Option<String>,
    /// Hosts the bundle lands on, old and new together, in natural order.
    pub reaches: Vec<String>,
    /// Changed files, sorted by path.
    pub files: Vec<FileChange>,
    /// Distinct actions push runs for this change, in path order: none for a
    /// removed bundle, every action of a new or renamed one (push has no
    /// record of it on the host).
    pub actions: Vec<String>,
    /// A host bundle's own addresses, either side, where its diff may hold
    /// them ([`crate::diff::renames::own_addresses`]): its changes are
    /// grouped with other hosts' modulo them, as modulo its name.
    pub addresses: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Added,
    Removed,
    Modified,
    /// A file at another path of the same bundle, or a bundle under another name.
    Renamed,
    /// A file that came from another bundle.
    Moved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Added => "added",
            Status::Removed => "removed",
            Status::Modified => "modified",
            Status::Renamed => "renamed",
            Status::Moved => "moved",
        }
    }
}

/// Where a file is: its bundle and absolute target path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Place {
    pub bundle: String,
    pub path: String,
}

/// One file whose MANIFEST line differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Absolute target path on the host (the new path of a renamed file).
    pub path: String,
    pub status: Status,
    /// Where a renamed or moved file was on the old side.
    pub from: Option<Place>,
    /// Where a removed file went, when it moved to another bundle.
    pub moved_to: Option<Place>,
    /// How alike a renamed or moved file's two versions are, in percent.
    pub similarity: Option<u8>,
    pub old: Option<Entry>,
    pub new: Option<Entry>,
    pub content: Content,
}

/// How a file's bytes changed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Content {
    /// Same bytes: only mode, owner or action changed (or nothing, for a renamed file).
    Same,
    /// UTF-8 text: counts of lines and the unified diff's hunks (without the
    /// `---`/`+++` header), shared by every file with the same change.
    Text {
        added: usize,
        removed: usize,
        hunks: Arc<str>,
    },
    /// Not UTF-8 (or holds NUL bytes) on one side: reported, not dumped.
    Binary { old_bytes: usize, new_bytes: usize },
    /// Over [`MAX_BYTES`] or [`MAX_LINES`] on one side: reported, not dumped.
    TooLarge { old_bytes: usize, new_bytes: usize },
    /// Text that may hold a secret (a host's file in push's preview): the
    /// counts of lines only, never a line of it.
    Hidden { added: usize, removed: usize },
}

impl Content {
    /// Lines added and removed (zero unless text).
    pub fn lines(&self) -> (usize, usize) {
        match self {
            Content::Text { added, removed, .. } | Content::Hidden { added, removed } => {
                (*added, *removed)
            }
            _ => (0, 0),
        }
    }

    /// The same change with its text withheld: only the counts stay.
    pub fn hidden(self) -> Content {
        match self {
            Content::Text { added, removed, .. } => Content::Hidden { added, removed },
            other => other,
        }
    }
}

impl Report {
    /// Whether anything differs (hand edits count: out/ is not what it claims).
    pub fn changed(&self) -> bool {
        !self.bundles.is_empty() || !self.hand_edits.is_empty()
    }
}

impl BundleChange {
    /// A changed bundle from its file changes (sorted by path); `actions` are
    /// those of the changed files, or none when the bundle is removed.
    pub fn new(
        name: impl Into<String>,
        old_id: Option<String>,
        new_id: Option<String>,
        reaches: Vec<String>,
        files: Vec<FileChange>,
    ) -> BundleChange {
        let actions = if new_id.is_none() {
            Vec::new()
        } else {
            distinct_actions(
                files
                    .iter()
                    .filter(|file| action_due(file.old.as_ref(), file.new.as_ref()))
                    .map(FileChange::entry),
            )
        };
        BundleChange {
            name: name.into(),
            old_name: None,
            similarity: None,
            old_id,
            new_id,
            reaches,
            files,
            actions,
            addresses: Vec::new(),
        }
    }

    pub fn status(&self) -> Status {
        match (&self.old_id, &self.new_id, &self.old_name) {
            (None, _, _) => Status::Added,
            (_, None, _) => Status::Removed,
            (_, _, Some(_)) => Status::Renamed,
            _ => Status::Modified,
        }
    }

    /// The bundle's name on the old side.
    pub fn old_name(&self) -> &str {
        self.old_name.as_deref().unwrap_or(&self.name)
    }

    /// Whether this bundle is a host's own bundle (it reaches only itself,
    /// under its old or new name).
    pub fn is_host(&self) -> bool {
        !self.reaches.is_empty()
            && self
                .reaches
                .iter()
                .all(|host| *host == self.name || Some(host) == self.old_name.as_ref())
    }
}

/// Each action of `entries` once, in their order.
pub fn distinct_actions<'a>(entries: impl Iterator<Item = &'a Entry>) -> Vec<String> {
    let mut actions: Vec<String> = Vec::new();
    for action in entries.filter_map(|entry| entry.action.as_ref()) {
        if !actions.contains(action) {
            actions.push(action.clone());
        }
    }
    actions
}

impl FileChange {
    /// A change of the file at `path` from `old` to `new` (`None`: absent
    /// there), its status following from which sides exist.
    pub fn new(
        path: impl Into<String>,
        old: Option<Entry>,
        new: Option<Entry>,
        content: Content,
    ) -> FileChange {
        FileChange {
            path: path.into(),
            status: match (&old, &new) {
                (None, _) => Status::Added,
                (_, None) => Status::Removed,
                _ => Status::Modified,
            },
            from: None,
            moved_to: None,
            similarity: None,
            old,
            new,
            content,
        }
    }

    /// How a file at `path` changed, from its MANIFEST entry and bytes on
    /// each side (`None`: absent there).
    pub fn between(
        path: impl Into<String>,
        old: Option<(&Entry, &[u8])>,
        new: Option<(&Entry, &[u8])>,
    ) -> FileChange {
        let path = path.into();
        let content = match (old, new) {
            (Some((a, _)), Some((b, _))) if a.blake3 == b.blake3 => Content::Same,
            _ => content_change(
                sections::kind(&path),
                old.map(|(_, bytes)| bytes),
                new.map(|(_, bytes)| bytes),
            ),
        };
        let entry = |side: Option<(&Entry, &[u8])>| side.map(|(entry, _)| entry.clone());
        FileChange::new(path, entry(old), entry(new), content)
    }

    /// The entry push would act on: the new one, or the old one for a removed file.
    pub fn entry(&self) -> &Entry {
        self.new
            .as_ref()
            .or(self.old.as_ref())
            .expect("a change has at least one side")
    }

    /// Where the old version of this file is, given the bundle it is listed in.
    pub fn old_place(&self, bundle: &BundleChange) -> Place {
        self.from.clone().unwrap_or_else(|| Place {
            bundle: bundle.old_name().to_owned(),
            path: self.path.clone(),
        })
    }
}

/// The unified diff's hunks, each header followed by the section, stanza
/// or key it changes where `kind` says how to find one, as `git diff` names
/// a function.
fn named_hunks<'a>(
    diff: &'a TextDiff<'a, 'a, 'a, str>,
    kind: Option<Kind>,
    old: &str,
    new: &str,
) -> String {
    let mut unified = diff.unified_diff();
    unified.context_radius(CONTEXT).missing_newline_hint(true);
    let Some(kind) = kind else {
        return unified.to_string();
    };
    let (old_lines, new_lines): (Vec<&str>, Vec<&str>) =
        (old.lines().collect(), new.lines().collect());
    let mut text = String::new();
    for hunk in unified.iter_hunks() {
        let body = hunk.to_string();
        match sections::name(kind, &old_lines, &new_lines, hunk.ops()) {
            Some(name) => {
                let header = hunk.header().to_string();
                text.push_str(&body.replacen(&header, &format!("{header} {name}"), 1));
            }
            None => text.push_str(&body),
        }
    }
    text
}

/// How `old` became `new` (`None`: the file does not exist on that side);
/// `kind` names the hunks of a file whose structure lugc knows.
pub fn content_change(kind: Option<Kind>, old: Option<&[u8]>, new: Option<&[u8]>) -> Content {
    let old = old.unwrap_or_default();
    let new = new.unwrap_or_default();
    let (old_bytes, new_bytes) = (old.len(), new.len());
    let text = |bytes| {
        std::str::from_utf8(bytes)
            .ok()
            .filter(|text| !text.contains('\0'))
    };
    let (Some(old_text), Some(new_text)) = (text(old), text(new)) else {
        return Content::Binary {
            old_bytes,
            new_bytes,
        };
    };
    let too_large = |text: &str| text.len() > MAX_BYTES || text.lines().count() > MAX_LINES;
    if too_large(old_text) || too_large(new_text) {
        return Content::TooLarge {
            old_bytes,
            new_bytes,
        };
    }
    let diff = TextDiff::from_lines(old_text, new_text);
    let (mut added, mut removed) = (0, 0);
    for change in diff.iter_all_changes() {
        match change.tag() {
            ChangeTag::Insert => added += 1,
            ChangeTag::Delete => removed += 1,
            ChangeTag::Equal => {}
        }
    }
    let hunks = named_hunks(&diff, kind, old_text, new_text);
    // Content may come from a host: shown, it must not drive the terminal.
    Content::Text {
        added,
        removed,
        hunks: crate::sanitise::text(&hunks).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, bytes: &[u8], action: Option<&str>) -> Entry {
        Entry {
            blake3: blake3::hash(bytes).to_hex().to_string(),
            mode: 0o644,
            owner: "root:root".to_owned(),
            path: path.to_owned(),
            action: action.map(str::to_owned),
        }
    }

    #[test]
    fn text_changes_count_lines_and_keep_hunks() {
        let content = content_change(None, Some(b"a\nb\nc\n"), Some(b"a\nB\nc\n"));
        let Content::Text {
            added,
            removed,
            hunks,
        } = content
        else {
            panic!("{content:?}")
        };
        assert_eq!((added, removed), (1, 1));
        assert_eq!(&*hunks, "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
    }

    #[test]
    fn an_added_file_is_all_insertions() {
        let content = content_change(None, None, Some(b"x\ny\n"));
        assert_eq!(content.lines(), (2, 0));
    }

    #[test]
    fn binary_and_large_files_are_not_diffed() {
        assert_eq!(
            content_change(None, Some(b"\xff\xfe"), Some(b"text\n")),
            Content::Binary {
                old_bytes: 2,
                new_bytes: 5
            }
        );
        let long = "line\n".repeat(MAX_LINES + 1);
        assert!(matches!(
            content_change(None, Some(b""), Some(long.as_bytes())),
            Content::TooLarge { .. }
        ));
    }

    #[test]
    fn a_caller_builds_a_bundle_change_from_bytes() {
        let action = Some("systemctl restart chrony.service");
        let old = entry("/etc/chrony/chrony.conf", b"server a\n", action);
        let new = entry("/etc/chrony/chrony.conf", b"server b\n", action);
        let gone = entry("/etc/old", b"x\n", Some("reload old"));
        let files = vec![
            FileChange::between(
                "/etc/chrony/chrony.conf",
                Some((&old, b"server a\n")),
                Some((&new, b"server b\n")),
            ),
            FileChange::between("/etc/old", Some((&gone, b"x\n")), None),
        ];
        assert_eq!(files[0].status, Status::Modified);
        assert_eq!(files[1].status, Status::Removed);
        let bundle = BundleChange::new(
            "pve-5",
            Some("a".into()),
            Some("b".into()),
            vec!["pve-5".into()],
            files.clone(),
        );
        assert_eq!(
            bundle.actions,
            ["systemctl restart chrony.service", "reload old"]
        );
        let removed = BundleChange::new("pve-5", Some("a".into()), None, vec![], files);
        assert!(removed.actions.is_empty(), "a removed bundle runs nothing");
        assert_eq!(removed.status(), Status::Removed);
    }
}
