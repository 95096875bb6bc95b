#!/bin/sh
MYSQL_PWD=S3cr3tMysqlPwd mysqldump --all-databases > /srv/backup/all.sql
