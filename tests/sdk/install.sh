#!/usr/bin/env bash
# Installs what the Fonolo SDK drivers (drive_python.py, drive_node.js) need and is not there yet.
# Idempotent and quick on a second run; runs as root on Debian with no stdin.
#   - node + npm: Debian packages nodejs and npm, only if `node` is missing;
#   - the node SDK's runtime dependency `request`: `npm ci` into tests/sdk/node_modules (from
#     package.json + package-lock.json here), only if it does not resolve already;
#   - the python SDK needs only `requests` (its setup.py also lists `six`, which no file imports):
#     checked in the project venv ($VENV, default .venv), never installed from here.
# Exit status: 0 when both drivers can run, 1 otherwise (with the reason on stderr).
set -euo pipefail

SDK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SDK_DIR/../.." && pwd)"
VENV="${VENV:-$REPO/.venv}"
export DEBIAN_FRONTEND=noninteractive
say() { printf 'sdk-install: %s\n' "$*"; }
status=0

# --- node and npm ---------------------------------------------------------------------------
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    say "installing the Debian packages nodejs and npm"
    apt-get update -qq </dev/null
    apt-get install -y -qq nodejs npm </dev/null >/dev/null
fi
say "node $(node --version), npm $(npm --version)"

# --- request, for the node SDK --------------------------------------------------------------
if (cd "$SDK_DIR" && node -e "require.resolve('request')" >/dev/null 2>&1); then
    say "request already installed in $SDK_DIR/node_modules"
else
    say "npm ci (request) into $SDK_DIR/node_modules"
    (cd "$SDK_DIR" && npm ci --omit=dev --no-audit --no-fund --loglevel=error </dev/null)
fi
(cd "$SDK_DIR" && node -e "require('request'); require('./vendor/fonolo-node/lib/index.js')") \
    || { say "ERROR: the node SDK does not load"; status=1; }

# --- requests, for the python SDK -----------------------------------------------------------
if [ -x "$VENV/bin/python" ]; then
    if "$VENV/bin/python" -c 'import requests' 2>/dev/null; then
        say "requests $("$VENV/bin/python" -c 'import requests; print(requests.__version__)') found in $VENV"
    else
        say "ERROR: requests is missing from $VENV: it belongs in pyproject's test extra (requests>=2.1)"
        status=1
    fi
    (cd "$SDK_DIR" && "$VENV/bin/python" -c "import sys; sys.path.insert(0, 'vendor/fonolo-python'); import fonolo") \
        || { say "ERROR: the python SDK does not import with $VENV/bin/python"; status=1; }
else
    say "ERROR: no venv at $VENV (make venv creates it); the python driver runs with its python"
    status=1
fi
exit $status
