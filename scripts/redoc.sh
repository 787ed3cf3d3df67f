#!/usr/bin/env bash
# Vendors Redoc's standalone bundle, the renderer of the API reference page (GET /api/docs).
#
#   scripts/redoc.sh [VERSION]     (default: the version vendored now)
#
# Fetches the npm package "redoc" at VERSION with `npm pack` (npm's cache under
# ~/.cache/herald/npm) and writes http/apidocs/redoc.standalone.js: a header naming the
# version, the source, the checksum of the original and the MIT licence, then the
# package's bundles/redoc.standalone.js unchanged. The binary embeds the file.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/http/apidocs/redoc.standalone.js"
version="${1:-}"
if [ -z "$version" ]; then
  version="$(sed -n 's/^ \* Redoc \([0-9][^ ]*\) .*/\1/p' "$out" | head -n1)"
fi
[ -n "$version" ] || { echo "usage: $0 VERSION" >&2; exit 2; }

export npm_config_cache="${npm_config_cache:-$HOME/.cache/herald/npm}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "redoc@$version" >/dev/null)
tar -xzf "$tmp"/redoc-"$version".tgz -C "$tmp"
bundle="$tmp/package/bundles/redoc.standalone.js"
[ -f "$bundle" ] || { echo "redoc@$version has no bundles/redoc.standalone.js" >&2; exit 1; }
sum="$(sha256sum "$bundle" | cut -d' ' -f1)"

{
  echo "/*!"
  echo " * Redoc $version (npm package \"redoc\", bundles/redoc.standalone.js), vendored unchanged"
  echo " * below this comment by scripts/redoc.sh. https://github.com/Redocly/redoc"
  echo " * SHA-256 of the original: $sum"
  echo " *"
  sed 's/^/ * /; s/ *$//' "$tmp/package/LICENSE"
  echo " */"
  cat "$bundle"
} >"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out (redoc $version)"
