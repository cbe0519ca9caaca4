#!/bin/sh
# Route hook for cutover-bot with PgBouncer (`route` beside `pgbouncer`): rewrites one database
# entry of a pgbouncer.ini to point at the new primary. The bot RELOADs and RESUMEs PgBouncer itself
# afterwards. Safe to run again.
#
#   pgbouncer-repoint.sh [<pgbouncer.ini>] <database> <new host> <new port>
#     (the ini file from PGBOUNCER_INI when it is left out)
# e.g. route: { command: ['./scripts/hooks/pgbouncer-repoint.sh', '/etc/pgbouncer/pgbouncer.ini', 'orders', '{standby.host}', '{standby.port}'] }
# With several PgBouncer hosts, run this on each (ssh, your configuration management) from one script.
set -eu
if [ $# -eq 4 ]; then INI="$1"; shift; else INI="${PGBOUNCER_INI:-}"; fi
[ -n "$INI" ] && [ $# -eq 3 ] || { echo "usage: $0 [<pgbouncer.ini>] <database> <host> <port>" >&2; exit 2; }
DB="$1" HOST="$2" PORT="$3"
case "$DB$HOST$PORT" in *[!A-Za-z0-9_.:-]*) echo "refusing unusual characters in '$DB' '$HOST' '$PORT'" >&2; exit 2 ;; esac
grep -q "^[[:space:]]*$DB[[:space:]]*=" "$INI" || { echo "no database entry '$DB' in $INI" >&2; exit 1; }
TMP="$INI.cutover.$$"
# Replace host= and port= in the entry's line, keeping its other settings; add either one that the
# entry leaves out (PgBouncer would otherwise keep its default: port 5432, the Unix socket).
sed -E "/^[[:space:]]*$DB[[:space:]]*=/{s/host=[^[:space:]]+/host=$HOST/;s/port=[^[:space:]]+/port=$PORT/;/[[:space:]=]host=/!s/\$/ host=$HOST/;/[[:space:]=]port=/!s/\$/ port=$PORT/}" "$INI" > "$TMP"
cat "$TMP" > "$INI" # keep the file's owner and mode
rm -f "$TMP"
grep "^[[:space:]]*$DB[[:space:]]*=" "$INI"
