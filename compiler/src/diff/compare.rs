//! diff::compare: two [`OutTree`]s → a [`Report`] of what changes, bundle by
//! bundle and file by file.
//!
//! INDEX bundle ids are compared first: a bundle whose id is the same on both
//! sides is skipped without reading its MANIFEST or files, and inside a
//! changed bundle only files whose MANIFEST line differs are read. Knows
//! nothing of where the trees live, and formats nothing.

use std::collections::{BTreeMap, BTreeSet};

use similar::{ChangeTag, TextDiff};

use crate::diff::source::OutTree;
use crate::diff::DiffError;
use crate::manifest::{Entry, Manifest};

/// Files larger than this on either side are reported, not diffed.
pub const MAX_BYTES: usize = 1 << 20;
/// Files with more lines than this on either side are reported, not diffed.
pub const MAX_LINES: usize = 5000;
/// Lines of context around each change in a unified diff.
const CONTEXT: usize = 3;

/// Everything that differs between two out/ trees; empty `bundles` means no change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Label of the old side (a revision).
    pub old: String,
    /// Label of the new side (a revision, `working tree`, `cluster.ncl`).
    pub new: String,
    /// Changed bundles, sorted by name.
    pub bundles: Vec<BundleChange>,
}

/// One bundle whose id differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleChange {
    pub name: String,
    /// `None` when the bundle is new.
    pub old_id: Option<String>,
    /// `None` when the bundle is gone.
    pub new_id: Option<String>,
    /// Hosts the bundle lands on, old and new together, sorted.
    pub reaches: Vec<String>,
    /// Changed files, sorted by path.
    pub files: Vec<FileChange>,
    /// Distinct actions of the changed files, in path order: what push would run.
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Added,
    Removed,
    Modified,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Added => "added",
            Status::Removed => "removed",
            Status::Modified => "modified",
        }
    }
}

/// One file whose MANIFEST line differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Absolute target path on the host.
    pub path: String,
    pub status: Status,
    pub old: Option<Entry>,
    pub new: Option<Entry>,
    pub content: Content,
}

/// How a file's bytes changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// Same bytes: only mode, owner or action changed.
    Same,
    /// UTF-8 text: counts of lines and the unified diff's hunks (without the `---`/`+++` header).
    Text {
        added: usize,
        removed: usize,
        hunks: String,
    },
    /// Not UTF-8 (or holds NUL bytes) on one side: reported, not dumped.
    Binary { old_bytes: usize, new_bytes: usize },
    /// Over [`MAX_BYTES`] or [`MAX_LINES`] on one side: reported, not dumped.
    TooLarge { old_bytes: usize, new_bytes: usize },
}

impl BundleChange {
    pub fn status(&self) -> Status {
        match (&self.old_id, &self.new_id) {
            (None, _) => Status::Added,
            (_, None) => Status::Removed,
            _ => Status::Modified,
        }
    }

    /// Whether this bundle is a host's own bundle (it reaches only itself).
    pub fn is_host(&self) -> bool {
        self.reaches == [self.name.as_str()]
    }
}

impl FileChange {
    /// The entry push would act on: the new one, or the old one for a removed file.
    pub fn entry(&self) -> &Entry {
        self.new
            .as_ref()
            .or(self.old.as_ref())
            .expect("a change has at least one side")
    }
}

/// Compare `old` with `new`. With `hosts` non-empty, keep only bundles named
/// after one of them or reaching one of them; a name in `hosts` that is no
/// bundle on either side is an error.
pub fn compare(
    old: &dyn OutTree,
    new: &dyn OutTree,
    hosts: &[String],
) -> Result<Report, DiffError> {
    let old_index = old.index()?;
    let new_index = new.index()?;
    if let Some(host) = hosts
        .iter()
        .find(|host| !old_index.contains_key(*host) && !new_index.contains_key(*host))
    {
        return Err(DiffError::UnknownHost {
            host: host.clone(),
            old: old.label().to_owned(),
            new: new.label().to_owned(),
        });
    }
    let names: BTreeSet<&String> = old_index.keys().chain(new_index.keys()).collect();
    let mut bundles = Vec::new();
    for name in names {
        let old_id = old_index.get(name);
        let new_id = new_index.get(name);
        if old_id == new_id {
            continue;
        }
        let old_manifest = old_id.map(|_| old.manifest(name)).transpose()?;
        let new_manifest = new_id.map(|_| new.manifest(name)).transpose()?;
        let reaches: BTreeSet<String> = [&old_manifest, &new_manifest]
            .into_iter()
            .flatten()
            .flat_map(|manifest| manifest.reaches.iter().cloned())
            .collect();
        let wanted = hosts.is_empty()
            || hosts
                .iter()
                .any(|host| host == name || reaches.contains(host));
        if !wanted {
            continue;
        }
        let files = compare_files(
            name,
            (old, old_manifest.as_ref()),
            (new, new_manifest.as_ref()),
        )?;
        let mut actions: Vec<String> = Vec::new();
        for action in files.iter().filter_map(|file| file.entry().action.as_ref()) {
            if !actions.contains(action) {
                actions.push(action.clone());
            }
        }
        bundles.push(BundleChange {
            name: name.clone(),
            old_id: old_id.cloned(),
            new_id: new_id.cloned(),
            reaches: reaches.into_iter().collect(),
            files,
            actions,
        });
    }
    Ok(Report {
        old: old.label().to_owned(),
        new: new.label().to_owned(),
        bundles,
    })
}

