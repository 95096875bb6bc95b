#!/bin/bash
# PVE hookscript, rendered by lugc from cluster.ncl: qemu-server runs it as
# `virtiofsd.sh VMID PHASE`. In pre-start it starts virtiofsd for the VM's share
# as a transient unit; --collect lets systemd clean the unit up however it exits.
set -euo pipefail

vmid="${1:?usage: virtiofsd.sh VMID PHASE}"
phase="${2:?usage: virtiofsd.sh VMID PHASE}"

case "${vmid}" in
  230) shared_dir="/srv/mirrorlog" ;;
  *) exit 0 ;;
esac

if [[ "${phase}" == "pre-start" ]]; then
  systemd-run --collect --unit="virtiofsd-${vmid}" \
    /usr/libexec/virtiofsd \
    --socket-path="/run/virtiofsd-${vmid}.sock" \
    --shared-dir="${shared_dir}" \
    --cache=auto \
    --announce-submounts
fi
