#!/bin/sh
# Start hook for cutover-bot's stop fence (`fence: { mode: stop, start: ... }`): starts the PostgreSQL
# server of a data directory again, as an undo does when a run is aborted before the promotion. Safe
# to run again on a running server.
#
#   postgres-start.sh <data directory> [log file]   (or PGDATA in the hook's env)
#   PG_BINDIR: where pg_ctl is (default: pg_config --bindir)
set -eu
DATA="${1:-${PGDATA:-}}"
[ -n "$DATA" ] || { echo "usage: $0 <data directory> [log file]" >&2; exit 2; }
LOG="${2:-$DATA/../postgresql-start.log}"
. "$(dirname "$0")/postgres-lib.sh"
if as_owner "$BINDIR/pg_ctl" status -D "$DATA" >/dev/null 2>&1; then
  echo "already running"
  exit 0
fi
as_owner "$BINDIR/pg_ctl" start -D "$DATA" -w -t "${START_TIMEOUT:-60}" -l "$LOG"
