#!/bin/sh
# lugc's side of a push, run on the host as `sh -c SCRIPT lugc COMMAND ROOT ARGS...`.
#
# ROOT stands for / (empty for / itself; `hold` resolves it once and prints
# the absolute path every later command gets). A path below ROOT is refused
# when any of its components is a symbolic link, for reads and writes alike.
# Nothing from a file on the host reaches a message: only lugc's own paths do.
#
# Exit codes, one meaning each across every command (lugc names them in
# compiler/src/host/script.rs); `action` exits with the action's own status.
EXIT_FAILED=1       # the command failed; its message says why
EXIT_NO_ROOT=3      # hold: ROOT is not a directory
EXIT_LINK=4         # a symbolic link below ROOT, or not a regular file
EXIT_REVERT_BEGAN=5 # disarm: the armed revert began before the confirmation
EXIT_NO_PMXCFS=6    # quorum: no /etc/pve below ROOT
EXIT_NO_QUORUM=7    # quorum: /etc/pve does not take writes
EXIT_NOT_CONFIRMED=8 # disarm: lugc did not answer `ready`; nothing confirmed
EXIT_BUSY=75        # hold: another push holds the lock
# shellcheck disable=SC2034 # timeout(1) exits with it; named here for lugc
EXIT_TIMED_OUT=124  # action: stopped after its time limit

# No pathname expansion: words split from the operator's runner or from a
# record are never globbed. The two globs (`facts`, `pending_bundles`)
# allow it for themselves.
set -u -f
command=$1 root=$2
shift 2
state=var/lib/lugc

fail() {
  printf 'lugc: %s\n' "$1" >&2
  exit "${2:-$EXIT_FAILED}"
}

# Succeeds when the relative path $1 is canonical: no empty, `.` or `..`
# component (so no leading, doubled or trailing `/` either).
canonical() {
  case /$1/ in
    *//* | */./* | */../*) return 1 ;;
  esac
}

# Walks the components of the relative path $1 below $root: fails (3) when
# it is not canonical, (1) at a symbolic link; given a mode $2, creates the
# missing directories with it. Every path a command takes goes through it.
walk() {
  canonical "$1" || return 3
  prefix=$root rest=$1
  while [ -n "$rest" ]; do
    part=${rest%%/*}
    case $rest in */*) rest=${rest#*/} ;; *) rest= ;; esac
    [ -n "$part" ] || continue
    prefix=$prefix/$part
    [ ! -L "$prefix" ] || return 1
    [ -z "${2:-}" ] || [ -d "$prefix" ] || mkdir -m "$2" -- "$prefix" || return 2
  done
}

# Moves the revert armed for push $1 to $2 seconds from now (no push: nothing).
postpone() {
  [ -n "$1" ] || return 0
  file=$root/$state/backup/$1/DEADLINE
  printf '%s\n' "$(($(date +%s) + $2))" | replace "$file"
}

# Replaces the file $1 with the input whole (a temporary file renamed into
# place); on failure, as on a full disk, it leaves no temporary file.
replace() {
  new=$1.lugc-new.$$
  if ! { (set -C && cat > "$new") && mv -fT -- "$new" "$1"; }; then
    rm -f -- "$new"
    return 1
  fi
}

# Succeeds when $1 has the shape of a push id, as `begin` makes them.
push_id() {
  case $1 in '' | .* | *[!0-9A-Za-z._-]*) return 1 ;; esac
}

# Succeeds when the relative path $1 is canonical and no component of it
# below $root is a symbolic link.
link_free() {
  walk "$1"
}

# Fails the command unless the relative path $1 is canonical and free of
# symbolic links below $root; with a mode $2, creates its missing directories.
checked() {
  walk "$1" "${2:-}" || case $? in
    1) fail "$prefix is a symbolic link" "$EXIT_LINK" ;;
    3) fail "/$1 is not a canonical path" ;;
    *) fail "cannot create $prefix" ;;
  esac
}

# Prints the first 12 digits in the first 20 bytes of the regular file $1, e.g. a
# deadline; nothing when it is anything else, which is never opened.
number_in() {
  if [ -f "$1" ] && [ ! -L "$1" ]; then
    head -c 20 -- "$1" | tr -cd 0-9 | head -c 12
  fi
}

# Prints `record SIZE NAME` and the content of the regular file $root/$state/NAME,
# or `irregular /PATH` when it is not one or lies behind a link; nothing when absent.
emit() {
  path=$root/$state/$1
  if ! link_free "$state/$1" || { [ -e "$path" ] && [ ! -f "$path" ]; }; then
    printf 'irregular /%s\n' "$state/$1"
  elif [ -f "$path" ]; then
    size=$(wc -c < "$path") || fail "cannot read $path"
    printf 'record %s %s\n' "$size" "$1"
    head -c "$size" -- "$path"
  fi
}

