# scripts/lib.sh — helpers sourced by scripts/install-tools, scripts/test and scripts/run.
#
# Not executable on its own. Defines:
#   ROOT, TOOLS, VENV, NATS_BIN  paths inside the repository (.tools/ is gitignored);
#                                NATS_BIN is where install-tools puts nats-server
#   NATS_SERVER                  the nats-server the scripts run: $CHORUS_NATS_SERVER when
#                                set, else NATS_BIN
#   log / die                    messages on stderr, prefixed with the calling script's name
#   have CMD                     is CMD on PATH?
#   apt_install PKG...           apt-get install, running `apt-get update` once first
#   free_port                    prints a TCP port that is free on 127.0.0.1 right now
#   free_ports N                 prints N distinct such ports, one per line
#   ensure_postgres              exports DATABASE_URL: the given one, the local server, or a
#                                private cluster in .tools/pg that it installs and starts
#   ensure_database NAME         creates database NAME there if missing; DATABASE_URL names it
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
VENV="$TOOLS/venv"
NATS_BIN="$VENV/bin/nats-server"
# shellcheck disable=SC2034 # for the scripts that source this file
NATS_SERVER="${CHORUS_NATS_SERVER:-$NATS_BIN}"
# The oldest nats-server Chorus supports (Debian 12 ships 2.9, which is too old).
NATS_MIN_MAJOR=2
NATS_MIN_MINOR=10

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# Runs a command as root: directly when we are root, else through sudo when it exists.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif have sudo; then sudo "$@"
  else die "need root to run: $* (no sudo found)"
  fi
}

