#!/usr/bin/env bash
# `make run`: local PostgreSQL/Redis (run profile), build, migrate, groups, superuser, a local SMTP
# sink, then `herald serve` in the foreground.
#
# Configuration: the binary itself reads `.env` in the working directory (the repository root here),
# and the environment wins over `.env`. This script therefore only sets a *default* for a variable
# that neither the environment nor `.env` defines:
#
#   DATABASE_URL               postgres://herald@127.0.0.1:$PG_PORT/herald?sslmode=disable  (run profile, 25432)
#   REDIS_URL                  redis://127.0.0.1:$REDIS_PORT/0                              (run profile, 26379)
#   HTTP_ADDR                  127.0.0.1:8080
#   PUBLIC_BASE_URL            http://127.0.0.1:8080
#   MAIL_FROM                  Herald <herald@herald.localhost>
#   UNSUBSCRIBE_SECRET         generated once into .data/unsubscribe-secret and reused, so the
#                              unsubscribe links of mail sent earlier keep working
#   LOG_FORMAT                 console
#   HERALD_SUPERUSER_EMAIL     admin@herald.local   (used by `herald ccsu`)
#   HERALD_SUPERUSER_PASSWORD  change-me-now        (used by `herald ccsu`; change it!)
#
# Unless SMTP_URL is defined (environment or .env), `herald smtp-sink` is started in the background
# on 127.0.0.1:2525 storing messages under .data/mail, SMTP_URL points at it, and it is stopped when
# this script exits.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
export PATH="/usr/local/go/bin:${HOME:-/root}/go/bin:$PATH"

log() { echo "[run] $*"; }

# defined VAR: true when VAR is set in the environment or assigned in ./.env
defined() {
  local v="$1"
  [ -n "${!v+x}" ] && return 0
  [ -f .env ] && grep -Eq "^[[:space:]]*(export[[:space:]]+)?${v}=" .env && return 0
  return 1
}

# default VAR VALUE: export VAR=VALUE unless the environment or .env defines it
default() {
  if ! defined "$1"; then
    export "$1=$2"
  fi
}

PG_PORT="${PG_PORT:-25432}"
REDIS_PORT="${REDIS_PORT:-26379}"
PG_PORT="$PG_PORT" REDIS_PORT="$REDIS_PORT" scripts/services.sh up run >/dev/null
log "services up (postgres 127.0.0.1:$PG_PORT, redis 127.0.0.1:$REDIS_PORT)"

default DATABASE_URL "postgres://herald@127.0.0.1:$PG_PORT/herald?sslmode=disable"
default REDIS_URL "redis://127.0.0.1:$REDIS_PORT/0"
default HTTP_ADDR "127.0.0.1:8080"
default PUBLIC_BASE_URL "http://127.0.0.1:8080"
default MAIL_FROM "Herald <herald@herald.localhost>"
if ! defined UNSUBSCRIBE_SECRET; then
  mkdir -p .data
  [ -s .data/unsubscribe-secret ] || head -c 32 /dev/urandom | base64 | tr -d '\n' >.data/unsubscribe-secret
  export UNSUBSCRIBE_SECRET="$(cat .data/unsubscribe-secret)"
fi
default LOG_FORMAT "console"
default HERALD_SUPERUSER_EMAIL "admin@herald.local"
default HERALD_SUPERUSER_PASSWORD "change-me-now"

log "go build -o bin/herald ./cmd/herald"
go build -o bin/herald ./cmd/herald

log "herald migrate up"
bin/herald migrate up
log "herald create-groups"
bin/herald create-groups
log "herald ccsu"
if ! bin/herald ccsu; then
  log "ccsu failed (the superuser probably exists already); continuing"
fi

if defined SMTP_URL; then
  log "SMTP_URL is set; not starting the SMTP sink"
  log "herald serve"
  exec bin/herald serve
fi

mkdir -p .data/mail
bin/herald smtp-sink --addr 127.0.0.1:2525 --dir .data/mail &
SINK_PID=$!
cleanup() {
  if kill -0 "$SINK_PID" 2>/dev/null; then
    kill "$SINK_PID" 2>/dev/null || true
    wait "$SINK_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
log "smtp-sink on 127.0.0.1:2525 (pid $SINK_PID), messages in .data/mail"
export SMTP_URL="smtp://127.0.0.1:2525"

# Give the sink a moment to listen (or to fail, e.g. when the port is taken).
for _ in $(seq 1 50); do
  if ! kill -0 "$SINK_PID" 2>/dev/null; then
    log "smtp-sink exited early (port 2525 in use?)"
    break
  fi
  if (exec 3<>/dev/tcp/127.0.0.1/2525) 2>/dev/null; then
    break
  fi
  sleep 0.1
done

log "herald serve"
# Not exec'd, so the trap can stop the sink when serve exits.
bin/herald serve
