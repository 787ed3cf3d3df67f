#!/usr/bin/env bash
# The tools the deployment files' tests use (deploy/deploy_test.go).
#
#   scripts/deploy-check.sh install
#
# Installs the Debian package systemd with apt-get when systemd-analyze is missing (a container
# may lack it). Idempotent: a machine that has it is left as it is.
set -euo pipefail

log() { echo "[deploy] $*"; }
die() { echo "[deploy] error: $*" >&2; exit 1; }

install() {
  command -v systemd-analyze >/dev/null 2>&1 && return 0
  [ "$(id -u)" -eq 0 ] || die "systemd-analyze is missing; install it (apt-get install systemd) or run as root"
  log "installing systemd with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends systemd >/tmp/herald-apt-deploy.log 2>&1; then
    log "apt-get install failed; running apt-get update and retrying"
    apt-get update >>/tmp/herald-apt-deploy.log 2>&1 || true
    apt-get install -y --no-install-recommends systemd >>/tmp/herald-apt-deploy.log 2>&1 ||
      { tail -n 30 /tmp/herald-apt-deploy.log >&2; die "apt-get install systemd failed"; }
  fi
  command -v systemd-analyze >/dev/null 2>&1 || die "no systemd-analyze after installing systemd"
  log "systemd installed"
}

case "${1:-}" in
  install) install ;;
  *) echo "usage: $0 install" >&2; exit 2 ;;
esac
