#!/usr/bin/env bash
# Build the PostgreSQL image docker-compose.yml runs (docker/postgres.Dockerfile); a second run
# returns at once while the Dockerfile and the entrypoint are unchanged.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
image=${ARI_CB_PG_IMAGE:-ari-callback-postgres:latest}
state_dir=${ARI_CB_STATE:-/var/lib/ari-callback}
mkdir -p "$state_dir"
digest=$(cat "$here/postgres.Dockerfile" "$here/postgres-entrypoint.sh" | sha256sum | cut -c1-16)
current=$(docker image inspect -f '{{ index .Config.Labels "ari-callback.digest" }}' "$image" 2>/dev/null || true)
[ "$current" = "$digest" ] && exit 0
ARI_CB_IMAGE=${ARI_CB_IMAGE:-ari-callback-asterisk:22} bash "$here/build-image.sh"   # makes the base image
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$here/postgres.Dockerfile" "$context/Dockerfile"
cp "$here/postgres-entrypoint.sh" "$context/"
echo "[build-postgres-image] building $image"
docker build --network host --label "ari-callback.digest=$digest" -t "$image" "$context" \
  >"$state_dir/docker-build-postgres.log" 2>&1 || { tail -n 40 "$state_dir/docker-build-postgres.log" >&2; exit 1; }
echo "[build-postgres-image] built $image"
