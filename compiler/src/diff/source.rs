//! diff::source: one view of an out/ tree wherever it lives: a git tree at a
//! revision ([`GitTree`]), a directory on disk ([`DirTree`]) or bundles built
//! in memory ([`MemTree`]).
//!
//! Input: a location. Output, each read on demand: INDEX (bundle → id), the
//! MANIFEST of one bundle, the bytes of one file, so that a bundle whose id
//! did not change costs nothing. Never writes, never builds, never shells out
//! to git: revisions are read with git2, the only user of git2 in lugc.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use crate::bundle::Bundle;
use crate::diff::DiffError;
use crate::manifest::Manifest;

pub use crate::bundle::Index;

/// An out/ tree: its INDEX, a bundle's MANIFEST and a file's bytes.
pub trait OutTree {
    /// How the tree is named in output: a revision, `working tree`, `cluster.ncl`.
    fn label(&self) -> &str;
    fn index(&self) -> Result<Index, DiffError>;
    /// The bytes of `<bundle>/MANIFEST`, unchecked: [`parse_manifest`] reads them.
    fn manifest(&self, bundle: &str) -> Result<Vec<u8>, DiffError>;
    /// The bytes of the file at absolute target `path` in `bundle`.
    fn file(&self, bundle: &str, path: &str) -> Result<Vec<u8>, DiffError>;
    /// Whether files whose MANIFEST lines claim the same blake3 may be read
    /// once for all: true of a revision (committed, and checked by `build
    /// --check` where it was built) and of bundles built in memory; the
    /// working tree's files are each read.
    fn shares_claims(&self) -> bool {
        false
    }
}

/// Parse out/INDEX with [`crate::bundle::parse_index`]; `location` names it in errors.
pub fn parse_index(text: &str, location: &str) -> Result<Index, DiffError> {
    crate::bundle::parse_index(text).map_err(|error| DiffError::Malformed {
        location: location.to_owned(),
        reason: error.0,
    })
}

/// Parse a MANIFEST; `location` names it in errors.
pub fn parse_manifest(bytes: &[u8], location: &str) -> Result<Manifest, DiffError> {
    let malformed = |reason: String| DiffError::Malformed {
        location: location.to_owned(),
        reason,
    };
    let text = std::str::from_utf8(bytes).map_err(|_| malformed("not UTF-8".to_owned()))?;
    Manifest::parse(text).map_err(|error| malformed(error.to_string()))
}

/// Where a bundle's file lives inside out/: `<bundle>/<path without its leading slash>`.
fn relative(bundle: &str, path: &str) -> PathBuf {
    Path::new(bundle).join(path.trim_start_matches('/'))
}

/// The git repository holding cluster.ncl, and where out/ sits in it.
pub struct Repo {
    repo: git2::Repository,
    /// The working tree's root, as shown in messages.
    root: PathBuf,
    /// out/ relative to the working tree's root.
    out: PathBuf,
}

impl Repo {
    /// Find the repository that contains `dir`, and out/ (`out`) inside it.
    pub fn discover(dir: &Path, out: &Path) -> Result<Repo, DiffError> {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        // Objects are read, never written: like git, do not hash each one again on reading.
        git2::opts::strict_hash_verification(false);
        let repo = git2::Repository::discover(dir).map_err(|_| DiffError::NotARepository {
            path: canonical(dir),
        })?;
        let Some(workdir) = repo.workdir() else {
            return Err(DiffError::NotARepository {
                path: canonical(dir),
            });
        };
        let root = canonical(workdir);
        let out_abs = canonical(out);
        let out = out_abs
            .strip_prefix(&root)
            .map_err(|_| DiffError::OutsideRepository {
                out: out_abs.clone(),
                repo: root.clone(),
            })?
            .to_path_buf();
        Ok(Repo { repo, root, out })
    }

