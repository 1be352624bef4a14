#!/usr/bin/env bash
# Build the bundled Asterisk image once; later runs return at once if it exists.
# The Dockerfile names debian:sid-slim. When no registry answers (as on machines
# that reach only package mirrors), the base is made locally with debootstrap and
# tagged with that name, so the same Dockerfile builds everywhere.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
image=${ARI_CB_IMAGE:-ari-callback-asterisk:22}
base=debian:sid-slim
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
state_dir=${ARI_CB_STATE:-/var/lib/ari-callback}
# The image is rebuilt when the Dockerfile or the entrypoint change.
digest=$(cat "$here/Dockerfile" "$here/entrypoint.sh" | sha256sum | cut -c1-16)

current=$(docker image inspect -f '{{ index .Config.Labels "ari-callback.digest" }}' "$image" 2>/dev/null || true)
if [ "$current" = "$digest" ]; then
  exit 0
fi

if ! docker image inspect "$base" >/dev/null 2>&1; then
  if timeout 60 docker pull "$base" >/dev/null 2>&1; then
    echo "[build-image] pulled $base"
  else
    echo "[build-image] no registry answers: making $base with debootstrap"
    command -v debootstrap >/dev/null || {
      apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
    rootfs="$state_dir/rootfs-sid"
    rm -rf "$rootfs"
    debootstrap --variant=minbase sid "$rootfs" "$mirror" >"$state_dir/debootstrap.log" 2>&1 || {
      tail -n 30 "$state_dir/debootstrap.log" >&2; exit 1; }
    tar -C "$rootfs" -c . | docker import - "$base" >/dev/null
    rm -rf "$rootfs"
  fi
fi

echo "[build-image] building $image"
docker build --network host --label "ari-callback.digest=$digest" -t "$image" "$here" \
  >"$state_dir/docker-build.log" 2>&1 || { tail -n 40 "$state_dir/docker-build.log" >&2; exit 1; }
echo "[build-image] built $image"
