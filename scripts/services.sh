#!/usr/bin/env bash
# Project-local PostgreSQL and Redis for development and tests.
#
#   scripts/services.sh {up|down|status} [run|test]
#
# Profiles (ports can be overridden with PG_PORT / REDIS_PORT):
#   run   PostgreSQL 127.0.0.1:25432, Redis 127.0.0.1:26379 (Redis with appendonly)
#   test  PostgreSQL 127.0.0.1:25433, Redis 127.0.0.1:26380 (Redis without persistence)
#
# Data lives under .data/<profile>/ in the repository. Never uses the system-wide
# (Debian/systemd) clusters or services. Installs the postgresql / redis-server
# packages with apt-get when their binaries are missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"

usage() {
  echo "usage: $0 {up|down|status} [run|test]" >&2
  exit 2
}

ACTION="${1:-}"
PROFILE="${2:-run}"
case "$ACTION" in up | down | status) ;; *) usage ;; esac
case "$PROFILE" in
  run) DEF_PG_PORT=25432 DEF_REDIS_PORT=26379 ;;
  test) DEF_PG_PORT=25433 DEF_REDIS_PORT=26380 ;;
  *) usage ;;
esac
PG_PORT="${PG_PORT:-$DEF_PG_PORT}"
REDIS_PORT="${REDIS_PORT:-$DEF_REDIS_PORT}"

DATA="$ROOT/.data/$PROFILE"
REDIS_DIR="$DATA/redis"

log() { echo "[services:$PROFILE] $*"; }
die() { echo "[services:$PROFILE] error: $*" >&2; exit 1; }

IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1

# ---------------------------------------------------------------- packages

apt_install() {
  [ "$IS_ROOT" -eq 1 ] || die "missing package(s) $*; install them (apt-get install $*) or run as root"
  log "installing $* with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "$@" >/tmp/herald-apt.log 2>&1; then
    log "apt-get install failed; running apt-get update and retrying"
    apt-get update >>/tmp/herald-apt.log 2>&1 || true
    apt-get install -y --no-install-recommends "$@" >>/tmp/herald-apt.log 2>&1 ||
      { tail -n 30 /tmp/herald-apt.log >&2; die "apt-get install $* failed"; }
  fi
}

