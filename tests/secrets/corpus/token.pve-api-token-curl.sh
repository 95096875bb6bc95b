#!/bin/sh
curl -fsS -H 'Authorization: PVEAPIToken=root@pam!ci=s3cr3t11-2222-3333-4444-555555555555' https://pve:8006/api2/json/version
