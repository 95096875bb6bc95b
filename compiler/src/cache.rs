//! cache: lets `lugc build` skip evaluation when nothing it reads has changed.
//!
//! The key is the blake3 of: the lugc version and the running binary's size
//! and modification time, the names of the main file and of out/, and the
//! relative path and bytes of every input file under the main file's
//! directory (`.ncl`, and the data formats Nickel imports by extension),
//! leaving out out/, `target/` and hidden directories such as `.git`.
//! Symbolic links there are followed, as Nickel's imports follow them: a file
//! reached through a link (`lib -> ../shared/lib`) counts under the link's
//! path with its target's bytes, so changing the target or the link changes
//! the key. Nickel resolves `..` in an import against the importing file's
//! path as written, so `lib/a.ncl` importing `../b.ncl` reads `b.ncl` beside
//! the link, which is hashed. A link that leads nowhere or back to a
//! directory being walked adds nothing; an input that is not a regular file
//! (a FIFO) is a miss. Imports from outside that directory are not seen:
//! keep the fleet inside it.
//!
//! `.lugc-cache` beside out/ records the key of the last build that wrote
//! out/, the blake3 of the INDEX it wrote, and each bundle's input key and
//! bundle id (`derive` takes a bundle whose input key is the same from out/). A build trusts it only when the
//! key matches and out/ is intact: INDEX has that hash, every MANIFEST hashes
//! to its bundle id, every file a MANIFEST lists has its blake3 and its
//! executable bit, and out/ holds nothing else: no symbolic link either, and
//! nothing in out/ is read through one. A hand edit in out/ is therefore
//! rebuilt, as without the cache.
//!
//! Never an error: an unreadable input, cache or out/ is a miss, and a cache
//! that cannot be written is left out. Writes only the cache file, never out/.

use std::collections::HashMap;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::manifest::Manifest;

/// Name of the cache file, beside out/.
pub const CACHE_FILE: &str = ".lugc-cache";

/// First line of the cache file; bump it on any change to the key or format.
const HEADER: &str = "lugc-cache 2";

/// Extensions of the files that can change a build: Nickel sources and the
/// data formats an `import` reads by extension.
const INPUT_EXTENSIONS: [&str; 5] = ["ncl", "json", "yaml", "yml", "toml"];

/// The blake3 of everything a build of `config` reads, as hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key(String);

/// The key of a build of `config` as the inputs are now; `None` if any
/// input cannot be read.
pub fn key(config: &Config) -> Option<Key> {
    let (root, out) = root_and_out(config)?;
    let mut hasher = lugc_hasher()?;
    for name in [config.file.file_name()?, out.file_name()?] {
        hasher.update(name.as_encoded_bytes());
        hasher.update(&[0]);
    }
    hash_files(&mut hasher, &root, &input_files(&root, &out)?)?;
    Some(Key(hasher.finalize().to_hex().to_string()))
}

/// The blake3 of what turns a bundle's sources into its files: lugc
/// (version and binary, as in [`key`]) and every input file of `dirs`
/// (lib/ and facts/ beside the main file; one that does not exist adds its
/// name only); `None` if one cannot be read.
pub fn renderer_key(root: &Path, dirs: &[&str]) -> Option<blake3::Hash> {
    let mut hasher = lugc_hasher()?;
    for dir in dirs {
        hasher.update(dir.as_bytes());
        hasher.update(&[0]);
        let dir = root.join(dir);
        if dir.exists() {
            hash_files(&mut hasher, &dir, &input_files(&dir, Path::new(""))?)?;
        }
    }
    Some(hasher.finalize())
}

/// A hasher fed the cache format, lugc's version and the running binary's
/// size and modification time.
fn lugc_hasher() -> Option<blake3::Hasher> {
    let mut hasher = blake3::Hasher::new();
    hasher.update(HEADER.as_bytes());
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    let exe = fs::metadata(std::env::current_exe().ok()?).ok()?;
    hasher.update(&exe.len().to_le_bytes());
    let modified = exe.modified().ok()?;
    let since_epoch = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    hasher.update(&since_epoch.as_nanos().to_le_bytes());
    Some(hasher)
}

