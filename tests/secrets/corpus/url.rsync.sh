#!/bin/sh
rsync -a /srv/ rsync://backup:S3cr3tRsync@backup.example.org/srv/
