#!/bin/sh
set -eu
source="$1"
password="$2"
token=$(cat /etc/pve/priv/backup.token)
echo $HOME $1 $$ price=$5$
export PGPASSFILE=/root/.pgpass
