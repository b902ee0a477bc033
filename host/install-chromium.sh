#!/usr/bin/env bash
# Makes a headless browser available for the site's browser test: Debian's
# Chromium and a font to render text with. Safe to run again; it installs
# only what is missing.
#
# Needs root. Reaches only Debian's package mirror.
set -euo pipefail

say() { printf 'install-chromium: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

missing=()
command -v chromium >/dev/null || missing+=(chromium)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -eq 0 ]; then
  say "$(chromium --version 2>/dev/null || echo chromium) is ready"
  exit 0
fi
[ "$(id -u)" = 0 ] || die "needs root to install ${missing[*]}: run it with sudo"
say "installing ${missing[*]} from Debian"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || die "apt-get update failed: is the Debian mirror reachable?"
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || die "apt-get install ${missing[*]} failed"
say "$(chromium --version) is ready"
