# Shared by the PostgreSQL hook scripts here (sourced, not run). Sets BINDIR and defines as_owner,
# which runs a PostgreSQL tool as the postgres user when the hook runs as root (the tools refuse
# root), then moves to a folder that user may enter.
#   PG_BINDIR: where pg_ctl, pg_controldata, pg_rewind and psql are (default: pg_config --bindir)
BINDIR="${PG_BINDIR:-$(pg_config --bindir)}"
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    RUNUSER=$(command -v runuser || echo /usr/sbin/runuser)
    "$RUNUSER" -u postgres -- "$@"
  else
    "$@"
  fi
}
cd "$DATA/.." 2>/dev/null || cd /
