#!/usr/bin/env bash
# Postfix and postgrey binaries for the private MTA that tests start (internal/mtatest).
#
#   scripts/mta.sh install
#
# Installs the Debian packages postfix and postgrey with apt-get when missing. Postfix is
# preseeded with "No configuration" so the system instance is never set up; the system
# postgrey service that the package starts is stopped. Tests run their own instances with
# private configuration, queues and ports, and depend on no system service.
set -euo pipefail

log() { echo "[mta] $*"; }
die() { echo "[mta] error: $*" >&2; exit 1; }

usage() {
  echo "usage: $0 install" >&2
  exit 2
}

have_binaries() {
  local b
  for b in /usr/sbin/postfix /usr/sbin/postconf /usr/sbin/postmap /usr/sbin/postgrey; do
    [ -x "$b" ] || return 1
  done
  id -u postfix >/dev/null 2>&1 && id -u postgrey >/dev/null 2>&1
}

apt_install() {
  [ "$(id -u)" -eq 0 ] || die "missing package(s) $*; install them (apt-get install $*) or run as root"
  log "installing $* with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  if ! apt-get install -y --no-install-recommends "$@" >/tmp/herald-apt-mta.log 2>&1; then
    log "apt-get install failed; running apt-get update and retrying"
    apt-get update >>/tmp/herald-apt-mta.log 2>&1 || true
    apt-get install -y --no-install-recommends "$@" >>/tmp/herald-apt-mta.log 2>&1 ||
      { tail -n 30 /tmp/herald-apt-mta.log >&2; die "apt-get install $* failed"; }
  fi
}

# The package's postinst starts postgrey on its default port where there is an init system
# that lets it; the tests never use that instance.
stop_system_postgrey() {
  local pidfile=/run/postgrey.pid pid
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  log "stopping the system postgrey service"
  if [ -x /etc/init.d/postgrey ]; then
    /etc/init.d/postgrey stop >/dev/null 2>&1 || true
  fi
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
  fi
}

install() {
  if ! have_binaries; then
    apt_install postfix postgrey
    have_binaries || die "postfix/postgrey binaries or users missing after install"
  fi
  stop_system_postgrey
}

case "${1:-}" in
  install) install ;;
  *) usage ;;
esac
