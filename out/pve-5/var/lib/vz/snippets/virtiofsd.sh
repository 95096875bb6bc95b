#!/bin/sh
# PVE hookscript, rendered by lugc from cluster.ncl: qemu-server runs it as
# `virtiofsd.sh VMID PHASE`. In pre-start it stops a virtiofsd left over from
# an earlier start, removes its stale socket, and starts virtiofsd for the VM's
# share as a transient unit; --collect lets systemd clean the unit up however
# it exits. The shared directory must exist, or the VM does not start.
set -eu

if [ "$#" -ne 2 ]; then
  echo "usage: virtiofsd.sh VMID PHASE" >&2
  exit 2
fi
vmid="$1"
phase="$2"

case "${vmid}" in
  230) shared_dir="/srv/mirrorlog"; set -- --announce-submounts --inode-file-handles=mandatory ;;
  *) exit 0 ;;
esac

unit="virtiofsd-${vmid}"
socket="/run/${unit}.sock"

case "${phase}" in
  pre-start)
    if [ ! -d "${shared_dir}" ]; then
      echo "virtiofsd.sh: VM ${vmid}: shared directory ${shared_dir} does not exist; not starting virtiofsd" >&2
      exit 1
    fi
    systemctl stop "${unit}.service" 2>/dev/null || true
    rm -f "${socket}" "${socket}.pid"
    systemd-run --collect --unit="${unit}" \
      /usr/libexec/virtiofsd \
      --syslog \
      --socket-path "${socket}" \
      --shared-dir "${shared_dir}" \
      "$@"
    ;;
  post-start | pre-stop | post-stop) ;;
  *)
    echo "virtiofsd.sh: unknown phase ${phase}" >&2
    exit 2
    ;;
esac