type Side<'a> = (&'a dyn OutTree, Option<&'a Manifest>);

fn compare_files(bundle: &str, old: Side<'_>, new: Side<'_>) -> Result<Vec<FileChange>, DiffError> {
    let by_path = |manifest: Option<&Manifest>| -> BTreeMap<String, Entry> {
        manifest
            .map(|manifest| {
                manifest
                    .entries
                    .iter()
                    .map(|entry| (entry.path.clone(), entry.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut old_entries = by_path(old.1);
    let mut new_entries = by_path(new.1);
    let paths: BTreeSet<String> = old_entries
        .keys()
        .chain(new_entries.keys())
        .cloned()
        .collect();
    let mut files = Vec::new();
    for path in paths {
        let old_entry = old_entries.remove(&path);
        let new_entry = new_entries.remove(&path);
        if old_entry == new_entry {
            continue;
        }
        let status = match (&old_entry, &new_entry) {
            (None, _) => Status::Added,
            (_, None) => Status::Removed,
            _ => Status::Modified,
        };
        let same_bytes =
            matches!((&old_entry, &new_entry), (Some(a), Some(b)) if a.blake3 == b.blake3);
        let content = if same_bytes {
            Content::Same
        } else {
            let old_bytes = old_entry
                .as_ref()
                .map(|_| old.0.file(bundle, &path))
                .transpose()?;
            let new_bytes = new_entry
                .as_ref()
                .map(|_| new.0.file(bundle, &path))
                .transpose()?;
            content_change(old_bytes.as_deref(), new_bytes.as_deref())
        };
        files.push(FileChange {
            path,
            status,
            old: old_entry,
            new: new_entry,
            content,
        });
    }
    Ok(files)
}

/// How `old` became `new` (`None`: the file does not exist on that side).
pub fn content_change(old: Option<&[u8]>, new: Option<&[u8]>) -> Content {
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
    let hunks = diff
        .unified_diff()
        .context_radius(CONTEXT)
        .missing_newline_hint(true)
        .to_string();
    Content::Text {
        added,
        removed,
        hunks,
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::bundle::bundle;
    use crate::diff::source::{Index, MemTree};
    use crate::render::{BundleTree, TargetFile};

    fn tree(name: &str, reaches: &[&str], files: &[(&str, &str, u32, Option<&str>)]) -> BundleTree {
        BundleTree {
            name: name.to_owned(),
            reaches: reaches.iter().map(|host| (*host).to_owned()).collect(),
            files: files
                .iter()
                .map(|(path, text, mode, action)| {
                    let file = TargetFile {
                        bytes: text.as_bytes().to_vec(),
                        mode: *mode,
                        owner: "root:root".to_owned(),
                        action: action.map(str::to_owned),
                    };
                    ((*path).to_owned(), file)
                })
                .collect(),
        }
    }

    fn mem(label: &str, trees: Vec<BundleTree>) -> MemTree {
        MemTree::new(label, trees.into_iter().map(bundle).collect())
    }

    /// Records which bundles had their MANIFEST or files read.
    struct Counting<'a> {
        inner: &'a MemTree,
        read: RefCell<BTreeSet<String>>,
    }

    impl OutTree for Counting<'_> {
        fn label(&self) -> &str {
            self.inner.label()
        }
        fn index(&self) -> Result<Index, DiffError> {
            self.inner.index()
        }
        fn manifest(&self, bundle: &str) -> Result<Manifest, DiffError> {
            self.read.borrow_mut().insert(bundle.to_owned());
            self.inner.manifest(bundle)
        }
        fn file(&self, bundle: &str, path: &str) -> Result<Vec<u8>, DiffError> {
            self.read.borrow_mut().insert(format!("{bundle}{path}"));
            self.inner.file(bundle, path)
        }
    }

    const RESTART: Option<&str> = Some("systemctl restart chrony.service");

    fn old_fleet() -> MemTree {
        mem(
            "old",
            vec![
                tree(
                    "cluster",
                    &["a", "b"],
                    &[("/etc/pve/storage.cfg", "dir: local\n", 0o640, None)],
                ),
                tree(
                    "a",
                    &["a"],
                    &[
                        ("/etc/chrony/chrony.conf", "server x\n", 0o644, RESTART),
                        ("/etc/hostname", "a\n", 0o644, None),
                    ],
                ),
                tree(
                    "b",
                    &["b"],
                    &[
                        ("/etc/chrony/chrony.conf", "server x\n", 0o644, RESTART),
                        ("/etc/hostname", "b\n", 0o644, None),
                    ],
                ),
                tree(
                    "gone",
                    &["gone"],
                    &[("/etc/hostname", "gone\n", 0o644, None)],
                ),
            ],
        )
    }

    fn new_fleet() -> MemTree {
        mem(
            "new",
            vec![
                tree(
                    "cluster",
                    &["a", "b", "c"],
                    &[("/etc/pve/storage.cfg", "dir: local\n", 0o640, None)],
                ),
                tree(
                    "a",
                    &["a"],
                    &[
                        ("/etc/chrony/chrony.conf", "server y\n", 0o644, RESTART),
                        ("/etc/hostname", "a\n", 0o600, RESTART),
                    ],
                ),
                tree(
                    "b",
                    &["b"],
                    &[
                        ("/etc/chrony/chrony.conf", "server x\n", 0o644, RESTART),
                        ("/etc/hostname", "b\n", 0o644, None),
                    ],
                ),
                tree("c", &["c"], &[("/etc/hostname", "c\n", 0o644, None)]),
            ],
        )
    }

    #[test]
    fn unchanged_bundles_are_never_read() {
        let (old, new) = (old_fleet(), new_fleet());
        let old = Counting {
            inner: &old,
            read: RefCell::default(),
        };
        let new = Counting {
            inner: &new,
            read: RefCell::default(),
        };
        let report = compare(&old, &new, &[]).unwrap();
        let names: Vec<&str> = report.bundles.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["a", "c", "cluster", "gone"]);
        for read in [&old.read, &new.read] {
            assert!(
                !read.borrow().iter().any(|name| name.starts_with('b')),
                "{read:?}"
            );
        }
        assert!(
            !old.read.borrow().contains("a/etc/hostname"),
            "same blake3: bytes not read"
        );
    }

    #[test]
    fn bundles_and_files_are_added_removed_and_modified() {
        let report = compare(&old_fleet(), &new_fleet(), &[]).unwrap();
        let bundle = |name: &str| report.bundles.iter().find(|b| b.name == name).unwrap();
        assert_eq!(bundle("c").status(), Status::Added);
        assert_eq!(bundle("gone").status(), Status::Removed);
        assert_eq!(bundle("gone").files[0].status, Status::Removed);
        let cluster = bundle("cluster");
        assert_eq!(cluster.reaches, ["a", "b", "c"]);
        assert!(cluster.files.is_empty(), "only `reaches` changed");
        let a = bundle("a");
        assert_eq!(a.files.len(), 2);
        assert_eq!(a.files[1].path, "/etc/hostname");
        assert_eq!(a.files[1].content, Content::Same);
        assert_eq!(
            a.actions,
            ["systemctl restart chrony.service"],
            "each action once"
        );
    }

    #[test]
    fn a_host_filter_keeps_bundles_that_reach_the_host() {
        let report = compare(&old_fleet(), &new_fleet(), &["c".to_owned()]).unwrap();
        let names: Vec<&str> = report.bundles.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["c", "cluster"]);
        let error = compare(&old_fleet(), &new_fleet(), &["z".to_owned()]).unwrap_err();
        assert!(matches!(error, DiffError::UnknownHost { .. }), "{error}");
    }

    #[test]
    fn text_changes_count_lines_and_keep_hunks() {
        let content = content_change(Some(b"a\nb\nc\n"), Some(b"a\nB\nc\n"));
        let Content::Text {
            added,
            removed,
            hunks,
        } = content
        else {
            panic!("{content:?}")
        };
        assert_eq!((added, removed), (1, 1));
        assert_eq!(hunks, "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
    }

    #[test]
    fn an_added_file_is_all_insertions() {
        let content = content_change(None, Some(b"x\ny\n"));
        assert!(matches!(
            content,
            Content::Text {
                added: 2,
                removed: 0,
                ..
            }
        ));
    }

    #[test]
    fn binary_and_large_files_are_not_diffed() {
        assert_eq!(
            content_change(Some(b"\xff\xfe"), Some(b"text\n")),
            Content::Binary {
                old_bytes: 2,
                new_bytes: 5
            }
        );
        let long = "line\n".repeat(MAX_LINES + 1);
        assert!(matches!(
            content_change(Some(b""), Some(long.as_bytes())),
            Content::TooLarge { .. }
        ));
    }
}
