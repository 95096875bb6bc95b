#!/bin/sh
# Time and peak memory of `lugc build` on synthetic fleets of N hosts, then of
# a no-op rebuild (nothing changed: the cache answers).
#
#   cargo build --release
#   bench/scaling.sh 100 1000 5000
#
# Needs /usr/bin/time (Debian package `time`). Prints one line per N: N, wall
# and CPU (user + system) seconds and peak RSS (MiB) of the full build, files
# in out/, then the same seconds of the no-op rebuild and its share of the
# full build's wall time.
set -eu
cd "$(dirname "$0")/.."
LUGC=${LUGC:-$PWD/target/release/lugc}
[ "$#" -gt 0 ] || set -- 100 1000 5000
printf '%6s %9s %9s %9s %8s %9s %9s %7s\n' hosts build_s build_cpu peak_MiB files noop_s noop_cpu noop_%
for n in "$@"; do
    dir=$(mktemp -d "${TMPDIR:-/tmp}/lugc-fleet-$n-XXXXXX")
    python3 bench/gen-fleet.py --hosts "$n" --out "$dir"
    /usr/bin/time -f '%e %U %S %M' -o "$dir/full.time" "$LUGC" build --file "$dir/cluster.ncl" > /dev/null
    /usr/bin/time -f '%e %U %S %M' -o "$dir/noop.time" "$LUGC" build --file "$dir/cluster.ncl" > /dev/null
    files=$(find "$dir/out" -type f | wc -l)
    read -r full_s full_u full_k full_kib < "$dir/full.time"
    read -r noop_s noop_u noop_k _ < "$dir/noop.time"
    awk -v n="$n" -v f="$full_s" -v fu="$full_u" -v fk="$full_k" -v m="$full_kib" \
        -v c="$files" -v z="$noop_s" -v zu="$noop_u" -v zk="$noop_k" \
        'BEGIN { printf "%6d %9.2f %9.2f %9.0f %8d %9.3f %9.3f %7.1f\n",
                        n, f, fu + fk, m / 1024, c, z, zu + zk, 100 * z / f }'
    rm -rf "$dir"
done
