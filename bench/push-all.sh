#!/bin/sh
# Wall time of `lugc push --all --yes` to 8 loopback "hosts": the real fleet
# (cluster.ncl) with an eighth host, one sshd on 127.0.0.1, a root directory
# per host (`--root DIR/{host}`), every host pushed from nothing each run.
# The action stand-in takes a different time on each host for the chrony
# restart (SLOWEST seconds on the first host, down by STEP for each next
# one), and none for the other actions.
#
#   cargo build --release
#   bench/push-all.sh
#
# Prints the median of RUNS (default 3) runs of: the slowest host alone,
# then every bundle with -j 1 (one after the other), -j 4 and -j 8, beside
# the sum of the stand-in's sleeps and the slowest one. Needs sshd and
# ssh-keygen (openssh-server), rsync, and root (sshd's privilege separation).
set -eu
cd "$(dirname "$0")/.."
LUGC=${LUGC:-$PWD/target/release/lugc}
RUNS=${RUNS:-3}
SLOWEST=${SLOWEST:-2.0}
STEP=${STEP:-0.25}
work=$(mktemp -d "${TMPDIR:-/tmp}/lugc-push-bench-XXXXXX")
trap 'kill "$(cat "$work/sshd.pid" 2>/dev/null)" 2>/dev/null; rm -rf "$work"' EXIT INT TERM

# Every session runs through a wrapper, so that the action stand-in can tell
# the host from the command ($SSH_ORIGINAL_COMMAND names the host's root).
cat > "$work/wrapper.sh" <<'EOF'
#!/bin/sh
exec "${SHELL:-/bin/sh}" -c "$SSH_ORIGINAL_COMMAND"
EOF
cat > "$work/runner.sh" <<EOF
#!/bin/sh
# The action stand-in: sleeps for the chrony restart as long as sleep/<host> says.
case \$1 in
  "systemctl restart chrony.service")
    host=\${SSH_ORIGINAL_COMMAND##*/hosts/}
    sleep "\$(cat "$work/sleep/\${host%% *}")" ;;
esac
EOF
chmod +x "$work/wrapper.sh" "$work/runner.sh"
. bench/loopback-sshd.sh
printf 'command="%s" %s\n' "$work/wrapper.sh" "$(cat "$work/client_key.pub")" > "$work/authorized_keys"

# The committed fleet with pve-11 (as tests/cli/push/all.rs has it), built.
fleet=$work/fleet
mkdir -p "$fleet" && cp -r cluster.ncl lib facts "$fleet/"
python3 - "$fleet/cluster.ncl" tests/cli/push/pve-11.txt <<'EOF'
import sys
path, eighth = sys.argv[1], open(sys.argv[2]).read()
text = open(path).read()
open(path, "w").write(text.replace("    pve-10 = {", eighth + "    pve-10 = {", 1))
EOF
(cd "$fleet" && "$LUGC" build > /dev/null)
# In the order push --all starts them: the slowest first.
hosts=$(awk 'NR > 1 && $2 != "cluster" { print $2 }' "$fleet/out/INDEX" | sort -t- -k1,1 -k2n)
mkdir -p "$work/sleep"
seconds=$SLOWEST
for host in $hosts; do
    echo "$seconds" > "$work/sleep/$host"
    seconds=$(awk -v s="$seconds" -v d="$STEP" 'BEGIN { print s - d }')
done
sum=$(cat "$work"/sleep/* | awk '{ s += $1 } END { print s }')
slowest_host=$(echo "$hosts" | head -1)

set -- --target root@127.0.0.1 --port "$port" --root "$work/hosts/{host}" \
    --action-runner "$work/runner.sh" --allow-dirty \
    --ssh-option "IdentityFile=$work/client_key" --ssh-option StrictHostKeyChecking=no \
    --ssh-option UserKnownHostsFile=/dev/null --ssh-option LogLevel=ERROR

# The median of the wall seconds of RUNS runs of `lugc push --yes ARGS`, each to empty hosts.
median() {
    for _ in $(seq "$RUNS"); do
        rm -rf "$work/hosts"
        for host in $hosts; do mkdir -p "$work/hosts/$host/etc/pve"; done
        start=$(date +%s.%N)
        (cd "$fleet" && "$LUGC" push --yes "$@" > /dev/null)
        end=$(date +%s.%N)
        awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
    done | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

one=$(median "$slowest_host" "$@")
j1=$(median --all -j 1 "$@")
j4=$(median --all -j 4 "$@")
j8=$(median --all -j 8 "$@")
printf '%7s %9s %9s %9s %9s %9s %9s\n' sleeps_s slowest_s one_s j1_s j4_s j8_s j4/one
awk -v s="$sum" -v m="$SLOWEST" -v o="$one" -v a="$j1" -v b="$j4" -v c="$j8" \
    'BEGIN { printf "%7.2f %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f\n", s, m, o, a, b, c, b / o }'
