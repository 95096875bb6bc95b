#!/bin/sh
# Builds over an earlier out/ on synthetic fleets of N hosts: each run builds from
# nothing (no out/, no cache), then after one host's change (h-5's hardware,
# which its motd shows), then after a fleet-wide change (the NTP server, in
# every host's chrony.conf), then with nothing changed; RUNS runs, so the
# four kinds of build are interleaved.
#
#   cargo build --release
#   TMPDIR=/dev/shm bench/incremental.sh 1000 5000     # tmpfs
#   TMPDIR=/var/tmp bench/incremental.sh 1000          # the disk
#
# Needs /usr/bin/time (Debian package `time`). Prints, per N and kind of
# build, the median wall and CPU (user + system) seconds, the median peak
# RSS in MiB and in KB per host, and the median wall time as a share of the
# full build's; then the load average, which wall times depend on (on a
# shared machine a build gets only the cores others leave). RUNS (3) and
# LUGC choose.
set -eu
cd "$(dirname "$0")/.."
LUGC=${LUGC:-$PWD/target/release/lugc}
RUNS=${RUNS:-3}
[ "$#" -gt 0 ] || set -- 1000
printf '%6s %-9s %8s %8s %9s %8s %7s\n' hosts build wall_s cpu_s peak_MiB KB/host wall_%
for n in "$@"; do
    dir=$(mktemp -d "${TMPDIR:-/tmp}/lugc-incr-$n-XXXXXX")
    python3 bench/gen-fleet.py --hosts "$n" --out "$dir" > /dev/null
    build() {
        /usr/bin/time -f "$1 %e %U %S %M" -a -o "$dir/times" \
            "$LUGC" build --file "$dir/cluster.ncl" > /dev/null
    }
    # Toggle a quoted value of cluster.ncl between two spellings.
    toggle() {
        if grep -q "\"$1\"" "$dir/cluster.ncl"; then
            sed -i "s/\"$1\"/\"$2\"/" "$dir/cluster.ncl"
        else
            sed -i "s/\"$2\"/\"$1\"/" "$dir/cluster.ncl"
        fi
    }
    run=0
    while [ "$run" -lt "$RUNS" ]; do
        rm -rf "$dir/out" "$dir/.lugc-cache"
        build full
        toggle "synthetic host 5" "synthetic host 5, moved"
        build one_host
        toggle "time.ustc.edu.cn" "ntp.example.org"
        build ntp
        build nothing
        run=$((run + 1))
    done
    median_wall() {
        grep "^$1 " "$dir/times" | awk '{ print $2 }' | sort -n |
            awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
    }
    full=$(median_wall full)
    for kind in full one_host ntp nothing; do
        grep "^$kind " "$dir/times" | awk -v n="$n" -v kind="$kind" -v full="$full" '
            { wall[NR] = $2; cpu[NR] = $3 + $4; rss[NR] = $5 }
            function median(a, count,   i, j, t) {
                for (i = 1; i <= count; i++)
                    for (j = i + 1; j <= count; j++)
                        if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                return a[int((count + 1) / 2)]
            }
            END {
                w = median(wall, NR); c = median(cpu, NR); m = median(rss, NR)
                printf "%6d %-9s %8.2f %8.2f %9.0f %8.0f %7.1f\n", n, kind, w, c,
                       m / 1024, m * 1.024 / n, 100 * w / full
            }'
    done
    rm -rf "$dir"
done
echo "load average (1, 5, 15 min): $(cut -d" " -f1-3 /proc/loadavg)"
