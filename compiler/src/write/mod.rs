//! write: `[Bundle]` → out/, the only module that creates files there.
//!
//! A build over an earlier out/ writes only the bundles that changed and
//! swaps them in one by one under a journal ([`swap`]): a killed build
//! leaves out/ the old build, or a journal that the next command finishes
//! ([`settle`]) before it reads out/. Unchanged bundles are not touched; an
//! unchanged file of a changed bundle is hard-linked, not written again. A
//! build from nothing (or over an out/ that is not a directory of plain
//! names) is written whole into a temporary directory beside out/ and
//! swapped in with one `renameat2(RENAME_EXCHANGE)`. Concurrent builds
//! serialise on a lock of out/'s parent directory; a build out/ already
//! holds, byte for byte, is not written again. `check` compares instead of
//! writing. Files in out/ are read with [`read_below`], or [`read_walked`]
//! after a walk that follows no link: out/ holds only directories and
//! regular files, so no reader follows a symbolic link found there or opens
//! anything else.

mod swap;

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read as _};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{openat, openat2, Mode, OFlags, ResolveFlags, CWD};

use crate::bundle::{index, Bundle};

pub use swap::settle;

/// Prefix of lugc's temporary directories beside out/; leftovers of a
/// killed build are finished (a committed journal) or removed.
const TEMP_PREFIX: &str = ".lugc-tmp-";

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("cannot write {}: {source}", path.display())]
#[diagnostic(help("out/ was left as it was"))]
pub struct WriteError {
    pub path: PathBuf,
    pub source: io::Error,
}

fn at(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError {
        path: path.to_path_buf(),
        source,
    }
}

/// One file of out/ as a build produces it.
#[derive(Debug, PartialEq, Eq)]
pub struct OutFile<'a> {
    pub bytes: &'a [u8],
    pub executable: bool,
}

impl OutFile<'_> {
    /// The mode a build gives the file in out/.
    pub fn mode(&self) -> u32 {
        if self.executable {
            0o755
        } else {
            0o644
        }
    }
}

/// Every file of out/, INDEX included, keyed by its path relative to out/,
/// but those of the bundles taken from out/ (`Bundle::taken`).
pub fn out_files<'a>(bundles: &'a [Bundle], index_text: &'a str) -> BTreeMap<PathBuf, OutFile<'a>> {
    let index = OutFile {
        bytes: index_text.as_bytes(),
        executable: false,
    };
    let files = bundles.iter().filter(|bundle| !bundle.taken);
    std::iter::once((PathBuf::from("INDEX"), index))
        .chain(files.flat_map(bundle_files))
        .collect()
}

/// A bundle's files and its MANIFEST, by their paths relative to out/.
fn bundle_files(bundle: &Bundle) -> impl Iterator<Item = (PathBuf, OutFile<'_>)> {
    let root = Path::new(&bundle.name);
    let manifest = OutFile {
        bytes: bundle.manifest_text.as_bytes(),
        executable: false,
    };
    let files = bundle.files.iter().map(move |(path, file)| {
        let file = OutFile {
            bytes: &file.bytes,
            executable: file.mode & 0o111 != 0,
        };
        (root.join(path.trim_start_matches('/')), file)
    });
    std::iter::once((root.join("MANIFEST"), manifest)).chain(files)
}

/// Write the bundles as the new out/: only the bundles that changed when
/// out/ can be changed in place, else a whole new tree swapped in at once.
pub fn write(out: &Path, bundles: &[Bundle]) -> Result<(), WriteError> {
    let parent = parent_dir(out);
    fs::create_dir_all(&parent).map_err(at(&parent))?;
    let _lock = lock(&parent)?;
    remove_leftovers(&parent)?;
    let index_text = index(bundles);
    if holds(out, &index_text) || swap::write_changed(out, &parent, bundles, &index_text)? {
        return Ok(());
    }
    let temp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempdir_in(&parent)
        .map_err(at(&parent))?;
    put_all(out, out_files(bundles, &index_text), temp.path())?;
    link_taken(out, temp.path(), bundles)?;
    fs::set_permissions(temp.path(), fs::Permissions::from_mode(0o755)).map_err(at(temp.path()))?;
    swap_into_place(temp.path(), out)?;
    // `temp` now holds the previous out/ (or nothing) and is removed on drop.
    Ok(())
}