_APT_UPDATED=0
# apt_install PKG...: installs Debian packages, updating the package lists once per run.
apt_install() {
  have apt-get || die "apt-get not found: install these packages by hand: $*"
  if [ "$_APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
      die "apt-get update failed"
    _APT_UPDATED=1
  fi
  log "apt-get install $* (log: .tools/apt.log)"
  mkdir -p "$TOOLS"
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
    >>"$TOOLS/apt.log" 2>&1; then
    tail -n 30 "$TOOLS/apt.log" >&2
    die "apt-get install $* failed (full output: $TOOLS/apt.log)"
  fi
}

# free_port: prints a TCP port on 127.0.0.1 that nobody listens on at this moment.
free_port() { free_ports 1; }

# free_ports N: prints N distinct TCP ports on 127.0.0.1 that nobody listens on at this
# moment (all held open until every one is chosen, so none repeats). They are taken below
# the kernel's ephemeral range (ip_local_port_range) when there is room: a port picked from
# that range can be handed to some process's outgoing connection before the program meant
# to listen on it starts, and then that program fails with "address in use".
free_ports() {
  python3 - "$1" <<'PY'
import random, socket, sys
want = int(sys.argv[1])
try:
    ephemeral = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    ephemeral = 32768
low = 10000 if ephemeral > 10000 + 4 * want else None
held, tries = [], 0
while len(held) < want:
    tries += 1
    port = random.randrange(low, ephemeral) if low and tries < 10000 else 0
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        s.close()
        continue
    held.append(s)
print("\n".join(str(s.getsockname()[1]) for s in held))
PY
}

# nats_version_ok BIN: true when BIN runs and reports version >= NATS_MIN_MAJOR.NATS_MIN_MINOR.
nats_version_ok() {
  local out ver major minor
  out="$("$1" --version 2>/dev/null)" || return 1
  ver="$(printf '%s\n' "$out" | grep -oE '[0-9]+\.[0-9]+(\.[0-9]+)?' | head -n1)"
  [ -n "$ver" ] || return 1
  major="${ver%%.*}"; minor="${ver#*.}"; minor="${minor%%.*}"
  [ "$major" -gt "$NATS_MIN_MAJOR" ] ||
    { [ "$major" -eq "$NATS_MIN_MAJOR" ] && [ "$minor" -ge "$NATS_MIN_MINOR" ]; }
}

# pg_bin_dir: the directory holding initdb/pg_ctl of the newest installed Debian PostgreSQL.
pg_bin_dir() {
  local d
  d="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
  [ -n "$d" ] && [ -x "$d/initdb" ] && printf '%s\n' "$d"
}

# PG_PRIVATE_STARTED: set to 1 by ensure_postgres when it started the private cluster itself,
# so the caller can stop it again with stop_private_postgres.
PG_PRIVATE_STARTED=0
PG_DIR="$TOOLS/pg"

# ensure_pg_user: as root, makes sure the 'postgres' system user exists (Debian's package
# creates it; this covers a machine where only the binaries are present).
ensure_pg_user() {
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home --home-dir "$PG_DIR" postgres
}

# pg_as_owner CMD...: runs a Postgres server command as the cluster's owner. Postgres refuses
# to run as root, so as root that is the 'postgres' system user.
pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    ensure_pg_user
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# ensure_postgres: makes sure a Postgres answers and exports DATABASE_URL for it.
#  1. DATABASE_URL already set: trusted as is.
#  2. a server on 127.0.0.1:5432: postgres://postgres@127.0.0.1:5432/postgres.
#  3. otherwise a private cluster in .tools/pg (trust auth, a free port, its unix socket in
#     .tools/pg), installing Debian's postgresql first when initdb is missing. A cluster
#     already running there (from an earlier run) is reused; its port is in .tools/pg/port.
ensure_postgres() {
  if [ -n "${DATABASE_URL:-}" ]; then
    log "Postgres: using DATABASE_URL from the environment"
    export DATABASE_URL
    return 0
  fi
  if have pg_isready && pg_isready -q -h 127.0.0.1 -p 5432; then
    export DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
    log "Postgres: using the local server on 127.0.0.1:5432"
    return 0
  fi

  local bindir port
  bindir="$(pg_bin_dir || true)"
  if [ -z "$bindir" ]; then
    apt_install postgresql
    bindir="$(pg_bin_dir)" || die "postgresql installed but no initdb under /usr/lib/postgresql"
  fi
  mkdir -p "$PG_DIR"
  if [ "$(id -u)" -eq 0 ]; then ensure_pg_user; chown postgres "$PG_DIR"; fi

  if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
    log "Postgres: initdb in $PG_DIR/data (trust auth)"
    pg_as_owner "$bindir/initdb" -D "$PG_DIR/data" -U postgres --auth=trust >"$PG_DIR/initdb.log" 2>&1 ||
      die "initdb failed, see $PG_DIR/initdb.log"
  fi

  if [ -f "$PG_DIR/port" ] && pg_as_owner "$bindir/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; then
    port="$(cat "$PG_DIR/port")"
    log "Postgres: private cluster already running on 127.0.0.1:$port"
  else
    port="$(free_port)"
    log "Postgres: starting a private cluster on 127.0.0.1:$port (log: $PG_DIR/server.log)"
    pg_as_owner "$bindir/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR" start >/dev/null ||
      die "Postgres failed to start, see $PG_DIR/server.log"
    printf '%s\n' "$port" >"$PG_DIR/port"
    PG_PRIVATE_STARTED=1
  fi
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  log "Postgres: DATABASE_URL=$DATABASE_URL"
}

# ensure_database NAME: creates database NAME on the server of DATABASE_URL when missing and
# points DATABASE_URL at it.
ensure_database() {
  local name="$1" admin="${DATABASE_URL%/*}/postgres"
  have psql || apt_install postgresql-client
  if ! psql "$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
    log "Postgres: creating database $name"
    psql "$admin" -qc "CREATE DATABASE \"$name\"" >/dev/null || die "could not create database $name"
  fi
  export DATABASE_URL="${DATABASE_URL%/*}/$name"
}

# stop_private_postgres: stops the private cluster if ensure_postgres started it in this run.
stop_private_postgres() {
  [ "$PG_PRIVATE_STARTED" -eq 1 ] || return 0
  local bindir
  bindir="$(pg_bin_dir)" || return 0
  log "Postgres: stopping the private cluster"
  pg_as_owner "$bindir/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  PG_PRIVATE_STARTED=0
}