/// Feed each file's path relative to `root` and the blake3 of its bytes.
fn hash_files(hasher: &mut blake3::Hasher, root: &Path, files: &[PathBuf]) -> Option<()> {
    for path in files {
        let relative = path.strip_prefix(root).unwrap_or(path);
        hasher.update(relative.as_os_str().as_encoded_bytes());
        hasher.update(&[0]);
        hasher.update(blake3::hash(&fs::read(path).ok()?).as_bytes());
    }
    Some(())
}

/// The main file's directory, absolute, and every file below it that a
/// build of `config` reads, as [`key`] hashes them: absolute paths, sorted;
/// `None` if any cannot be read.
pub fn inputs(config: &Config) -> Option<(PathBuf, Vec<PathBuf>)> {
    let (root, out) = root_and_out(config)?;
    let files = input_files(&root, &out)?;
    Some((root, files))
}

/// The main file's directory and out/, as absolute paths.
fn root_and_out(config: &Config) -> Option<(PathBuf, PathBuf)> {
    // `cluster.ncl` found in the working directory has an empty parent.
    let root = match config.root() {
        root if root.as_os_str().is_empty() => std::env::current_dir().ok()?,
        root => std::path::absolute(root).ok()?,
    };
    Some((root, std::path::absolute(&config.out).ok()?))
}

/// The INDEX text of out/ when the last build that wrote it had `key` and
/// out/ is intact; `None` otherwise.
pub fn lookup(config: &Config, key: &Key) -> Option<String> {
    let index = read_text(&config.out, Path::new("INDEX"))?;
    (built_with(config, key, &index) && out_is_intact(&config.out, &index)).then_some(index)
}

/// Whether the last build that wrote out/ had `key` and wrote this INDEX
/// text: nothing it read has changed since. Says nothing of the other files
/// in out/ (`lookup` checks them too).
pub fn built_with(config: &Config, key: &Key, index: &str) -> bool {
    recorded(config).is_some_and(|(recorded_key, index_hash)| {
        recorded_key == *key && index_hash == blake3::hash(index.as_bytes()).to_hex().as_str()
    })
}

/// The key and the blake3 (hex) of the INDEX that the last build that
/// wrote out/ recorded.
pub fn recorded(config: &Config) -> Option<(Key, String)> {
    let text = current_text(config)?;
    let mut lines = text.lines().skip(1);
    let key = Key(lines.next()?.strip_prefix("key ")?.to_owned());
    let index_hash = lines.next()?.strip_prefix("index ")?.to_owned();
    Some((key, index_hash))
}

/// One bundle of the last build: the key of its input and its bundle id,
/// and for a host's bundle the host as that build checked it
/// ([`checked_entry`], `derive`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derivation {
    pub input: String,
    pub id: String,
    pub checked: Option<String>,
}

/// A checked host as the cache records it: the key of what it was checked
/// from, then its text (`eval::checked`: JSON or Nickel).
pub fn checked_entry(key: &str, text: &str) -> String {
    format!("{key} {text}")
}

/// The text of a recorded checked host, if it was checked from `key`.
pub fn checked_text<'a>(entry: &'a str, key: &str) -> Option<&'a str> {
    entry.strip_prefix(key)?.strip_prefix(' ')
}

/// The key and checked Nickel text of the description without its hosts
/// that the last build that wrote out/ recorded (`derive`).
pub fn checked_rest(config: &Config) -> Option<(String, String)> {
    let text = current_text(config)?;
    let (key, rest) = text
        .lines()
        .find_map(|line| line.strip_prefix("rest "))?
        .split_once(' ')?;
    Some((key.to_owned(), rest.to_owned()))
}

