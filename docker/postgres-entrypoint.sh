#!/bin/sh
# First start: a cluster whose TCP logins need a password (scram-sha-256), a role and a
# database "aricb" owned by it (password $ARICB_DB_PASSWORD). Every start: postgres on
# 127.0.0.1:$PGPORT only, as the postgres user.
set -eu
port=${PGPORT:-5432}
data=/var/lib/postgresql/data
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_postgres="setpriv --reuid=postgres --regid=postgres --init-groups"
mkdir -p "$data" /var/run/postgresql
chown postgres:postgres "$data" /var/run/postgresql
if [ ! -s "$data/PG_VERSION" ]; then
  $as_postgres "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  $as_postgres "$bin/pg_ctl" -D "$data" -o "-h '' -k /var/run/postgresql" -w start >/dev/null
  password=$(printf "%s" "${ARICB_DB_PASSWORD:-aricb-secret}" | sed "s/'/''/g")
  $as_postgres "$bin/psql" -h /var/run/postgresql -U postgres -q \
    -c "CREATE ROLE aricb LOGIN PASSWORD '$password'" -c "CREATE DATABASE aricb OWNER aricb"
  $as_postgres "$bin/pg_ctl" -D "$data" -w stop >/dev/null
fi
exec $as_postgres "$bin/postgres" -D "$data" -h 127.0.0.1 -p "$port" -k /var/run/postgresql