# Paths on input, one per line: each regular file as `file MODE OWNER SIZE
# PATH` and its content, or when larger than $1 bytes, hashed and not sent,
# as `large MODE OWNER SIZE SHA256 PATH`; with $1 = hash, each as `hash MODE
# OWNER SHA256 PATH`. `irregular PATH` for anything else that is there.
emit_files() {
  while IFS= read -r path; do
    case $path in /*) ;; *) continue ;; esac
    file=$root$path
    canonical "${path#/}" || fail "$path is not a canonical path"
    if ! link_free "${path#/}" || { [ -e "$file" ] && [ ! -f "$file" ]; }; then
      printf 'irregular %s\n' "$path"
    elif [ -f "$file" ]; then
      meta=$(stat -c '%a %U:%G' -- "$file") || fail "cannot read $path"
      size=$(wc -c < "$file") || fail "cannot read $path"
      if [ "$1" = hash ] || [ "$size" -gt "$1" ]; then
        sum=$(sha256sum < "$file") || fail "cannot read $path"
        if [ "$1" = hash ]; then
          printf 'hash %s %s %s\n' "$meta" "${sum%% *}" "$path"
        else
          printf 'large %s %s %s %s\n' "$meta" "$size" "${sum%% *}" "$path"
        fi
      else
        printf 'file %s %s %s\n' "$meta" "$size" "$path"
        head -c "$size" -- "$file"
      fi
    fi
  done
}

# Whether the revert process of the backup directory $1 runs: `live`,
# `gone` (ended, as with a restart of the host), or `unknown` when $1/PID
# (written by `arm`) is missing.
revert_process() {
  pid=$(number_in "$1/PID")
  if [ -z "$pid" ]; then
    echo unknown
  elif tr '\0' ' ' < "/proc/$pid/cmdline" 2> /dev/null | grep -qF -- "$1/revert.sh revert "; then
    echo live
  else
    echo gone
  fi
}

# The bundles with a PENDING record, one a line.
pending_bundles() {
  set +f
  for pending in "$root/$state"/*.PENDING; do
    name=${pending##*/}
    name=${name%.PENDING}
    if push_id "$name"; then
      printf '%s\n' "$name"
    fi
  done
  set -f
}

# The push ids listed in the record file $1 (its first line is a header).
ids() {
  if [ -f "$root/$state/$1" ] && link_free "$state/$1"; then
    sed -n '2,$p' -- "$root/$state/$1"
  fi
}

case $command in
hold)
  # ARGS: lock|read HOLDER. Resolves the root, takes the host's push lock
  # (lock), and holds it until lugc closes this command's input.
  mode=$1 holder=$2
  if [ -n "$root" ]; then
    cd -- "$root" 2> /dev/null || fail "$root is not a directory on the host" "$EXIT_NO_ROOT"
    root=$(pwd -P)
    [ "$root" != / ] || root=
  fi
  printf 'uid %s\n' "$(id -u)"
  if [ "$mode" = lock ]; then
    checked var/lib 0755
    checked "$state" 0700
    lock=$root/$state/lock
    if [ -L "$lock" ] || { [ -e "$lock" ] && [ ! -f "$lock" ]; }; then
      fail "$lock is not a regular file" "$EXIT_LINK"
    fi
    exec 9>> "$lock" || fail "cannot open $lock"
    if ! flock -n 9; then
      printf 'busy %s\n' "$(head -c 200 -- "$lock" | tr -c '[:alnum:] .:@()_+-' '?')"
      exit "$EXIT_BUSY"
    fi
    printf '%s since %s\n' "$holder" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$lock"
  fi
  printf 'ready %s\n' "$root"
  exec cat > /dev/null
  ;;