    /// out/ as committed at `rev` (anything `git rev-parse` takes: HEAD~1, a branch, an id).
    pub fn at(&self, rev: &str) -> Result<GitTree<'_>, DiffError> {
        let unknown = |reason: &str| DiffError::UnknownRevision {
            rev: rev.to_owned(),
            repo: self.root.clone(),
            reason: reason.to_owned(),
        };
        let object = self
            .repo
            .revparse_single(rev)
            .map_err(|error| unknown(error.message()))?;
        let tree = object
            .peel_to_tree()
            .map_err(|_| unknown("it names neither a commit nor a tree"))?;
        let no_out = || DiffError::NoOut {
            rev: rev.to_owned(),
            out: self.out.clone(),
            repo: self.root.clone(),
        };
        let out = if self.out.as_os_str().is_empty() {
            tree.id()
        } else {
            let entry = tree.get_path(&self.out).map_err(|_| no_out())?;
            if entry.kind() != Some(git2::ObjectType::Tree) {
                return Err(no_out());
            }
            entry.id()
        };
        let out = self.repo.find_tree(out).map_err(|_| no_out())?;
        Ok(GitTree {
            repo: self,
            rev: rev.to_owned(),
            label: rev.to_owned(),
            out,
            bundles: RefCell::default(),
        })
    }

    /// The commit where the histories of `a` and `b` meet, as `git merge-base` finds it.
    pub fn merge_base(&self, a: &str, b: &str) -> Result<String, DiffError> {
        let commit = |rev: &str| {
            self.repo
                .revparse_single(rev)
                .and_then(|object| object.peel_to_commit())
                .map(|commit| commit.id())
                .map_err(|error| DiffError::UnknownRevision {
                    rev: rev.to_owned(),
                    repo: self.root.clone(),
                    reason: error.message().to_owned(),
                })
        };
        let (a_id, b_id) = (commit(a)?, commit(b)?);
        let base = self
            .repo
            .merge_base(a_id, b_id)
            .map_err(|_| DiffError::NoMergeBase {
                a: a.to_owned(),
                b: b.to_owned(),
                repo: self.root.clone(),
            })?;
        Ok(base.to_string())
    }
}

impl Repo {
    /// Paths below out/, relative to it, that differ between `old` and `new`
    /// inside bundles both sides' INDEX name, whether their ids differ or
    /// not: what git sees changed, for [`crate::diff::compare::unexplained`]
    /// to tell builds from hand edits. A bundle's directories are compared by
    /// tree id first, so this reads nothing unless one differs.
    pub fn changed_in_kept_bundles(
        &self,
        old: &GitTree<'_>,
        new: &GitTree<'_>,
        indexes: [&Index; 2],
    ) -> Result<Vec<String>, DiffError> {
        let mut paths = Vec::new();
        for name in indexes[0].keys() {
            if !indexes[1].contains_key(name) {
                continue;
            }
            let tree = |side: &GitTree<'_>| side.out.get_name(name).map(|entry| entry.id());
            let (old_id, new_id) = (tree(old), tree(new));
            if old_id == new_id {
                continue;
            }
            let read = |error: git2::Error| DiffError::Read {
                location: format!(
                    "{}/{name} at {} and {}",
                    self.out.display(),
                    old.rev,
                    new.rev
                ),
                message: error.message().to_owned(),
            };
            let subtree = |id: Option<git2::Oid>| {
                id.map(|id| self.repo.find_tree(id))
                    .transpose()
                    .map_err(read)
            };
            let (old_tree, new_tree) = (subtree(old_id)?, subtree(new_id)?);
            let diff = self
                .repo
                .diff_tree_to_tree(old_tree.as_ref(), new_tree.as_ref(), None)
                .map_err(read)?;
            paths.extend(
                diff.deltas()
                    .filter_map(|delta| delta.new_file().path().or(delta.old_file().path()))
                    .map(|path| format!("{name}/{}", path.to_string_lossy())),
            );
        }
        Ok(paths)
    }
}

impl Repo {
    /// Whether the working tree holds out/ and each of `inputs` (absolute
    /// paths below `dir`) exactly as HEAD commits them: each input a regular
    /// file in git's index, and git sees nothing there changed, staged,
    /// untracked or ignored. Any doubt (no HEAD, a path outside the
    /// repository or reached through a link) is a no.
    pub fn holds_as_head(&self, dir: &Path, inputs: &[PathBuf]) -> bool {
        let Ok(dir_in_repo) = canonical(dir)
            .strip_prefix(&self.root)
            .map(Path::to_path_buf)
        else {
            return false;
        };
        let inputs: Option<HashSet<PathBuf>> = inputs
            .iter()
            .map(|input| Some(dir_in_repo.join(input.strip_prefix(dir).ok()?)))
            .collect();
        inputs.is_some_and(|inputs| self.unchanged_since_head(&inputs).unwrap_or(false))
    }