/// The bundles the last build that wrote out/ recorded, by name.
pub fn derivations(config: &Config) -> HashMap<String, Derivation> {
    let Some(text) = current_text(config) else {
        return HashMap::new();
    };
    let mut derivations: HashMap<String, Derivation> = text
        .lines()
        .filter_map(|line| {
            let mut words = line.strip_prefix("bundle ")?.splitn(3, ' ');
            let (input, id, name) = (words.next()?, words.next()?, words.next()?);
            let derivation = Derivation {
                input: input.to_owned(),
                id: id.to_owned(),
                checked: None,
            };
            Some((name.to_owned(), derivation))
        })
        .collect();
    // `checked <name> <text>` follows its bundle's line.
    for line in text.lines() {
        let Some((name, checked)) = line
            .strip_prefix("checked ")
            .and_then(|rest| rest.split_once(' '))
        else {
            continue;
        };
        if let Some(derivation) = derivations.get_mut(name) {
            derivation.checked = Some(checked.to_owned());
        }
    }
    derivations
}

/// Record that out/ now holds the build with `key` (`None`: a build that
/// must not be skipped next time) and this INDEX text, and each bundle's
/// derivation. Written to a temporary file and renamed, so a reader sees
/// all or nothing.
pub fn store(
    config: &Config,
    key: Option<&Key>,
    index: &str,
    derivations: &[(&str, Derivation)],
    rest: Option<&(String, String)>,
) {
    let Some(path) = cache_path(config) else {
        return;
    };
    let mut text = format!(
        "{HEADER}\nkey {}\nindex {}\n",
        key.map_or("-", |key| &key.0),
        blake3::hash(index.as_bytes()).to_hex()
    );
    let one_line = |text: &str| !text.contains(['\n', '\r']);
    if let Some((rest_key, checked)) = rest.filter(|(_, checked)| one_line(checked)) {
        text.push_str(&format!("rest {rest_key} {checked}\n"));
    }
    for (name, derivation) in derivations {
        text.push_str(&format!(
            "bundle {} {} {name}\n",
            derivation.input, derivation.id
        ));
        if let Some(checked) = derivation
            .checked
            .as_ref()
            .filter(|checked| one_line(checked) && !name.contains(char::is_whitespace))
        {
            text.push_str(&format!("checked {name} {checked}\n"));
        }
    }
    let Some(dir) = path.parent() else {
        return;
    };
    let written = tempfile::Builder::new()
        .prefix(".lugc-cache-")
        .tempfile_in(dir)
        .and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.persist(&path).map_err(|error| error.error)?;
            Ok(())
        });
    // A build that cannot record its cache is still a good build.
    let _ = written;
}

/// Record that out/ holds `compilation`, built with `key` (INDEX text
/// `index`), once it is written or a check found it there. A build with
/// warnings or changes is not recorded as current: they show again next
/// time.
/// Each bundle's sources key is recorded all the same, for the next build
/// to take the bundles whose sources did not change from out/.
pub fn record_current(config: &Config, key: &Key, index: &str, compilation: &crate::Compilation) {
    let key = Some(key)
        .filter(|_| compilation.fleet.warnings.is_empty() && compilation.changes.is_empty());
    let records = crate::derive::records(config, compilation);
    let records: Vec<(&str, Derivation)> = records
        .iter()
        .map(|(name, derivation)| (name.as_str(), derivation.clone()))
        .collect();
    store(config, key, index, &records, compilation.rest.as_ref());
}

/// The cache file's text, if it is in this lugc's format.
fn current_text(config: &Config) -> Option<String> {
    let text = fs::read_to_string(cache_path(config)?).ok()?;
    (text.lines().next() == Some(HEADER)).then_some(text)
}

/// When the cache file was last written (its ctime, seconds and
/// nanoseconds): a file in out/ changed before it is the one recorded.
pub fn written_at(config: &Config) -> Option<(i64, i64)> {
    let meta = fs::metadata(cache_path(config)?).ok()?;
    Some((meta.ctime(), meta.ctime_nsec()))
}