records)
  # ARGS: BUNDLE. lugc's records of the bundle and of the pushes they name;
  # every push of any bundle on the host whose revert is armed or running,
  # as `armed ID BUNDLE armed|reverting PROCESS SECONDS_LEFT DEADLINE`
  # (`revert_process`; the deadline in UTC, `-` when unreadable), and
  # `confirmed ID` for each pending push of BUNDLE that lugc confirmed.
  bundle=$1
  for name in MANIFEST PENDING PREVIOUS REVERTED; do
    emit "$bundle.$name"
  done
  for id in $(ids "$bundle.PENDING") $(ids "$bundle.PREVIOUS"); do
    push_id "$id" || continue
    dir=$root/$state/backup/$id
    if [ -d "$dir" ] && link_free "$state/backup/$id"; then
      for name in BEFORE PUSHING MANIFEST; do
        emit "backup/$id/$name"
      done
    else
      printf 'nobackup %s\n' "$id"
    fi
  done
  now=$(date +%s)
  for name in $(pending_bundles); do
    for id in $(ids "$name.PENDING"); do
      push_id "$id" || continue
      dir=$root/$state/backup/$id
      link_free "$state/backup/$id" || continue
      if [ -f "$dir/REVERTING" ]; then
        phase=reverting
      elif [ -f "$dir/ARMED" ]; then
        phase=armed
      else
        if [ "$name" = "$bundle" ] && [ -f "$dir/CONFIRMED" ]; then
          printf 'confirmed %s\n' "$id"
        fi
        continue
      fi
      deadline=$(number_in "$dir/DEADLINE")
      at=-
      [ -z "$deadline" ] || at=$(date -u -d "@$deadline" +%Y-%m-%dT%H:%M:%SZ 2> /dev/null) || at=-
      printf 'armed %s %s %s %s %s %s\n' "$id" "$name" "$phase" "$(revert_process "$dir")" \
        "$((${deadline:-0} - now))" "$at"
    done
  done
  ;;
files)
  # ARGS: LIMIT. Paths on input: each regular file with its content, or
  # hashed when larger than LIMIT bytes (`emit_files`).
  emit_files "$1"
  ;;
facts)
  # ARGS: LIMIT RUNNER, then NAME INPUT COMMAND triples. Read-only. Emits
  # the files facts are read from as `files LIMIT` does (os-release,
  # storage.cfg, this node's VM configs), then runs each COMMAND through
  # RUNNER with LUGC_ROOT set to the root and the file INPUT below it (`-`:
  # none) on its input: `run NAME STATUS SIZE` and its output, or `absent
  # NAME` without INPUT.
  limit=$1 runner=$2
  shift 2
  vms=etc/pve/qemu-server
  # On a PVE node pmxcfs links it to nodes/<node>/qemu-server: follow that link only.
  if [ -L "$root/$vms" ]; then
    case $(readlink -- "$root/$vms") in
      nodes/*/qemu-server) vms=etc/pve/$(readlink -- "$root/$vms") ;;
      *) vms= ;;
    esac
  fi
  {
    printf '%s\n' /etc/os-release /usr/lib/os-release /etc/pve/storage.cfg
    if [ -n "$vms" ] && [ -d "$root/$vms" ] && link_free "$vms"; then
      set +f
      for conf in "$root/$vms"/*.conf; do
        [ ! -f "$conf" ] || printf '/%s\n' "$vms/${conf##*/}"
      done
      set -f
    fi
  } | emit_files "$limit"
  while [ $# -ge 3 ]; do
    name=$1 input=$2 fact=$3
    shift 3
    if [ "$input" = - ]; then
      input=/dev/null
    elif link_free "${input#/}" && [ -f "$root$input" ]; then
      input=$root$input
    else
      printf 'absent %s\n' "$name"
      continue
    fi
    # RUNNER is a command line of the operator's, split into words.
    # shellcheck disable=SC2086
    output=$(LUGC_ROOT=$root $runner "$fact" < "$input" 2> /dev/null; printf '.%s' "$?")
    status=${output##*.}
    output=${output%.*}
    printf 'run %s %s %s\n%s' "$name" "$status" "$(printf '%s' "$output" | wc -c)" "$output"
  done
  ;;
hashes)
  # Paths on input: as `files`, with each file's SHA-256 instead of its content.
  emit_files hash
  ;;
begin)
  # ARGS: PREFIX. Creates a backup directory that did not exist and prints its name.
  push_id "$1" || fail "not a push id prefix"
  checked "$state/backup" 0700
  dir=$(mktemp -d -- "$root/$state/backup/$1.XXXXXXXX") || fail "cannot create a backup directory"
  printf '%s\n' "${dir##*/}"
  ;;
record)
  # ARGS: NAME MODE. Input replaces $state/NAME whole.
  name=$state/$1
  checked "$name"
  checked "${name%/*}" 0700
  (umask 077 && replace "$root/$name") || fail "cannot write $root/$name"
  chmod "$2" -- "$root/$name" || fail "cannot set the mode of $root/$name"
  ;;
discard)
  # ARGS: ID. Removes the backup directory of a push that `begin` made but
  # that never became pending (its records could not be written).
  push_id "$1" || fail "not a push id"
  checked "$state/backup/$1"
  for name in $(pending_bundles); do
    ! ids "$name.PENDING" | grep -qxF -- "$1" || fail "push $1 is pending"
  done
  dir=$root/$state/backup/$1
  rm -rf -- "$dir"
  ;;
