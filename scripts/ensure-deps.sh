#!/usr/bin/env bash
# Installs what koubou needs and a fresh machine lacks. Sourced by ./koubou and scripts/test.
#   ensure_node_modules        npm ci when node_modules is missing or older than package-lock.json
#   ensure_debian_package CMD PKG   installs PKG (Debian/Ubuntu, as root or with sudo) when CMD is missing
set -euo pipefail

ensure_node_modules() {
  local stamp=node_modules/.package-lock.json
  if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
    echo "koubou: installing npm dependencies (npm ci)..." >&2
    local log
    log=$(mktemp)
    if ! npm ci --no-audit --no-fund 2>"$log" >&2; then
      # A registry mirror that carries only some platforms' optional packages (rollup's
      # native builds) leaves them out of any lockfile written against it, and npm ci
      # then refuses the lockfile as incomplete. npm install --no-save installs the
      # same locked versions and writes nothing back.
      if grep -q "can only install packages when your package.json and package-lock.json" "$log"; then
        echo "koubou: npm ci refused the lockfile (optional packages this registry lacks); npm install --no-save instead" >&2
        npm install --no-save --no-audit --no-fund >&2
      else
        cat "$log" >&2
        rm -f "$log"
        return 1
      fi
    fi
    rm -f "$log"
  fi
}

_apt_updated=0
ensure_debian_package() {
  local cmd=$1 pkg=$2
  command -v "$cmd" >/dev/null 2>&1 && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "koubou: '$cmd' is missing. Install it: apt-get install -y $pkg (Debian/Ubuntu)" >&2; return 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "koubou: '$cmd' is missing and this is not a Debian/Ubuntu system; see docs/operations.md to install $pkg" >&2
    return 1
  fi
  echo "koubou: installing $pkg (apt-get)..." >&2
  if [ "$_apt_updated" -eq 0 ]; then $sudo apt-get update -qq >&2; _apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$pkg" >&2
}