/// Where the cache file of `config` is: beside out/.
pub fn cache_path(config: &Config) -> Option<PathBuf> {
    let out = std::path::absolute(&config.out).ok()?;
    Some(out.parent()?.join(CACHE_FILE))
}

/// Every input file under `root`, sorted, leaving out `out`, `target/` and
/// hidden directories; links are followed. `None` for an input that is not
/// a regular file, or a directory that cannot be read.
fn input_files(root: &Path, out: &Path) -> Option<Vec<PathBuf>> {
    let mut files = Vec::new();
    let walk = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| {
            let name = entry.file_name().to_string_lossy();
            entry.depth() == 0
                || !(entry.path() == out
                    || (entry.file_type().is_dir() && (name == "target" || name.starts_with('.'))))
        });
    for entry in walk {
        let entry = match entry {
            Ok(entry) => entry,
            // Its directory is walked already, under another path.
            Err(error) if error.loop_ancestor().is_some() => continue,
            // Nothing can be imported through it.
            Err(error) if error.path().is_some_and(is_dangling) => continue,
            Err(_) => return None,
        };
        let is_input = entry
            .path()
            .extension()
            .and_then(|ext| ext.to_str())
            .is_some_and(|ext| INPUT_EXTENSIONS.contains(&ext));
        if is_input && !entry.file_type().is_dir() {
            if !entry.file_type().is_file() {
                return None;
            }
            files.push(entry.into_path());
        }
    }
    Some(files)
}

/// Whether `path` is a symbolic link whose target does not exist.
fn is_dangling(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_symlink())
        && fs::metadata(path).is_err()
}

/// Whether out/ holds exactly what `index` and the MANIFESTs it names say,
/// each listed file with its blake3 and executable bit. On one thread: most
/// of the time goes to walking and opening files, not to blake3, and a
/// second thread did not make it faster (bench/README.md).
pub(crate) fn out_is_intact(out: &Path, index: &str) -> bool {
    let Ok(index) = crate::bundle::parse_index(index) else {
        return false;
    };
    // Path relative to out/ → blake3 hex and executable bit of a listed file;
    // `None` for INDEX and the MANIFESTs, which are checked as they are read.
    let mut expected: HashMap<PathBuf, Option<(String, bool)>> =
        HashMap::from([(PathBuf::from("INDEX"), None)]);
    for (name, id) in &index {
        if name.contains('/') || name.starts_with('.') {
            return false;
        }
        let manifest_path = Path::new(name).join("MANIFEST");
        let Some(text) = read_text(out, &manifest_path) else {
            return false;
        };
        if crate::manifest::bundle_id(text.as_bytes()) != *id {
            return false;
        }
        let Ok(manifest) = Manifest::parse(&text) else {
            return false;
        };
        expected.insert(manifest_path, None);
        for entry in manifest.entries {
            let path = Path::new(name).join(entry.path.trim_start_matches('/'));
            expected.insert(path, Some((entry.blake3, entry.mode & 0o111 != 0)));
        }
    }
    // Links are not followed: one anywhere in out/ is a miss.
    for entry in walkdir::WalkDir::new(out) {
        let Ok(entry) = entry else {
            return false;
        };
        if entry.file_type().is_dir() {
            continue;
        }
        let listed = entry
            .path()
            .strip_prefix(out)
            .ok()
            .and_then(|relative| expected.remove(relative));
        let Some(listed) = listed.filter(|_| entry.file_type().is_file()) else {
            return false;
        };
        if let Some((blake3, executable)) = listed {
            let intact = crate::write::read_walked(entry.path()).is_ok_and(|(bytes, metadata)| {
                (metadata.permissions().mode() & 0o111 != 0) == executable
                    && blake3::hash(&bytes).to_hex().as_str() == blake3
            });
            if !intact {
                return false;
            }
        }
    }
    expected.is_empty()
}

