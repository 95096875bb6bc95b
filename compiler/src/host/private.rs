//! host::private: the operator's temporary files during a push (the staged
//! files, the ssh control socket). Directories are 0700 and files 0600,
//! whatever the umask, and they are removed on every exit: when dropped,
//! and on SIGINT, SIGTERM or SIGHUP before the process ends by that signal.
//! Such a signal also prints the notes (`SignalNote`) alive at that moment:
//! what the host does on its own once lugc is gone.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};

use crate::host::error::HostError;

/// Directories to remove should a signal end the process.
static LIVE: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
/// What to tell on stderr should a signal end the process, by key.
static NOTES: Mutex<BTreeMap<u64, String>> = Mutex::new(BTreeMap::new());
static HANDLER: Once = Once::new();

/// A line printed on stderr should a signal end lugc while it lives.
pub struct SignalNote {
    key: u64,
}

impl SignalNote {
    pub fn new(text: String) -> SignalNote {
        HANDLER.call_once(clean_up_on_signals);
        let mut notes = lock(&NOTES);
        let key = notes.keys().next_back().map_or(0, |last| last + 1);
        notes.insert(key, text);
        SignalNote { key }
    }
}

impl Drop for SignalNote {
    fn drop(&mut self) {
        lock(&NOTES).remove(&self.key);
    }
}

/// A temporary directory only the operator can read.
pub struct PrivateDir {
    dir: tempfile::TempDir,
}

impl PrivateDir {
    pub fn new(prefix: &str) -> Result<PrivateDir, HostError> {
        HANDLER.call_once(clean_up_on_signals);
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .permissions(fs::Permissions::from_mode(0o700))
            .tempdir()
            .map_err(HostError::io(std::env::temp_dir()))?;
        live().insert(dir.path().to_path_buf());
        Ok(PrivateDir { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        live().remove(self.dir.path());
    }
}

/// Write `bytes` to a new 0600 file at `path`, creating 0700 directories.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), HostError> {
    if let Some(dir) = path.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(HostError::io(dir))?;
    }
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(bytes))
        .map_err(HostError::io(path))
}

fn live() -> std::sync::MutexGuard<'static, BTreeSet<PathBuf>> {
    lock(&LIVE)
}

fn lock<T>(mutex: &'static Mutex<T>) -> std::sync::MutexGuard<'static, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn clean_up_on_signals() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            for note in lock(&NOTES).values() {
                eprintln!("{note}");
            }
            for dir in live().iter() {
                let _ = fs::remove_dir_all(dir);
            }
            let _ = signal_hook::low_level::emulate_default_handler(signal);
            std::process::exit(128 + signal);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt as _;

    #[test]
    fn only_the_operator_can_read_what_is_staged() {
        let dir = PrivateDir::new("lugc-test-").unwrap();
        let file = dir.path().join("etc/pve/priv/secret");
        write(&file, b"psk").unwrap();
        for path in [
            dir.path(),
            &dir.path().join("etc"),
            &dir.path().join("etc/pve/priv"),
        ] {
            assert_eq!(
                fs::metadata(path).unwrap().mode() & 0o777,
                0o700,
                "{}",
                path.display()
            );
        }
        assert_eq!(fs::metadata(&file).unwrap().mode() & 0o777, 0o600);
        let path = dir.path().to_path_buf();
        assert!(live().contains(&path));
        drop(dir);
        assert!(!path.exists());
        assert!(!live().contains(&path));
    }
}
