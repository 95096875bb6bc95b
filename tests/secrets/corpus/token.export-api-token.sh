#!/bin/sh
export API_TOKEN=S3cr3tApiTokenValue
exec /usr/local/bin/sync-dns
