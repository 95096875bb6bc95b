# shellcheck shell=sh disable=SC2154
# Sourced by the bench scripts: start an sshd on 127.0.0.1 that stands for
# every host, with throwaway keys in the caller's $work, and set $port.
# $work/authorized_keys is read at each login: a caller may rewrite it.
# Needs sshd and ssh-keygen (openssh-server), and root (sshd's privilege
# separation).
ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/client_key"
cp "$work/client_key.pub" "$work/authorized_keys"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$work/sshd_config" <<CONFIG
ListenAddress 127.0.0.1
Port $port
HostKey $work/host_key
AuthorizedKeysFile $work/authorized_keys
PidFile $work/sshd.pid
StrictModes no
UsePAM no
PermitRootLogin yes
PasswordAuthentication no
MaxStartups 100
MaxSessions 100
CONFIG
mkdir -p /run/sshd
"$(command -v sshd || echo /usr/sbin/sshd)" -f "$work/sshd_config"
sleep 0.5
