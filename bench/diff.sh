#!/usr/bin/env bash
# `lugc diff HEAD` on a synthetic fleet of 1000 hosts where one file changed.
# The benchmark (compiler/benches/diff.rs) writes out/ with 1000 host bundles in
# the documented format, commits it, changes one chrony.conf and times the diff:
# the lugc process end to end, diff::compare in process, and hyperfine when the
# Debian package is installed (apt-get install hyperfine).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench -p lugc --bench diff "$@"
