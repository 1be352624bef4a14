#!/usr/bin/env bash
# Installs what the browser test (tests/e2e/test_page.py) needs and is not there yet.
# Idempotent and quick on a second run; runs as root on Debian with no stdin.
#   - a headless Chromium: Debian's `chromium` package, only if /usr/bin/chromium is missing
#     (Playwright drives this system browser: `playwright install` is never run, it would
#     download a browser build of its own);
#   - Playwright for Python (its driver ships inside the wheel): checked in the project venv
#     ($VENV, default .venv), never installed from here: it belongs in pyproject's test extra.
# Exit status: 0 when the browser test can run, 1 otherwise (with the reason on stderr).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="${VENV:-$REPO/.venv}"
CHROMIUM="${ARI_CB_CHROMIUM:-/usr/bin/chromium}"
export DEBIAN_FRONTEND=noninteractive
say() { printf 'browser-install: %s\n' "$*"; }
status=0

# --- chromium ---------------------------------------------------------------------------------
if [ ! -x "$CHROMIUM" ]; then
    say "installing Debian's chromium (no $CHROMIUM)"
    apt-get update -qq </dev/null
    apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core </dev/null >/dev/null
fi
if "$CHROMIUM" --headless --no-sandbox --disable-gpu --version >/dev/null 2>&1; then
    say "$("$CHROMIUM" --version 2>/dev/null | head -1)"
else
    say "ERROR: $CHROMIUM does not start"; status=1
fi

# --- playwright, for the test ------------------------------------------------------------------
if [ -x "$VENV/bin/python" ]; then
    if "$VENV/bin/python" -c 'import playwright.sync_api' 2>/dev/null; then
        say "playwright $("$VENV/bin/python" -c 'from importlib.metadata import version; print(version("playwright"))') found in $VENV"
    else
        say "ERROR: playwright is missing from $VENV: it belongs in pyproject's test extra (playwright>=1.44)"
        status=1
    fi
else
    say "ERROR: no venv at $VENV (make venv creates it)"; status=1
fi
exit $status
