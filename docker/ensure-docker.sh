#!/usr/bin/env bash
# Make sure a Docker engine answers, installing and starting one only if none does.
# A daemon that is already running is left alone. One that we start runs without its
# default bridge (no 172.17.0.0/16 network: everything we run uses --network host on
# loopback) and its PID goes to $ARI_CB_STATE/dockerd.pid so `docker/stop-docker.sh`
# can stop exactly that process later.
set -euo pipefail
state_dir=${ARI_CB_STATE:-/var/lib/ari-callback}
mkdir -p "$state_dir"

if docker info >/dev/null 2>&1; then
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "[ensure-docker] installing Debian's docker.io (no Docker engine found)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

echo "[ensure-docker] starting dockerd (no default bridge, no iptables)"
# setsid: the daemon must not die with the shell (make, CI) that started it.
setsid dockerd --bridge=none --iptables=false --ip-masq=false \
  >"$state_dir/dockerd.log" 2>&1 < /dev/null &
echo $! > "$state_dir/dockerd.pid"

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "[ensure-docker] dockerd is up (pid $(cat "$state_dir/dockerd.pid"))"
    exit 0
  fi
  sleep 1
done
echo "[ensure-docker] dockerd did not answer within 60 s; see $state_dir/dockerd.log" >&2
tail -n 20 "$state_dir/dockerd.log" >&2 || true
exit 1