/// [`put`] each of `files` into `tree`, on every core: files are created
/// one system call at a time, and a build from nothing creates 14 747 of
/// them at 1000 hosts.
fn put_all<'a>(
    out: &Path,
    files: impl IntoIterator<Item = (PathBuf, OutFile<'a>)>,
    tree: &Path,
) -> Result<(), WriteError> {
    let files: Vec<_> = files.into_iter().collect();
    crate::parallel::map_on_every_core(files, |(relative, file)| put(out, &relative, &file, tree))
        .into_iter()
        .collect()
}

/// Put `file` at `relative` below `tree`: linked from out/ when out/ holds
/// it already, else written.
fn put(out: &Path, relative: &Path, file: &OutFile, tree: &Path) -> Result<(), WriteError> {
    let path = tree.join(relative);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(at(dir))?;
    }
    if !link_unchanged(out, relative, file, &path) {
        fs::write(&path, file.bytes).map_err(at(&path))?;
        let mode = fs::Permissions::from_mode(file.mode());
        fs::set_permissions(&path, mode).map_err(at(&path))?;
    }
    Ok(())
}

/// Link the file at `relative` in out/ to `path` in the new tree when it
/// holds `file` already (bytes and mode), so that an unchanged
/// file keeps its inode and is not written again; the old tree is never
/// written to. `false` when it differs, is missing or cannot be linked.
fn link_unchanged(out: &Path, relative: &Path, file: &OutFile, path: &Path) -> bool {
    let Ok((bytes, metadata)) = read_below(out, relative) else {
        return false;
    };
    bytes == file.bytes
        && metadata.permissions().mode() & 0o7777 == file.mode()
        && fs::hard_link(out.join(relative), path).is_ok()
}

/// Link each file of the bundles taken from out/, and its MANIFEST, into
/// the new tree `temp` by the paths the MANIFEST lists, reading none:
/// `derive` found them there as listed. Where out/ cannot be linked from,
/// a file is copied.
fn link_taken(out: &Path, temp: &Path, bundles: &[Bundle]) -> Result<(), WriteError> {
    let mut made = std::collections::HashSet::new();
    for bundle in bundles.iter().filter(|bundle| bundle.taken) {
        let root = Path::new(&bundle.name);
        let listed = bundle
            .manifest
            .entries
            .iter()
            .map(|entry| entry.path.as_str());
        for listed in listed.chain(["MANIFEST"]) {
            let relative = root.join(listed.trim_start_matches('/'));
            let path = temp.join(&relative);
            if let Some(dir) = path.parent().filter(|dir| !made.contains(*dir)) {
                fs::create_dir_all(dir).map_err(at(dir))?;
                made.insert(dir.to_path_buf());
            }
            if fs::hard_link(out.join(&relative), &path).is_err() {
                let from = out.join(&relative);
                let (bytes, metadata) = read_below(out, &relative).map_err(at(&from))?;
                fs::write(&path, bytes).map_err(at(&path))?;
                fs::set_permissions(&path, metadata.permissions()).map_err(at(&path))?;
            }
        }
    }
    Ok(())
}

/// Whether out/ holds this build already, so that writing it would change
/// nothing: the same INDEX, each MANIFEST and listed file intact, nothing
/// else (what the no-op cache trusts). A build whose inputs changed but
/// whose output did not (a comment in lib/, another branch with the same
/// out/) then leaves out/ alone.
fn holds(out: &Path, index_text: &str) -> bool {
    read_below(out, Path::new("INDEX")).is_ok_and(|(bytes, _)| bytes == index_text.as_bytes())
        && crate::cache::out_is_intact(out, index_text)
}

/// Take out/'s lock and remove what killed builds left beside it, as
/// [`write`] does first; for a build that the cache answers without writing.
/// The lock is held until the returned guard is dropped.
pub fn lock_and_clean(out: &Path) -> Result<fs::File, WriteError> {
    let parent = parent_dir(out);
    let guard = lock(&parent)?;
    remove_leftovers(&parent)?;
    Ok(guard)
}

/// Exchange `new` with `out` in one step; a plain rename when out/ does not exist yet.
fn swap_into_place(new: &Path, out: &Path) -> Result<(), WriteError> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    match fs::symlink_metadata(out) {
        Ok(_) => renameat_with(CWD, new, CWD, out, RenameFlags::EXCHANGE)
            .map_err(|errno| at(out)(errno.into())),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            fs::rename(new, out).map_err(at(out))
        }
        Err(error) => Err(at(out)(error)),
    }
}

