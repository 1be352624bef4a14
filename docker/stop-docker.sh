#!/usr/bin/env bash
# Stop the dockerd that ensure-docker.sh started (by its PID), and nothing else.
set -euo pipefail
state_dir=${ARI_CB_STATE:-/var/lib/ari-callback}
pidfile="$state_dir/dockerd.pid"
[ -f "$pidfile" ] || exit 0
pid=$(cat "$pidfile")
if kill -0 "$pid" 2>/dev/null && grep -q dockerd "/proc/$pid/cmdline" 2>/dev/null; then
  kill -TERM "$pid"
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
fi
rm -f "$pidfile"