find_pg_bin() {
  if [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/pg_ctl" ]; then
    echo "$PG_BIN"
    return 0
  fi
  local d
  # Highest installed major version first.
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -rn); do
    if [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then
      echo "$d"
      return 0
    fi
  done
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
    return 0
  fi
  return 1
}

ensure_pg_installed() {
  if ! PGBIN="$(find_pg_bin)"; then
    apt_install postgresql
    PGBIN="$(find_pg_bin)" || die "PostgreSQL binaries not found after installing postgresql"
  fi
  for t in pg_isready createdb psql; do
    [ -x "$PGBIN/$t" ] || die "$PGBIN/$t missing"
  done
}

ensure_redis_installed() {
  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    apt_install redis-server redis-tools
    command -v redis-server >/dev/null 2>&1 || die "redis-server not found after install"
  fi
}

# ---------------------------------------------------------------- PostgreSQL

# PostgreSQL refuses to run as root: run it as the postgres OS user when we are root.
PG_USER=""
if [ "$IS_ROOT" -eq 1 ]; then PG_USER=postgres; fi

as_pg() {
  if [ -n "$PG_USER" ]; then
    # cd / first: the caller's working directory may not be reachable by that user.
    (cd / && runuser -u "$PG_USER" -- "$@")
  else
    "$@"
  fi
}

ensure_pg_user() {
  [ -n "$PG_USER" ] || return 0
  if ! id -u "$PG_USER" >/dev/null 2>&1; then
    log "creating OS user $PG_USER"
    useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash "$PG_USER"
  fi
}

# Where the PostgreSQL data dir, socket dir and log live. Normally .data/<profile>/; if the postgres
# user cannot reach the repository (e.g. a clone under /root), fall back to a directory under
# /var/tmp that is keyed on the repository path.
pg_base() {
  if [ -z "$PG_USER" ] || runuser -u "$PG_USER" -- test -x "$DATA" 2>/dev/null; then
    echo "$DATA"
  else
    local key
    key="$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)"
    echo "/var/tmp/herald-$key/$PROFILE"
  fi
}

setup_pg_paths() {
  mkdir -p "$DATA"
  chmod 755 "$ROOT/.data" "$DATA"
  PG_BASE="$(pg_base)"
  if [ "$PG_BASE" != "$DATA" ]; then
    mkdir -p "$PG_BASE"
    chmod 755 "$(dirname "$PG_BASE")" "$PG_BASE"
    log "postgres user cannot reach $DATA; keeping PostgreSQL files in $PG_BASE"
  fi
  PGDATA_DIR="$PG_BASE/pg"
  PG_SOCK="$PG_BASE/pgsocket"
  PG_LOG="$PG_BASE/pg.log"
}

# Non-creating variant for status/down.
resolve_pg_paths() {
  PG_BASE="$DATA"
  if [ ! -d "$DATA/pg" ]; then
    local key
    key="$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)"
    [ -d "/var/tmp/herald-$key/$PROFILE/pg" ] && PG_BASE="/var/tmp/herald-$key/$PROFILE"
  fi
  PGDATA_DIR="$PG_BASE/pg"
  PG_SOCK="$PG_BASE/pgsocket"
  PG_LOG="$PG_BASE/pg.log"
}

pg_ours_running() {
  [ -f "$PGDATA_DIR/PG_VERSION" ] && as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1
}

pg_ready() {
  "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2 >/dev/null 2>&1
}

pg_initdb() {
  local locale_args=(--locale=C.UTF-8)
  if ! locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
    locale_args=(--no-locale)
  fi
  log "initdb $PGDATA_DIR"
  rm -rf "$PGDATA_DIR"
  mkdir -p "$PGDATA_DIR"
  chmod 700 "$PGDATA_DIR"
  if [ -n "$PG_USER" ]; then chown "$PG_USER" "$PGDATA_DIR"; fi
  if ! as_pg "$PGBIN/initdb" -D "$PGDATA_DIR" -A trust -U herald --encoding=UTF8 "${locale_args[@]}" \
    >"$PG_BASE/initdb.log" 2>&1; then
    if [ "${locale_args[0]}" != "--no-locale" ]; then
      log "initdb with C.UTF-8 failed; retrying with --no-locale"
      rm -rf "$PGDATA_DIR"
      mkdir -p "$PGDATA_DIR"
      chmod 700 "$PGDATA_DIR"
      if [ -n "$PG_USER" ]; then chown "$PG_USER" "$PGDATA_DIR"; fi
      as_pg "$PGBIN/initdb" -D "$PGDATA_DIR" -A trust -U herald --encoding=UTF8 --no-locale \
        >"$PG_BASE/initdb.log" 2>&1 || { cat "$PG_BASE/initdb.log" >&2; die "initdb failed"; }
    else
      cat "$PG_BASE/initdb.log" >&2
      die "initdb failed"
    fi
  fi
  # Dev/test tuning; everything else (fsync, synchronous_commit, wal_level) stays at the defaults.
  # Port, listen address and socket dir are passed on the command line at each start so that
  # PG_PORT overrides and a moved checkout keep working.
  cat >>"$PGDATA_DIR/postgresql.conf" <<'EOF'

# --- herald (scripts/services.sh) ---
max_connections = 300
shared_buffers = 256MB
max_wal_size = 2GB
log_min_messages = warning
# A session left idle inside a transaction (a hung client, a killed test)
# would hold back every commit-order reader of its database; end it.
idle_in_transaction_session_timeout = '5min'
EOF
}

pg_up() {
  ensure_pg_installed
  ensure_pg_user
  setup_pg_paths
  if pg_ours_running; then
    local i
    for i in $(seq 1 60); do
      pg_ready && break
      sleep 1
    done
    pg_ready || die "postgres ($PGDATA_DIR) is running but does not answer on 127.0.0.1:$PG_PORT"
    log "postgres already running on 127.0.0.1:$PG_PORT"
  elif pg_ready; then
    log "warning: a PostgreSQL not from $PGDATA_DIR already answers on 127.0.0.1:$PG_PORT; using it"
  else
    if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
      pg_initdb
    fi
    mkdir -p "$PG_SOCK"
    touch "$PG_LOG"
    if [ -n "$PG_USER" ]; then
      chown -R "$PG_USER" "$PGDATA_DIR"
      chown "$PG_USER" "$PG_SOCK" "$PG_LOG"
    fi
    log "starting postgres on 127.0.0.1:$PG_PORT"
    if ! as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$PG_LOG" -w -t 120 \
      -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k '$PG_SOCK'" start >/dev/null; then
      tail -n 30 "$PG_LOG" >&2 || true
      die "postgres failed to start (log: $PG_LOG)"
    fi
  fi
  local out
  if out="$("$PGBIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U herald herald 2>&1)"; then
    log "created database herald"
  elif grep -q "already exists" <<<"$out"; then
    :
  else
    echo "$out" >&2
    die "createdb herald failed"
  fi
}