/// Hold an exclusive lock on out/'s parent directory until dropped.
fn lock(parent: &Path) -> Result<fs::File, WriteError> {
    let dir = fs::File::open(parent).map_err(at(parent))?;
    dir.lock().map_err(at(parent))?;
    Ok(dir)
}

/// Finish the journal of a killed build and remove what other killed
/// builds left beside out/ (called under the lock).
fn remove_leftovers(parent: &Path) -> Result<(), WriteError> {
    for entry in fs::read_dir(parent).map_err(at(parent))? {
        let entry = entry.map_err(at(parent))?;
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            let path = entry.path();
            if swap::committed(&path) {
                swap::finish(parent, &path)?;
            } else {
                fs::remove_dir_all(&path).map_err(at(&path))?;
            }
        }
    }
    Ok(())
}

fn parent_dir(out: &Path) -> PathBuf {
    let absolute = std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf());
    absolute
        .parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf)
}

/// The bytes and metadata of the regular file at `relative` below `out`.
///
/// No symbolic link below `out` is followed (`out` itself may be reached
/// through one): a link, a FIFO, a device or a directory at `relative`, or a
/// link in place of one of its directories, is an error, so that out/ never
/// leads a reader outside itself and never blocks it.
pub fn read_below(out: &Path, relative: &Path) -> io::Result<(Vec<u8>, fs::Metadata)> {
    let names: Vec<&std::ffi::OsStr> = relative
        .components()
        .map(|component| match component {
            Component::Normal(name) => Ok(name),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a plain relative path", relative.display()),
            )),
        })
        .collect::<Result<_, _>>()?;
    let Some((last, dirs)) = names.split_last() else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "an empty path"));
    };
    let below = |depth: usize| out.join(names[..=depth].iter().collect::<PathBuf>());
    let mut dir = openat(
        CWD,
        out,
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::DIRECTORY,
        Mode::empty(),
    )?;
    // One step where the kernel refuses every link on the way (openat2);
    // whatever it refuses is walked again below to say why.
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    if let Ok(file) = openat2(
        &dir,
        relative,
        NO_LINK | OFlags::NONBLOCK,
        Mode::empty(),
        resolve,
    ) {
        return read_regular(file.into());
    }
    for (depth, name) in dirs.iter().enumerate() {
        dir = openat(&dir, *name, NO_LINK | OFlags::DIRECTORY, Mode::empty())
            .map_err(|error| open_error(&below(depth), error))?;
    }
    let file = openat(&dir, *last, NO_LINK | OFlags::NONBLOCK, Mode::empty())
        .map_err(|error| open_error(&below(dirs.len()), error))?;
    read_regular(file.into())
}

/// [`read_below`] for a file found by walking out/ without following links,
/// so that only `path`'s last component is left to check.
pub fn read_walked(path: &Path) -> io::Result<(Vec<u8>, fs::Metadata)> {
    let file = openat(CWD, path, NO_LINK | OFlags::NONBLOCK, Mode::empty())
        .map_err(|error| open_error(path, error))?;
    read_regular(file.into())
}

/// Flags of every open below out/. O_NONBLOCK is added for the file itself,
/// so that opening a FIFO does not wait for a writer.
const NO_LINK: OFlags = OFlags::RDONLY
    .union(OFlags::CLOEXEC)
    .union(OFlags::NOFOLLOW);

fn refused(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{what}, which lugc never writes into out/"),
    )
}

/// With O_NOFOLLOW a link fails as ELOOP (ENOTDIR with O_DIRECTORY): say so.
fn open_error(path: &Path, error: rustix::io::Errno) -> io::Error {
    if fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_symlink()) {
        refused("a symbolic link")
    } else {
        error.into()
    }
}

fn read_regular(mut file: fs::File) -> io::Result<(Vec<u8>, fs::Metadata)> {
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(refused("not a regular file"));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.read_to_end(&mut bytes)?;
    Ok((bytes, metadata))
}

/// How a file of out/ differs from what the build produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Staleness {
    Missing,
    Modified,
    Extra,
}

impl Staleness {
    /// `missing`, `modified`, `not generated`.
    pub fn as_str(self) -> &'static str {
        match self {
            Staleness::Missing => "missing",
            Staleness::Modified => "modified",
            Staleness::Extra => "not generated",
        }
    }
}