unrecord)
  # ARGS: NAME. Removes $state/NAME.
  checked "$state/$1"
  rm -f -- "$root/$state/$1"
  ;;
remove)
  # ARGS: BACKUP. Paths on input: each is kept under backup BACKUP, then removed.
  backup=$state/backup/$1/files
  while IFS= read -r path; do
    case $path in /*) ;; *) continue ;; esac
    checked "${path#/}"
    [ -e "$root$path" ] || continue
    [ -f "$root$path" ] || fail "$path is not a regular file" "$EXIT_LINK"
    checked "$backup${path%/*}" 0700
    cp -p -- "$root$path" "$root/$backup$path" || fail "cannot keep $path in $root/$backup"
    rm -f -- "$root$path" || fail "cannot remove $path"
  done
  ;;
links)
  # Paths on input: fails naming the first one below a symbolic link.
  while IFS= read -r path; do
    checked "${path#/}"
  done
  ;;
quorum)
  # Fails without /etc/pve, or when pmxcfs is read-only (no quorum).
  [ -d "$root/etc/pve" ] || exit "$EXIT_NO_PMXCFS"
  probe=$root/etc/pve/.lugc-quorum-probe.$$
  if (: > "$probe") 2> /dev/null; then rm -f -- "$probe"; else exit "$EXIT_NO_QUORUM"; fi
  ;;
action)
  # ARGS: SECONDS RUNNER ACTION [ID CONFIRM]. Runs RUNNER ACTION with LUGC_ROOT
  # set to the root, stopped after SECONDS (EXIT_TIMED_OUT) or as soon as lugc's
  # connection closes; never left behind. With the id of an armed push, its
  # revert waits while the action runs and fires CONFIRM seconds after it
  # ended, unless disarmed.
  limit=$1 runner=$2 action=$3 armed=${4:-} confirm=${5:-0}
  postpone "$armed" "$((limit + 15 + confirm))"
  # RUNNER is a command line of the operator's, split into words.
  # shellcheck disable=SC2086
  LUGC_ROOT=$root timeout --kill-after=10 "$limit" $runner "$action" < /dev/null &
  pid=$!
  # A background list reads /dev/null unless told otherwise: give it lugc's input.
  exec 3<&0
  { cat > /dev/null; kill -TERM "$pid"; } <&3 > /dev/null 2>&1 &
  watcher=$!
  exec 3<&-
  wait "$pid"
  status=$?
  kill "$watcher" 2> /dev/null
  postpone "$armed" "$confirm"
  exit "$status"
  ;;
arm)
  # ARGS: ID SECONDS LIMIT RUNNER BUNDLE BUNDLE_ID; input: this script.
  # Arms the revert of push ID, in a process of its own outside this
  # connection: unless `disarm` comes first, SECONDS after the push's last
  # action ended it puts back what the pushes in backup/ID/PUSHES replaced,
  # runs backup/ID/ACTIONS again and records that it reverted.
  id=$1 seconds=$2
  dir=$state/backup/$id
  { [ -d "$root/$dir" ] && link_free "$dir"; } || fail "no backup directory $root/$dir"
  (set -C && cat > "$root/$dir/revert.sh") || {
    rm -f -- "$root/$dir/revert.sh"
    fail "cannot write $root/$dir/revert.sh"
  }
  postpone "$id" "$seconds"
  : > "$root/$dir/ARMED" || fail "cannot write $root/$dir/ARMED"
  cd / || fail "cannot leave $root"
  setsid sh "$root/$dir/revert.sh" revert "$root" "$@" < /dev/null > /dev/null 2>&1 &
  # setsid runs in the background job's process: $! is the revert's pid.
  printf '%s\n' "$!" | replace "$root/$dir/PID"
  ;;
abandon)
  # ARGS: ID. The revert of push ID will never run: its process is gone
  # before its deadline (the host restarted, its clock is behind). Its
  # ARMED or REVERTING becomes ABANDONED; refused while the process runs.
  push_id "$1" || fail "not a push id"
  checked "$state/backup/$1"
  dir=$root/$state/backup/$1
  [ "$(revert_process "$dir")" = gone ] || fail "the revert of push $1 is not known to be gone"
  mv -T -- "$dir/ARMED" "$dir/ABANDONED" 2> /dev/null ||
    mv -T -- "$dir/REVERTING" "$dir/ABANDONED" 2> /dev/null ||
    fail "push $1 has no revert armed"
  ;;
hasten)
  # ARGS: ID. The push failed: its armed revert fires now.
  link_free "$state/backup/$1" || fail "$root/$state/backup/$1 lies behind a symbolic link" "$EXIT_LINK"
  [ -f "$root/$state/backup/$1/ARMED" ] || fail "push $1 has no revert armed"
  postpone "$1" 0
  ;;
disarm)
  # ARGS: ID. The push is confirmed: its revert will not run, unless it
  # began. Says `ready`, then waits for lugc's `confirm ID` on its input: a
  # connection that outlives its lugc confirms nothing.
  dir=$root/$state/backup/$1
  link_free "$state/backup/$1" || fail "$dir lies behind a symbolic link" "$EXIT_LINK"
  printf 'ready\n'
  IFS= read -r answer || exit "$EXIT_NOT_CONFIRMED"
  [ "$answer" = "confirm $1" ] || exit "$EXIT_NOT_CONFIRMED"
  mv -T -- "$dir/ARMED" "$dir/CONFIRMED" 2> /dev/null || [ -f "$dir/CONFIRMED" ] || exit "$EXIT_REVERT_BEGAN"
  ;;
revert)
  # ARGS: as arm's. Waits for the deadline (DEADLINE, which `action` moves)
  # unless disarmed; then puts back, latest push first, each path of the
  # pushes' BEFORE: the kept file or its absence, mode and owner; no other
  # path. Then runs ACTIONS: those of the paths put back, which lugc wrote
  # when it armed the revert.
  id=$1 limit=$3 runner=$4 bundle=$5 bundle_id=$6
  dir=$root/$state/backup/$id
  while [ -f "$dir/ARMED" ]; do
    deadline=$(number_in "$dir/DEADLINE")
    [ "$(date +%s)" -lt "${deadline:-0}" ] || break
    sleep 1
  done
  mv -T -- "$dir/ARMED" "$dir/REVERTING" 2> /dev/null || exit 0
  exec >> "$dir/REVERT.log" 2>&1
  printf 'reverting at %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  tac -- "$dir/PUSHES" | while IFS= read -r push; do
    push_id "$push" || continue
    kept=$root/$state/backup/$push
    # Version 1 and 2 alike: only `present` and `absent` lines name paths.
    while read -r kind hash mode owner path; do
      case $kind in
        absent) path=$hash ;;
        present) ;;
        *) continue ;;
      esac
      case $path in /*) ;; *) continue ;; esac
      if ! link_free "${path#/}"; then
        printf 'not restored: %s is not canonical or a directory of it is a symbolic link\n' "$path"
        : > "$dir/INCOMPLETE"
        continue
      fi
      if [ "$kind" = absent ]; then
        rm -f -- "$root$path"
        continue
      fi
      if [ -f "$kept/files$path" ]; then
        new=${root}${path%/*}/.lugc-revert.$$
        if ! { cp -p -- "$kept/files$path" "$new" 2> /dev/null || cp -- "$kept/files$path" "$new"; } ||
          ! mv -f -- "$new" "$root$path"; then
          rm -f -- "$new"
          printf 'not restored: %s\n' "$path"
          : > "$dir/INCOMPLETE"
        fi
      fi
      chmod "$mode" -- "$root$path" 2> /dev/null
      chown -- "$owner" "$root$path" 2> /dev/null
    done < "$kept/BEFORE"
  done
  while IFS= read -r action; do
    printf 'running: %s\n' "$action"
    # shellcheck disable=SC2086
    LUGC_ROOT=$root timeout --kill-after=10 "$limit" $runner "$action" < /dev/null || {
      printf 'failed: %s\n' "$action"
      : > "$dir/INCOMPLETE"
    }
  done < "$dir/ACTIONS"
  pending=$root/$state/$bundle.PENDING
  if [ -f "$pending" ] && link_free "$state/$bundle.PENDING"; then
    if ! left=$(grep -vxF -f "$dir/PUSHES" -- "$pending"); then
      : > "$dir/INCOMPLETE"
    elif [ "$(printf '%s\n' "$left" | wc -l)" -gt 1 ]; then
      printf '%s\n' "$left" | replace "$pending" || : > "$dir/INCOMPLETE"
    else
      rm -f -- "$pending"
    fi
  fi
  reverted=$root/$state/$bundle.REVERTED
  outcome=complete
  [ ! -f "$dir/INCOMPLETE" ] || outcome=incomplete
  printf 'lugc-reverted 1\npush %s\nbundle %s\nat %s\noutcome %s\n' "$id" "$bundle_id" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$outcome" | replace "$reverted"
  mv -T -- "$dir/REVERTING" "$dir/REVERTED"
  ;;
*)
  fail "unknown command $command"
  ;;
esac
