#!/bin/sh
# Stop fence hook for cutover-bot (`fence: { mode: stop, stop: ... }`): stops the PostgreSQL server
# of a data directory cleanly, then prints its pg_controldata. The bot reads two lines of it:
# "Database cluster state: shut down" (a clean shutdown, whose last WAL the standby has streamed) and
# "Latest checkpoint location" (the standby must have replayed past it before it is promoted).
#
# Safe to run again on a stopped server (the bot reruns it after a crash): it then only prints.
#
#   postgres-stop.sh <data directory>        (or PGDATA in the hook's env)
#   PG_BINDIR: where pg_ctl and pg_controldata are (default: pg_config --bindir)
# As root it runs the tools as the postgres user. On a systemd host, `systemctl stop postgresql@15-main`
# followed by pg_controldata does the same.
set -eu
DATA="${1:-${PGDATA:-}}"
[ -n "$DATA" ] || { echo "usage: $0 <data directory>" >&2; exit 2; }
. "$(dirname "$0")/postgres-lib.sh"
if as_owner "$BINDIR/pg_ctl" status -D "$DATA" >/dev/null 2>&1; then
  PID=$(head -n 1 "$DATA/postmaster.pid")
  as_owner "$BINDIR/pg_ctl" stop -D "$DATA" -m fast -W
  # Waited for here, not by `pg_ctl -w`, which looks every 100 ms: the stop is inside the cutover's
  # write-unavailable window. Stopped is what pg_ctl waits for too: postmaster.pid removed (the
  # postmaster's last act after the shutdown checkpoint), or its process gone.
  LOOKS=$(( ${STOP_TIMEOUT:-60} * 200 ))
  while [ -e "$DATA/postmaster.pid" ] && kill -0 "$PID" 2>/dev/null; do
    LOOKS=$((LOOKS - 1))
    [ "$LOOKS" -gt 0 ] || { echo "the server did not shut down within ${STOP_TIMEOUT:-60} s" >&2; exit 1; }
    sleep 0.005
  done
  echo "server stopped"
fi
as_owner "$BINDIR/pg_controldata" "$DATA"