/// out/`relative` as UTF-8 text, read with [`crate::write::read_below`].
fn read_text(out: &Path, relative: &Path) -> Option<String> {
    let (bytes, _) = crate::write::read_below(out, relative).ok()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::INDEX_HEADER;

    fn fixture() -> (tempfile::TempDir, Config) {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("cluster.ncl"), "{}").unwrap();
        fs::create_dir_all(dir.path().join("lib")).unwrap();
        fs::write(dir.path().join("lib/a.ncl"), "1").unwrap();
        let config = Config {
            file: dir.path().join("cluster.ncl"),
            out: dir.path().join("out"),
            detail: crate::eval::Detail::Brief,
            facts: crate::eval::FactsUse::Checked,
        };
        (dir, config)
    }

    #[test]
    fn the_key_follows_inputs_only() {
        let (dir, config) = fixture();
        let first = key(&config).unwrap();
        assert_eq!(key(&config), Some(first.clone()));
        for ignored in ["out/x.ncl", "target/y.ncl", ".git/z.ncl", "README.md"] {
            let path = dir.path().join(ignored);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, "ignored").unwrap();
        }
        assert_eq!(key(&config), Some(first.clone()), "not inputs");
        fs::write(dir.path().join("lib/a.ncl"), "2").unwrap();
        let second = key(&config).unwrap();
        assert_ne!(first, second);
        fs::rename(dir.path().join("lib/a.ncl"), dir.path().join("lib/b.ncl")).unwrap();
        assert_ne!(key(&config), Some(second), "a rename changes the key");
        let other_out = Config {
            out: dir.path().join("elsewhere"),
            ..config.clone()
        };
        assert_ne!(key(&other_out), key(&config));
    }

    #[test]
    fn a_lookup_needs_the_key_and_an_intact_out() {
        let (dir, config) = fixture();
        let out = dir.path().join("out");
        fs::create_dir_all(out.join("h/etc")).unwrap();
        fs::write(out.join("h/etc/f"), "x").unwrap();
        let manifest = Manifest {
            bundle: "h".into(),
            reaches: vec!["h".into()],
            entries: vec![crate::manifest::Entry {
                blake3: blake3::hash(b"x").to_hex().to_string(),
                mode: 0o644,
                owner: "root:root".into(),
                path: "/etc/f".into(),
                action: None,
            }],
            ..Manifest::default()
        };
        fs::write(out.join("h/MANIFEST"), manifest.render()).unwrap();
        let index = format!("{INDEX_HEADER}\n{} h\n", manifest.id());
        fs::write(out.join("INDEX"), &index).unwrap();
        let key_now = key(&config).unwrap();
        assert_eq!(lookup(&config, &key_now), None, "no cache yet");
        store(&config, Some(&key_now), &index, &[], None);
        assert_eq!(lookup(&config, &key_now), Some(index.clone()));
        assert_eq!(lookup(&config, &Key("other".into())), None);

        fs::write(out.join("h/etc/f"), "edited").unwrap();
        assert_eq!(lookup(&config, &key_now), None, "a hand edit");
        fs::write(out.join("h/etc/f"), "x").unwrap();
        fs::set_permissions(out.join("h/etc/f"), fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(lookup(&config, &key_now), None, "a mode change");
        fs::set_permissions(out.join("h/etc/f"), fs::Permissions::from_mode(0o644)).unwrap();
        fs::write(out.join("h/extra"), "").unwrap();
        assert_eq!(lookup(&config, &key_now), None, "an extra file");
        fs::remove_file(out.join("h/extra")).unwrap();
        assert_eq!(lookup(&config, &key_now), Some(index.clone()));
        fs::write(out.join("INDEX"), format!("{index}\n")).unwrap();
        assert_eq!(lookup(&config, &key_now), None, "another INDEX");
    }
}
