#!/usr/bin/env bash
# Headless Chromium for the web interface's browser tests (web/browser_test.go).
#
#   scripts/browser.sh install
#
# Installs the Debian package chromium with apt-get when no Chromium binary is found.
# Idempotent: a machine that has one is left as it is.
set -euo pipefail

log() { echo "[browser] $*"; }
die() { echo "[browser] error: $*" >&2; exit 1; }

usage() {
  echo "usage: $0 install" >&2
  exit 2
}

have_browser() {
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 ||
    command -v google-chrome >/dev/null 2>&1
}

install() {
  have_browser && return 0
  [ "$(id -u)" -eq 0 ] || die "Chromium is missing; install it (apt-get install chromium) or run as root"
  log "installing chromium with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends chromium >/tmp/herald-apt-browser.log 2>&1; then
    log "apt-get install failed; running apt-get update and retrying"
    apt-get update >>/tmp/herald-apt-browser.log 2>&1 || true
    apt-get install -y --no-install-recommends chromium >>/tmp/herald-apt-browser.log 2>&1 ||
      { tail -n 30 /tmp/herald-apt-browser.log >&2; die "apt-get install chromium failed"; }
  fi
  have_browser || die "no Chromium binary after installing the package"
  log "chromium installed"
}

case "${1:-}" in
  install) install ;;
  *) usage ;;
esac
