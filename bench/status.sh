#!/bin/sh
# Wall time of `lugc status` on N loopback "hosts": one sshd on 127.0.0.1, a
# root directory per host (`--root DIR/{host}`), every bundle pushed first.
#
#   cargo build --release
#   bench/status.sh 7 50
#
# N = 7 is the real fleet (cluster.ncl), any other N a bench/gen-fleet.py
# fleet (at least 10). Prints, per N, the median of RUNS (default 5) runs of:
# one host alone, every bundle with -j 1 (one after the other) and with
# -j 8 (the default), and the ratio of -j 8 to one host. Needs sshd and
# ssh-keygen (openssh-server), rsync, and root (sshd's privilege separation).
set -eu
cd "$(dirname "$0")/.."
LUGC=${LUGC:-$PWD/target/release/lugc}
RUNS=${RUNS:-5}
[ "$#" -gt 0 ] || set -- 7 50
work=$(mktemp -d "${TMPDIR:-/tmp}/lugc-status-bench-XXXXXX")
trap 'kill "$(cat "$work/sshd.pid" 2>/dev/null)" 2>/dev/null; rm -rf "$work"' EXIT INT TERM

. bench/loopback-sshd.sh

# The median of the wall seconds of RUNS runs of the command given.
median() {
    for _ in $(seq "$RUNS"); do
        start=$(date +%s.%N)
        "$@" > /dev/null 2>&1 || [ $? -eq 1 ]
        end=$(date +%s.%N)
        awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
    done | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

printf '%6s %9s %9s %9s %9s\n' hosts one_s j1_s j8_s j8/one
for n in "$@"; do
    fleet=$work/fleet-$n
    if [ "$n" = 7 ]; then
        mkdir -p "$fleet" && cp -r cluster.ncl lib facts "$fleet/"
    else
        python3 bench/gen-fleet.py --hosts "$n" --out "$fleet"
    fi
    (cd "$fleet" && "$LUGC" build > /dev/null)
    for host in $(awk 'NR > 1 && $2 != "cluster" { print $2 }' "$fleet/out/INDEX"); do
        mkdir -p "$work/hosts-$n/$host/etc/pve"
    done
    set -- --target root@127.0.0.1 --port "$port" --root "$work/hosts-$n/{host}" \
        --ssh-option "IdentityFile=$work/client_key" --ssh-option StrictHostKeyChecking=no \
        --ssh-option UserKnownHostsFile=/dev/null --ssh-option LogLevel=ERROR
    (cd "$fleet" && "$LUGC" push --all --yes --allow-dirty --action-runner true "$@" > /dev/null)
    first=$(awk 'NR == 2 { print $2 }' "$fleet/out/INDEX")
    [ "$first" != cluster ] || first=$(awk 'NR == 3 { print $2 }' "$fleet/out/INDEX")
    cd "$fleet"
    one=$(median "$LUGC" status "$first" "$@")
    j1=$(median "$LUGC" status -j 1 "$@")
    j8=$(median "$LUGC" status -j 8 "$@")
    cd - > /dev/null
    awk -v n="$n" -v o="$one" -v a="$j1" -v b="$j8" \
        'BEGIN { printf "%6d %9.2f %9.2f %9.2f %9.1f\n", n, o, a, b, b / o }'
done
