#!/usr/bin/env bash
# `lugc diff` of one fleet-wide change (the NTP server of every host) on
# generated fleets of 1000 and 5000 hosts (or the sizes given), beside
# `git diff` of the same two revisions' out/, in interleaved runs; prints
# medians, minimums, their ratio and the markdown's size. The fleets come
# from bench/gen-fleet.py and are built by the same release lugc
# (compiler/benches/diff.rs). Set TMPDIR=/dev/shm to leave the disk out.
#
#   bench/diff.sh                 # 1000 and 5000 hosts, 15 runs each
#   bench/diff.sh 1000 --runs 30
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench -p lugc --bench diff -- "$@"