    fn unchanged_since_head(&self, inputs: &HashSet<PathBuf>) -> Result<bool, git2::Error> {
        let head = self.repo.head()?.peel_to_tree()?;
        if self.out.as_os_str().is_empty() || head.get_path(&self.out.join("INDEX")).is_err() {
            return Ok(false);
        }
        let index = self.repo.index()?;
        let regular_file = |path: &PathBuf| {
            index
                .get_path(path, 0)
                .is_some_and(|entry| entry.mode & 0o170_000 == 0o100_000)
        };
        if !inputs.iter().all(regular_file) {
            return Ok(false);
        }
        let mut options = git2::StatusOptions::new();
        options
            .include_untracked(true)
            .include_ignored(true)
            .exclude_submodules(true);
        let statuses = self.repo.statuses(Some(&mut options))?;
        let touched = statuses.iter().any(|entry| {
            let path = Path::new(std::ffi::OsStr::from_bytes(entry.path_bytes()));
            path.starts_with(&self.out) || inputs.contains(path)
        });
        Ok(!touched)
    }
}

/// A revision's out/ as another thread can open it again: git2 handles stay
/// on the thread that made them.
#[derive(Debug, Clone)]
pub struct TreeHandle {
    git_dir: PathBuf,
    /// out/ relative to the working tree's root, for messages.
    out_path: PathBuf,
    rev: String,
    out: git2::Oid,
}

impl TreeHandle {
    fn open(&self) -> Result<git2::Repository, DiffError> {
        git2::Repository::open(&self.git_dir).map_err(|error| self.error(&error))
    }

    fn error(&self, error: &git2::Error) -> DiffError {
        DiffError::Read {
            location: format!("{} at {}", self.out_path.display(), self.rev),
            message: error.message().to_owned(),
        }
    }

    /// The MANIFEST bytes of `bundles`, read with a handle of its own.
    pub fn manifests(&self, bundles: &[String]) -> Result<HashMap<String, Vec<u8>>, DiffError> {
        let repo = self.open()?;
        let out = repo
            .find_tree(self.out)
            .map_err(|error| self.error(&error))?;
        let read = |bundle: &String| -> Result<(String, Vec<u8>), DiffError> {
            let missing = || DiffError::Read {
                location: format!(
                    "{}/{bundle}/MANIFEST at {}",
                    self.out_path.display(),
                    self.rev
                ),
                message: "no such file".to_owned(),
            };
            let entry = out
                .get_path(&Path::new(bundle).join("MANIFEST"))
                .map_err(|_| missing())?;
            if entry.filemode() == 0o120_000 {
                return Err(missing());
            }
            let blob = repo
                .find_blob(entry.id())
                .map_err(|error| self.error(&error))?;
            Ok((bundle.clone(), blob.content().to_vec()))
        };
        bundles.iter().map(read).collect()
    }
}

/// A tree whose MANIFESTs were read ahead, elsewhere; everything else is
/// asked of the tree itself.
pub struct Prefetched<'a> {
    tree: &'a dyn OutTree,
    manifests: HashMap<String, Vec<u8>>,
}

impl<'a> Prefetched<'a> {
    pub fn new(tree: &'a dyn OutTree, manifests: HashMap<String, Vec<u8>>) -> Self {
        Prefetched { tree, manifests }
    }
}

impl OutTree for Prefetched<'_> {
    fn label(&self) -> &str {
        self.tree.label()
    }

    fn index(&self) -> Result<Index, DiffError> {
        self.tree.index()
    }

    fn manifest(&self, bundle: &str) -> Result<Vec<u8>, DiffError> {
        match self.manifests.get(bundle) {
            Some(bytes) => Ok(bytes.clone()),
            None => self.tree.manifest(bundle),
        }
    }

    fn file(&self, bundle: &str, path: &str) -> Result<Vec<u8>, DiffError> {
        self.tree.file(bundle, path)
    }

    fn shares_claims(&self) -> bool {
        self.tree.shares_claims()
    }
}

