#!/bin/sh
# A simulated database server for the volume-swap tests (pg-hosts.ts keeps its folder in step with
# the EC2 emulator). A server is a folder:
#   dev/<volumeId>   the volume's block device: present while EC2 shows the volume attached here
#   mnt/0, mnt/1     the mounted volumes, in the order given (0: the data volume, 1: a WAL volume)
#   port, server.opts  this server's PostgreSQL port and options (as /etc/postgresql would hold them)
# and PostgreSQL runs on the data directory of the mounted data volume (mnt/0/pgdata).
#
#   sim-host.sh init <data volume folder> [<WAL volume folder>]   initdb onto fresh volumes
#   sim-host.sh start <server> <volumeIds>   mount, then start; "already running" when the port answers
#                                            (as `systemctl start postgresql` does with any cluster up)
#   sim-host.sh stop <server>                stop cleanly, print pg_controldata, unmount
#   sim-host.sh verify-down <server>         succeed only when nothing is mounted
#   sim-host.sh halt <data directory>        immediate stop wherever it runs (test cleanup)
#
# PG_BINDIR: where the PostgreSQL tools are (default: pg_config --bindir). As root the tools run as
# the postgres user.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
HOOKS="$HERE/../../../scripts/hooks"
BINDIR="${PG_BINDIR:-$(pg_config --bindir)}"
export PG_BINDIR="$BINDIR"
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    RUNUSER=$(command -v runuser || echo /usr/sbin/runuser)
    "$RUNUSER" -u postgres -- "$@"
  else
    "$@"
  fi
}
ACTION="${1:-}"
shift || true
case "$ACTION" in
  init)
    DATA="$1/pgdata"
    cd "$1"
    if [ -n "${2:-}" ]; then
      as_owner "$BINDIR/initdb" -D "$DATA" -X "$2/pg_wal" -U postgres -A trust -E UTF8 --locale=C -N --no-instructions >/dev/null
    else
      as_owner "$BINDIR/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C -N --no-instructions >/dev/null
    fi
    printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' >"$DATA/pg_hba.conf"
    printf "\nshared_buffers = 16MB\nmax_connections = 40\nfsync = off # throwaway clusters only\n" >>"$DATA/postgresql.conf"
    ;;
  start)
    SERVER="$1"
    PORT=$(cat "$SERVER/port")
    if "$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
      echo "already running on port $PORT"
      exit 0
    fi
    i=0
    for VOLUME in $(echo "$2" | tr ',' ' '); do
      [ -e "$SERVER/dev/$VOLUME" ] || { echo "$VOLUME is not attached to this server" >&2; exit 3; }
      ln -sfn "$SERVER/dev/$VOLUME" "$SERVER/mnt/$i"
      i=$((i + 1))
    done
    DATA="$SERVER/mnt/0/pgdata"
    [ -d "$DATA" ] || { echo "no data directory on the data volume" >&2; exit 3; }
    # Where this server mounts the WAL volume (on a real server, the same path everywhere).
    if [ -e "$SERVER/mnt/1" ]; then ln -sfn "$SERVER/mnt/1/pg_wal" "$DATA/pg_wal"; fi
    cd "$SERVER"
    as_owner "$BINDIR/pg_ctl" start -D "$DATA" -o "$(cat "$SERVER/server.opts")" -w -t 60 -l "$SERVER/postgres.log" >/dev/null
    echo "started on port $PORT"
    ;;
  stop)
    SERVER="$1"
    DATA="$SERVER/mnt/0/pgdata"
    if [ -d "$DATA" ]; then "$HOOKS/postgres-stop.sh" "$DATA"; fi
    rm -f "$SERVER"/mnt/*
    ;;
  verify-down)
    SERVER="$1"
    MOUNTED=$(ls -A "$SERVER/mnt")
    if [ -n "$MOUNTED" ]; then
      echo "still mounted: $MOUNTED" >&2
      exit 1
    fi
    echo "nothing mounted"
    ;;
  halt)
    cd /
    if [ -f "$1/postmaster.pid" ]; then as_owner "$BINDIR/pg_ctl" stop -D "$1" -m immediate -w >/dev/null 2>&1 || true; fi
    ;;
  *)
    echo "usage: $0 init|start|stop|verify-down|halt ..." >&2
    exit 2
    ;;
esac
