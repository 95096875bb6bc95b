//! A simulated host network for health checks: stand-in `ip`, `ping` and
//! `carries` that read an "applied" interfaces file and a simulated switch
//! in a directory of the test's (`SIM`), so a health script runs for real
//! without touching this machine's network.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Stand-in `ip -o link show dev NAME`: a device of the applied interfaces
/// file, up, with its bridge as `master`, worded as iproute2 words it.
const IP: &str = r#"#!/bin/sh
applied=$SIM/applied
[ "$1 $2 $3 $4" = "-o link show dev" ] || { echo "stand-in ip: $*" >&2; exit 2; }
grep -q "^iface $5 " "$applied" || { echo "Device \"$5\" does not exist." >&2; exit 1; }
master=$(awk -v n="$5" '/^iface /{b=$2} /^ *bridge-ports /{for(i=2;i<=NF;i++) if($i==n) print b}' "$applied")
printf '7: %s: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue%s state UP mode DEFAULT\n' "$5" "${master:+ master $master}"
"#;

/// Whether traffic on bridge $1 reaches the switch: a port untagged or in
/// a VLAN the switch carries (a tunnel always does).
const CARRIES: &str = r#"#!/bin/sh
applied=$SIM/applied
for port in $(awk -v b="$1" '/^iface /{i=$2} i==b && /^ *bridge-ports /{for(n=2;n<=NF;n++) print $n}' "$applied"); do
  case $port in
    none) ;;
    *.*) grep -qx "${port##*.}" "$SIM/switch" && exit 0 ;;
    *) exit 0 ;;
  esac
done
echo "$1: no port the switch carries" >&2
exit 1
"#;

/// Stand-in `ping ... -I BRIDGE ADDRESS`: answered when the bridge has an
/// address and reaches the switch.
const PING: &str = r#"#!/bin/sh
while [ $# -gt 1 ]; do
  [ "$1" = -I ] && dev=$2
  shift
done
if awk -v b="$dev" '/^iface /{i=$2} i==b && /^ *address /{found=1} END{exit !found}' "$SIM/applied" && carries "$dev" 2> /dev/null; then
  echo "1 packets transmitted, 1 received, 0% packet loss"
else
  echo "PING $1: 1 packets transmitted, 0 received, 100% packet loss"
  exit 1
fi
"#;

/// The simulation in `sim`: the stand-ins in `sim/bin`, a switch carrying
/// `vlans`. The applied interfaces file is `sim/applied`.
pub struct Network {
    pub sim: PathBuf,
}

impl Network {
    pub fn new(sim: &Path, vlans: &[u16]) -> Self {
        let bin = sim.join("bin");
        fs::create_dir_all(&bin).unwrap();
        for (name, text) in [("ip", IP), ("carries", CARRIES), ("ping", PING)] {
            fs::write(bin.join(name), text).unwrap();
            fs::set_permissions(bin.join(name), fs::Permissions::from_mode(0o755)).unwrap();
        }
        let switch: String = vlans.iter().map(|vlan| format!("{vlan}\n")).collect();
        fs::write(sim.join("switch"), switch).unwrap();
        Self {
            sim: sim.to_path_buf(),
        }
    }

    pub fn bin(&self) -> PathBuf {
        self.sim.join("bin")
    }

    pub fn applied(&self) -> PathBuf {
        self.sim.join("applied")
    }

    /// Apply `interfaces` as `ifreload -a` would.
    pub fn apply(&self, interfaces: &str) {
        fs::write(self.applied(), interfaces).unwrap();
    }

    /// `sh SCRIPT` with the stand-ins first on PATH.
    pub fn run(&self, script: &Path) -> Command {
        let path = std::env::var("PATH").unwrap_or_default();
        let mut command = Command::new("sh");
        command
            .arg(script)
            .env("PATH", format!("{}:{path}", self.bin().display()))
            .env("SIM", &self.sim);
        command
    }
}