/// The bundles whose INDEX ids differ between the two sides, as each side
/// has them: the MANIFESTs a comparison reads.
pub fn changed_bundles(indexes: [&Index; 2]) -> [Vec<String>; 2] {
    let differs = |name: &String| indexes[0].get(name) != indexes[1].get(name);
    [0, 1].map(|side| {
        indexes[side]
            .keys()
            .filter(|name| differs(name))
            .cloned()
            .collect()
    })
}

/// out/ at one revision of a repository.
pub struct GitTree<'repo> {
    repo: &'repo Repo,
    rev: String,
    /// How the tree is named in output: the revision as typed, unless relabelled.
    label: String,
    /// out/ at `rev`, read once.
    out: git2::Tree<'repo>,
    /// Each bundle's directory in it, read once when first needed.
    bundles: RefCell<HashMap<String, git2::Tree<'repo>>>,
}

impl GitTree<'_> {
    /// How another thread opens this tree again.
    pub fn handle(&self) -> TreeHandle {
        TreeHandle {
            git_dir: self.repo.repo.path().to_path_buf(),
            out_path: self.repo.out.clone(),
            rev: self.rev.clone(),
            out: self.out.id(),
        }
    }

    /// The same tree, named `label` in output.
    pub fn labelled(mut self, label: String) -> Self {
        self.label = label;
        self
    }

    fn location(&self, relative: &Path) -> String {
        format!("{} at {}", self.repo.out.join(relative).display(), self.rev)
    }

    /// The entry at `relative`, found from its bundle's directory (kept).
    fn entry(&self, relative: &Path) -> Option<git2::TreeEntry<'static>> {
        let mut components = relative.components();
        let bundle = components.next()?.as_os_str().to_str()?;
        let rest = components.as_path();
        if rest.as_os_str().is_empty() {
            return self.out.get_path(relative).ok();
        }
        let mut bundles = self.bundles.borrow_mut();
        if !bundles.contains_key(bundle) {
            let id = self.out.get_name(bundle)?.id();
            bundles.insert(bundle.to_owned(), self.repo.repo.find_tree(id).ok()?);
        }
        bundles.get(bundle)?.get_path(rest).ok()
    }

    fn blob(&self, relative: &Path) -> Result<Vec<u8>, DiffError> {
        let read = |message: &str| DiffError::Read {
            location: self.location(relative),
            message: message.to_owned(),
        };
        let entry = self.entry(relative).ok_or_else(|| read("no such file"))?;
        // lugc never writes a link into out/; its blob would be the link's target path.
        if entry.filemode() == 0o120_000 {
            return Err(read("a symbolic link, which lugc never writes into out/"));
        }
        let blob = self
            .repo
            .repo
            .find_blob(entry.id())
            .map_err(|_| read("not a file"))?;
        Ok(blob.content().to_vec())
    }
}

impl OutTree for GitTree<'_> {
    fn label(&self) -> &str {
        &self.label
    }

    fn index(&self) -> Result<Index, DiffError> {
        let path = Path::new("INDEX");
        let bytes = self.blob(path)?;
        parse_index(&String::from_utf8_lossy(&bytes), &self.location(path))
    }

    fn manifest(&self, bundle: &str) -> Result<Vec<u8>, DiffError> {
        self.blob(&Path::new(bundle).join("MANIFEST"))
    }

    fn file(&self, bundle: &str, path: &str) -> Result<Vec<u8>, DiffError> {
        self.blob(&relative(bundle, path))
    }

    fn shares_claims(&self) -> bool {
        true
    }
}

/// out/ as a directory on disk: the working tree's. A symbolic link in it
/// (which lugc never writes) is an error, never read through.
pub struct DirTree {
    out: PathBuf,
}

impl DirTree {
    /// `out` must exist: a missing out/ is an error, not an empty tree.
    pub fn open(out: &Path) -> Result<DirTree, DiffError> {
        if !out.is_dir() {
            return Err(DiffError::NoWorkingOut {
                out: out.to_path_buf(),
            });
        }
        Ok(DirTree {
            out: out.to_path_buf(),
        })
    }