pg_down() {
  PGBIN="$(find_pg_bin)" || { log "postgres not installed"; return 0; }
  resolve_pg_paths
  if pg_ours_running; then
    log "stopping postgres on 127.0.0.1:$PG_PORT"
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null
  else
    log "postgres not running"
  fi
}

pg_status() {
  PGBIN="$(find_pg_bin)" || { log "postgres: not installed"; return 0; }
  resolve_pg_paths
  if pg_ours_running; then
    if pg_ready; then
      log "postgres: running on 127.0.0.1:$PG_PORT (data $PGDATA_DIR)"
    else
      log "postgres: running (data $PGDATA_DIR) but not answering on 127.0.0.1:$PG_PORT"
    fi
  elif pg_ready; then
    log "postgres: something else answers on 127.0.0.1:$PG_PORT"
  else
    log "postgres: stopped"
  fi
}

# ---------------------------------------------------------------- Redis

redis_ping() {
  [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null || true)" = "PONG" ]
}

redis_up() {
  ensure_redis_installed
  if redis_ping; then
    log "redis already running on 127.0.0.1:$REDIS_PORT"
    return 0
  fi
  mkdir -p "$REDIS_DIR"
  local pidfile="$REDIS_DIR/redis.pid"
  if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null; then
    rm -f "$pidfile"
  fi
  local persist=(--appendonly yes)
  if [ "$PROFILE" = test ]; then
    persist=(--appendonly no --save "")
  fi
  log "starting redis on 127.0.0.1:$REDIS_PORT"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --protected-mode no \
    --dir "$REDIS_DIR" --pidfile "$pidfile" --logfile "$REDIS_DIR/redis.log" "${persist[@]}" >/dev/null
  local i
  for i in $(seq 1 100); do
    redis_ping && return 0
    sleep 0.1
  done
  tail -n 30 "$REDIS_DIR/redis.log" >&2 || true
  die "redis failed to start (log: $REDIS_DIR/redis.log)"
}

redis_down() {
  if ! command -v redis-cli >/dev/null 2>&1; then
    log "redis not installed"
    return 0
  fi
  if redis_ping; then
    log "stopping redis on 127.0.0.1:$REDIS_PORT"
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    local i
    for i in $(seq 1 50); do
      redis_ping || return 0
      sleep 0.1
    done
    die "redis on 127.0.0.1:$REDIS_PORT did not stop"
  else
    log "redis not running"
  fi
}

redis_status() {
  if ! command -v redis-cli >/dev/null 2>&1; then
    log "redis: not installed"
  elif redis_ping; then
    log "redis: running on 127.0.0.1:$REDIS_PORT"
  else
    log "redis: stopped"
  fi
}

# ---------------------------------------------------------------- main

case "$ACTION" in
  up)
    pg_up
    redis_up
    echo "DATABASE_URL=postgres://herald@127.0.0.1:$PG_PORT/herald?sslmode=disable"
    echo "REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
    ;;
  down)
    pg_down
    redis_down
    ;;
  status)
    pg_status
    redis_status
    ;;
esac
