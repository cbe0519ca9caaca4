#!/bin/sh
# Rejoin hook for cutover-bot (`rejoin`): turns the old primary into a standby of the new one. It
# stops the old primary if it still runs, rewinds it with pg_rewind when its history went past the
# promotion (pg_rewind says "no rewind required" after a clean stop that the standby replayed), then
# starts it with standby.signal and a primary_conninfo naming the new primary. The bot then waits
# until it streams.
#
#   postgres-rejoin.sh [<data directory>] <new primary host> <new primary port>
#     (the data directory from PGDATA when it is left out); APPLICATION_NAME: how the new primary
#     will list it (default rejoined)
# e.g. rejoin: { command: ['./scripts/hooks/postgres-rejoin.sh', '/var/lib/postgresql/15/main', '{standby.host}', '{standby.port}'], timeout: 10m }
#   REPLICATION_USER: the role the standby streams as (default postgres); pg_rewind connects as
#   REWIND_USER (default the same). PG_BINDIR: where the tools are (default pg_config --bindir).
# Needs wal_log_hints = on or data checksums on the old primary for pg_rewind.
set -eu
if [ $# -ge 3 ]; then DATA="$1"; shift; else DATA="${PGDATA:-}"; fi
[ -n "$DATA" ] && [ $# -eq 2 ] || { echo "usage: $0 [<data directory>] <host> <port>" >&2; exit 2; }
HOST="$1" PORT="$2" NAME="${APPLICATION_NAME:-rejoined}"
REPL="${REPLICATION_USER:-postgres}"
REWIND="${REWIND_USER:-$REPL}"
. "$(dirname "$0")/postgres-lib.sh"
if as_owner "$BINDIR/pg_ctl" status -D "$DATA" >/dev/null 2>&1; then
  as_owner "$BINDIR/pg_ctl" stop -D "$DATA" -m fast -w -t 60
fi
# Right after a promotion the new primary's control file still names the old timeline until its
# first checkpoint: pg_rewind would then see "the same timeline" and rewind nothing.
as_owner "$BINDIR/psql" -X -q -d "host=$HOST port=$PORT user=$REWIND dbname=postgres" -c CHECKPOINT
# pg_rewind copies the source's configuration files into the target: keep the target's own.
SAVED="$DATA/../cutover-rejoin-config"
as_owner mkdir -p "$SAVED"
for f in postgresql.conf postgresql.auto.conf pg_hba.conf pg_ident.conf; do
  [ -f "$DATA/$f" ] && as_owner cp -p "$DATA/$f" "$SAVED/$f"
done
as_owner "$BINDIR/pg_rewind" --target-pgdata="$DATA" \
  --source-server="host=$HOST port=$PORT user=$REWIND dbname=postgres" --progress
for f in postgresql.conf postgresql.auto.conf pg_hba.conf pg_ident.conf; do
  [ -f "$SAVED/$f" ] && as_owner cp -p "$SAVED/$f" "$DATA/$f"
done
as_owner rm -rf "$SAVED"
as_owner touch "$DATA/standby.signal"
# postgresql.auto.conf is read last: a line here overrides an earlier one.
as_owner sh -c "printf '%s\n' \"primary_conninfo = 'host=$HOST port=$PORT user=$REPL application_name=$NAME'\" >> '$DATA/postgresql.auto.conf'"
as_owner "$BINDIR/pg_ctl" start -D "$DATA" -w -t 60 -l "${LOG:-$DATA/../postgresql-rejoin.log}"
