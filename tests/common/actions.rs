//! Actions carried out on a host root in a temporary directory instead of
//! the machine: `simulate ACTION`, with LUGC_ROOT set to the root (as host.sh
//! sets it), runs the action with each absolute path in it taken below the
//! root and a PATH that holds only stand-ins. They log their calls, and
//! systemctl keeps each unit's state, so a test sees what an action would
//! have done; a command without a stand-in is not found, so nothing on this
//! machine ever changes.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Commands that only log: what lib/'s actions and the scripts they run call.
const LOGGING: [&str; 5] = [
    "update-alternatives",
    "iptables",
    "ifreload",
    "apt-get",
    "iscsiadm",
];

/// The stand-in systemctl: each unit's state is `<enabled|disabled>
/// <masked|unmasked> <active|inactive>` in `$LUGC_UNITS/<unit>`, `disabled
/// unmasked inactive` when unknown. Masking keeps the enablement, as
/// systemd's does; a masked unit neither starts nor is enabled.
const SYSTEMCTL: &str = r#"verb=$1
shift
now=
quiet=
while [ "${1:-}" = --now ] || [ "${1:-}" = --quiet ]; do
  [ "$1" = --now ] && now=1
  [ "$1" = --quiet ] && quiet=1
  shift
done
[ "$verb" = daemon-reload ] && exit 0
for unit in "$@"; do
  read -r enabled masked active 2> /dev/null < "$LUGC_UNITS/$unit" ||
    { enabled=disabled masked=unmasked active=inactive; }
  case $verb in
    mask) masked=masked; [ -z "$now" ] || active=inactive ;;
    unmask) masked=unmasked ;;
    disable) enabled=disabled; [ -z "$now" ] || active=inactive ;;
    enable | start | restart)
      if [ "$masked" = masked ]; then echo "Unit $unit is masked." >&2; exit 1; fi
      [ "$verb" != enable ] || enabled=enabled
      [ "$verb" = enable ] && [ -z "$now" ] || active=active ;;
    stop) active=inactive ;;
    is-enabled)
      [ -n "$quiet" ] || { [ "$masked" = masked ] && echo masked || echo "$enabled"; }
      [ "$masked" = unmasked ] && [ "$enabled" = enabled ]; exit ;;
    *) echo "systemctl stand-in: $verb?" >&2; exit 1 ;;
  esac
  echo "$enabled $masked $active" > "$LUGC_UNITS/$unit"
done
"#;

/// The stand-ins in a directory: `bin/`, `units/<host>/`, `commands.log`
/// and the `simulate` script, for host roots below `roots` (`<roots>/<host>`).
pub struct StandIns {
    dir: PathBuf,
}

impl StandIns {
    /// Write the stand-ins into `dir`.
    pub fn install(dir: &Path, roots: &Path) -> StandIns {
        fs::create_dir_all(roots).unwrap();
        let dir = fs::canonicalize(dir).unwrap();
        let roots = fs::canonicalize(roots).unwrap();
        let bin = dir.join("bin");
        fs::create_dir_all(&bin).unwrap();
        let logs = format!(
            "printf '%s: %s\\n' \"${{LUGC_UNITS##*/}}\" \"${{0##*/}} $*\" >> {}\n",
            dir.join("commands.log").display()
        );
        for name in LOGGING {
            executable(&bin.join(name), &format!("#!/bin/sh\n{logs}"));
        }
        let reads = "while read -r _; do :; done\n";
        executable(
            &bin.join("debconf-set-selections"),
            &format!("#!/bin/sh\n{logs}{reads}"),
        );
        // Nothing is installed.
        executable(
            &bin.join("dpkg-query"),
            &format!("#!/bin/sh\n{logs}exit 1\n"),
        );
        executable(
            &bin.join("systemctl"),
            &format!("#!/bin/sh\n{logs}{SYSTEMCTL}"),
        );
        executable(
            &dir.join("simulate"),
            &format!(
                r#"#!/bin/sh
case ${{LUGC_ROOT:-}} in
  {roots}/?*) ;;
  *) echo "simulate: LUGC_ROOT is no test host's root: ${{LUGC_ROOT:-unset}}" >&2; exit 90 ;;
esac
host=${{LUGC_ROOT##*/}}
mkdir -p {units}/"$host"
action=$(printf '%s\n' "$1" | sed "s#\(^\|[ ;&|(]\)/#\1$LUGC_ROOT/#g")
LUGC_UNITS={units}/$host PATH={bin} exec /bin/sh -c "$action"
"#,
                roots = roots.display(),
                units = dir.join("units").display(),
                bin = bin.display(),
            ),
        );
        StandIns { dir }
    }

    /// The script that carries out its argument on `$LUGC_ROOT`.
    pub fn script(&self) -> PathBuf {
        self.dir.join("simulate")
    }

    /// Carry out `action` on `root`; true when it succeeds.
    pub fn run(&self, root: &Path, action: &str) -> bool {
        Command::new(self.script())
            .arg(action)
            .env("LUGC_ROOT", fs::canonicalize(root).unwrap())
            .status()
            .unwrap()
            .success()
    }

    /// The state of `unit` on `host`, as the stand-in systemctl keeps it.
    pub fn unit(&self, host: &str, unit: &str) -> String {
        fs::read_to_string(self.dir.join("units").join(host).join(unit))
            .unwrap_or_else(|_| "disabled unmasked inactive".to_owned())
            .trim()
            .to_owned()
    }

    pub fn set_unit(&self, host: &str, unit: &str, state: &str) {
        let dir = self.dir.join("units").join(host);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(unit), format!("{state}\n")).unwrap();
    }

    /// Every call a stand-in logged, as `<host>: <command> <args>`.
    pub fn commands(&self) -> Vec<String> {
        fs::read_to_string(self.dir.join("commands.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

fn executable(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}