/// Compare out/ with the bundles without writing; returns the differing files, sorted.
/// The bundles are a build's in memory, none taken from out/.
pub fn check(out: &Path, bundles: &[Bundle]) -> Result<Vec<(PathBuf, Staleness)>, WriteError> {
    debug_assert!(bundles.iter().all(|bundle| !bundle.taken));
    let index_text = index(bundles);
    let expected = out_files(bundles, &index_text);
    let mut stale = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    if out.exists() {
        // Links are not followed: each is an entry of its own, never a file of the build.
        for entry in walkdir::WalkDir::new(out).sort_by_file_name() {
            let entry = entry.map_err(|error| at(out)(error.into()))?;
            if entry.file_type().is_dir() {
                continue;
            }
            let relative = entry
                .path()
                .strip_prefix(out)
                .unwrap_or(entry.path())
                .to_path_buf();
            match expected.get(&relative) {
                Some(file) if entry.file_type().is_file() => {
                    let (bytes, _) = read_walked(entry.path()).map_err(at(entry.path()))?;
                    if bytes != file.bytes {
                        stale.push((relative.clone(), Staleness::Modified));
                    }
                }
                Some(_) => stale.push((relative.clone(), Staleness::Modified)),
                None => stale.push((relative.clone(), Staleness::Extra)),
            }
            seen.insert(relative);
        }
    }
    stale.extend(
        expected
            .keys()
            .filter(|path| !seen.contains(*path))
            .map(|path| (path.clone(), Staleness::Missing)),
    );
    stale.sort();
    Ok(stale)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;
    use crate::bundle::bundle;
    use crate::diff::fixture::tree;

    fn bundles(motd: &str) -> Vec<Bundle> {
        let files = [
            ("/etc/motd", motd, 0o644, None),
            ("/usr/local/bin/x", "#!/bin/sh\n", 0o755, None),
        ];
        vec![bundle(tree("pve-5", &["pve-5"], &files))]
    }

    #[test]
    fn a_build_is_written_whole_and_then_checked_current() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let built = bundles("hello\n");
        assert_eq!(
            check(&out, &built).unwrap().len(),
            4,
            "nothing is there yet"
        );
        write(&out, &built).unwrap();
        assert!(check(&out, &built).unwrap().is_empty());
        let (bytes, metadata) = read_below(&out, Path::new("pve-5/etc/motd")).unwrap();
        assert_eq!(bytes, b"hello\n");
        assert_eq!(metadata.permissions().mode() & 0o777, 0o644);
        let script = fs::metadata(out.join("pve-5/usr/local/bin/x")).unwrap();
        assert_eq!(script.permissions().mode() & 0o777, 0o755);
        // Nothing of the build is left beside out/.
        let beside: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(beside.len(), 1);
    }

    #[test]
    fn check_names_what_differs_and_write_puts_it_right() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        write(&out, &bundles("hello\n")).unwrap();
        fs::write(out.join("pve-5/etc/extra"), "by hand\n").unwrap();
        let newer = bundles("hello again\n");
        let stale: Vec<(String, Staleness)> = check(&out, &newer)
            .unwrap()
            .into_iter()
            .map(|(path, staleness)| (path.display().to_string(), staleness))
            .collect();
        assert!(stale.contains(&("pve-5/etc/motd".to_owned(), Staleness::Modified)));
        assert!(stale.contains(&("pve-5/etc/extra".to_owned(), Staleness::Extra)));
        write(&out, &newer).unwrap();
        assert!(check(&out, &newer).unwrap().is_empty());
        assert!(!out.join("pve-5/etc/extra").exists());
    }

    #[test]
    fn no_reader_follows_a_link_in_out() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        write(&out, &bundles("hello\n")).unwrap();
        fs::write(dir.path().join("secret"), "outside\n").unwrap();
        fs::remove_file(out.join("pve-5/etc/motd")).unwrap();
        symlink(dir.path().join("secret"), out.join("pve-5/etc/motd")).unwrap();
        assert!(read_below(&out, Path::new("pve-5/etc/motd")).is_err());
        assert!(read_walked(&out.join("pve-5/etc/motd")).is_err());
        assert!(read_below(&out, Path::new("pve-5/../../secret")).is_err());
        let stale = check(&out, &bundles("hello\n")).unwrap();
        assert_eq!(
            stale,
            [(PathBuf::from("pve-5/etc/motd"), Staleness::Modified)]
        );
    }
}
