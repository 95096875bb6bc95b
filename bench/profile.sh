#!/bin/sh
# Where a full build of a generated fleet of N hosts goes, stage by stage:
# `lugc build` of lib/lugc.ncl's build cut after each stage (parsing and
# typechecking, the contracts, the cross-record and facts checks), then of
# the whole build (+ the renderers, JSON into Rust types, validation,
# blake3, writing out/), each into a fresh out/.
#
#   cargo build --release
#   bench/profile.sh 1000 [RUNS]
#
# Prints, per stage, the median CPU seconds (user + system) of RUNS
# (default 3) runs and the largest peak RSS, in all and per host; the
# differences between stages are what each stage costs.
set -eu
cd "$(dirname "$0")/.."
LUGC=${LUGC:-$PWD/target/release/lugc}
n=${1:-1000}
runs=${2:-3}
dir=$(mktemp -d "${TMPDIR:-/tmp}/lugc-profile-$n-XXXXXX")
trap 'rm -rf "$dir"' EXIT
python3 bench/gen-fleet.py --hosts "$n" --out "$dir"

# The build of lib/lugc.ncl, cut after each stage: each file is a function
# of the description, which cluster.ncl's copies pass instead of lugc.build.
cat > "$dir/copy.ncl" <<'NCL'
let fleet_contracts = import "lib/contracts/fleet.ncl" in
let rec plain = fun value =>
  if std.is_record value then %record/map% value (fun _name field => plain field)
  else if std.is_array value then %array/map% value plain
  else value
in
{
  contracts = fleet_contracts,
  copy = fun description => plain (description | fleet_contracts.Fleet),
}
NCL
cat > "$dir/stage-parse.ncl" <<'NCL'
fun _description => { hosts = {}, cluster = { files = {} } }
NCL
cat > "$dir/stage-contracts.ncl" <<'NCL'
fun description => std.deep_seq ((import "copy.ncl").copy description) { hosts = {}, cluster = { files = {} } }
NCL
cat > "$dir/stage-checks.ncl" <<'NCL'
let lib = import "copy.ncl" in
fun description =>
  let copy = lib.copy description in
  let groups = lib.contracts.checks copy @ [(import "lib/facts.ncl").checks true copy] in
  std.deep_seq copy (std.deep_seq (lib.contracts.checked groups) { hosts = {}, cluster = { files = {} } })
NCL
for stage in parse contracts checks; do
    sed "s|^lugc.build {|(import \"stage-$stage.ncl\") {|" "$dir/cluster.ncl" > "$dir/$stage.ncl"
done
printf '%-10s %8s %9s %12s %12s\n' stage cpu_s peak_MiB ms_per_host KiB_per_host
for stage in parse contracts checks cluster; do
    for run in $(seq "$runs"); do
        rm -rf "$dir/out" "$dir/.lugc-cache"
        /usr/bin/time -f '%U %S %M' -o "$dir/time" "$LUGC" build --file "$dir/$stage.ncl" > /dev/null
        awk '{ print $1 + $2, $3 }' "$dir/time"
    done | sort -n | awk -v s="$stage" -v n="$n" '{ cpu[NR] = $1; if ($2 > m) m = $2 }
        END { c = cpu[int((NR + 1) / 2)]
              printf "%-10s %8.2f %9.0f %12.2f %12.0f\n", s, c, m / 1024, 1000 * c / n, m / n }'
done