    /// Read without following a symbolic link inside out/.
    fn read(&self, relative: &Path) -> Result<Vec<u8>, DiffError> {
        crate::write::read_below(&self.out, relative)
            .map(|(bytes, _)| bytes)
            .map_err(|error| DiffError::Read {
                location: self.out.join(relative).display().to_string(),
                message: error.to_string(),
            })
    }
}

impl OutTree for DirTree {
    fn label(&self) -> &str {
        "working tree"
    }

    fn index(&self) -> Result<Index, DiffError> {
        let bytes = self.read(Path::new("INDEX"))?;
        let location = self.out.join("INDEX").display().to_string();
        parse_index(&String::from_utf8_lossy(&bytes), &location)
    }

    fn manifest(&self, bundle: &str) -> Result<Vec<u8>, DiffError> {
        self.read(&Path::new(bundle).join("MANIFEST"))
    }

    fn file(&self, bundle: &str, path: &str) -> Result<Vec<u8>, DiffError> {
        self.read(&relative(bundle, path))
    }
}

/// Bundles built in memory from the working tree's cluster.ncl (`--rebuild`).
pub struct MemTree {
    label: String,
    bundles: BTreeMap<String, Bundle>,
}

impl MemTree {
    pub fn new(label: impl Into<String>, bundles: Vec<Bundle>) -> MemTree {
        MemTree {
            label: label.into(),
            bundles: bundles
                .into_iter()
                .map(|bundle| (bundle.name.clone(), bundle))
                .collect(),
        }
    }

    fn bundle(&self, name: &str) -> Result<&Bundle, DiffError> {
        self.bundles.get(name).ok_or_else(|| DiffError::Read {
            location: format!("bundle {name} of {}", self.label),
            message: "no such bundle".to_owned(),
        })
    }
}

impl OutTree for MemTree {
    fn label(&self) -> &str {
        &self.label
    }

    fn index(&self) -> Result<Index, DiffError> {
        Ok(self
            .bundles
            .values()
            .map(|bundle| (bundle.name.clone(), bundle.id.clone()))
            .collect())
    }

    fn manifest(&self, bundle: &str) -> Result<Vec<u8>, DiffError> {
        Ok(self.bundle(bundle)?.manifest_text.clone().into_bytes())
    }

    fn shares_claims(&self) -> bool {
        true
    }

    fn file(&self, bundle: &str, path: &str) -> Result<Vec<u8>, DiffError> {
        let file = self
            .bundle(bundle)?
            .files
            .get(path)
            .ok_or_else(|| DiffError::Read {
                location: format!("{bundle}:{path} of {}", self.label),
                message: "no such file".to_owned(),
            })?;
        Ok(file.bytes.clone())
    }
}

/// `path` made absolute with symlinks resolved, as far as it exists.
fn canonical(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    if let Ok(resolved) = fs::canonicalize(&absolute) {
        return resolved;
    }
    match (absolute.parent(), absolute.file_name()) {
        (Some(parent), Some(name)) => canonical(parent).join(name),
        _ => absolute,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::INDEX_HEADER;

    #[test]
    fn index_round_trips_through_bundle_index() {
        let bundles: Vec<Bundle> = ["pve-5", "cluster"]
            .into_iter()
            .map(|name| {
                crate::bundle::bundle(crate::render::BundleTree {
                    name: name.to_owned(),
                    reaches: vec!["pve-5".to_owned()],
                    files: BTreeMap::new(),
                    absent: Vec::new(),
                })
            })
            .collect();
        let index = parse_index(&crate::bundle::index(&bundles), "INDEX").unwrap();
        let expected: Index = bundles
            .iter()
            .map(|bundle| (bundle.name.clone(), bundle.id.clone()))
            .collect();
        assert_eq!(index, expected);
    }

    #[test]
    fn index_rejects_a_foreign_header_and_bad_lines() {
        assert!(parse_index("something\n", "INDEX").is_err());
        let error = parse_index(&format!("{INDEX_HEADER}\nxyz pve-5\n"), "INDEX").unwrap_err();
        assert!(error.to_string().contains("line 2"), "{error}");
    }
}
