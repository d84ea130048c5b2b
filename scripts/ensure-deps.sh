#!/usr/bin/env bash
# Installs what koubou needs and a fresh machine lacks: the one install routine shared by
# ./koubou, scripts/test, `koubou up` and `koubou init` (which run it as a command, see the end).
#   ensure_node_modules              npm ci when node_modules is missing or older than package-lock.json
#   ensure_npm_global CMD PKG WHY    npm install -g PKG when CMD is missing (e.g. OpenAI's Codex CLI)
#   ensure_debian_package CMD PKG WHY  installs PKG (Debian/Ubuntu, as root or with passwordless sudo)
#                                      when CMD is missing. Returns 2 when it cannot install here,
#                                      1 when the install failed (the tail of apt's output is shown).
# Each step that takes a while says so before it starts and how long it took when it ends.

_koubou_since() { echo $(( $(date +%s) - $1 )); }

ensure_node_modules() {
  local stamp=node_modules/.package-lock.json
  if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
    echo "koubou: installing the npm packages (npm ci; the first time this compiles the SQLite binding, about a minute)..." >&2
    local start log
    start=$(date +%s)
    log=$(mktemp)
    if ! npm ci --no-audit --no-fund >"$log" 2>&1; then
      echo "koubou: npm ci failed:" >&2
      tail -n 30 "$log" >&2
      rm -f "$log"
      return 1
    fi
    rm -f "$log"
    echo "koubou: npm packages installed in $(_koubou_since "$start") s" >&2
  fi
}

# The Codex CLI release the agent tests were written against (its linux-x64 binary is ~400 MB).
KOUBOU_CODEX_PACKAGE=@openai/codex@0.171.0
# The opencode and Qwen Code releases whose traffic data/clients holds (test/gateway.clients.test.ts runs them).
KOUBOU_OPENCODE_PACKAGE=opencode-ai@1.18.33
KOUBOU_QWEN_CODE_PACKAGE=@qwen-code/qwen-code@0.24.4
# The Claude Code release the Messages API tests were written against (a native binary, ~400 MB).
KOUBOU_CLAUDE_CODE_PACKAGE=@anthropic-ai/claude-code@2.1.332

# Runs one install step (a command or function, with its output kept aside), then says how long
# it took; when it fails, shows the end of that output and returns 1.
_koubou_install() {
  local pkg=$1 tool=$2
  shift 2
  local start log
  start=$(date +%s)
  log=$(mktemp)
  if "$@" >"$log" 2>&1; then
    rm -f "$log"
    echo "koubou: installed $pkg in $(_koubou_since "$start") s" >&2
    return 0
  fi
  if [ -n "${KOUBOU_ONE_LINE_FAILURE:-}" ]; then
    # For a caller that goes on without it (`koubou up --demo` without Codex): one line, the tool's
    # last word (npm's last line only says where its log is).
    echo "koubou: installing $pkg failed: $(grep -v -e '^[[:space:]]*$' -e 'complete log of this run' "$log" | tail -n 1)" >&2
  else
    echo "koubou: installing $pkg failed; the end of $tool's output:" >&2
    tail -n 15 "$log" >&2
  fi
  rm -f "$log"
  return 1
}

_koubou_npm_global() { npm install -g --no-audit --no-fund "$2" && command -v "$1"; }

ensure_npm_global() {
  local cmd=$1 pkg=$2 why=${3:-koubou needs it}
  command -v "$cmd" >/dev/null 2>&1 && return 0
  echo "koubou: installing $pkg with npm install -g ($why; about 400 MB)..." >&2
  _koubou_install "$pkg" npm _koubou_npm_global "$cmd" "$pkg"
}

_apt_updated=0
ensure_debian_package() {
  local cmd=$1 pkg=$2 why=${3:-koubou needs it}
  command -v "$cmd" >/dev/null 2>&1 && return 0
  local sudo=""
  if [ "${EUID:-$(id -u)}" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
      [ -n "${KOUBOU_QUIET_MISSING:-}" ] || echo "koubou: '$cmd' is missing and cannot be installed here (neither root nor passwordless sudo): run 'sudo apt-get install -y $pkg', then try again" >&2
      return 2
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    [ -n "${KOUBOU_QUIET_MISSING:-}" ] || echo "koubou: '$cmd' is missing and this is not a Debian/Ubuntu system (no apt-get): install $pkg with your package manager, then try again" >&2
    return 2
  fi
  echo "koubou: installing $pkg with apt-get ($why)..." >&2
  _koubou_install "$pkg" apt-get _koubou_apt "$pkg"
}

# apt-get update once per run, then the package ($sudo is the caller's).
_koubou_apt() {
  { [ "$_apt_updated" -eq 1 ] || $sudo apt-get update -qq; } &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$1" && _apt_updated=1
}

# Run as a command (`bash scripts/ensure-deps.sh debian-package CMD PKG WHY`, `… codex WHY`), for `koubou up`.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-}" in
    debian-package) shift; ensure_debian_package "$@"; exit $? ;;
    node-modules) cd "$(dirname "${BASH_SOURCE[0]}")/.." && ensure_node_modules; exit $? ;;
    codex) shift; ensure_npm_global codex "$KOUBOU_CODEX_PACKAGE" "$@"; exit $? ;;
    *) echo "usage: $0 debian-package CMD PKG WHY | node-modules | codex WHY" >&2; exit 2 ;;
  esac
fi
