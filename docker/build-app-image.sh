#!/usr/bin/env bash
# Build the app's image (docker/app.Dockerfile) from this tree's tracked files: the wheel,
# and the runtime dependencies (with PostgreSQL's driver) as requirements.txt. Docker's layer
# cache keeps the dependencies' layer while they do not change, so a rebuild takes seconds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
image=${ARI_CB_APP_IMAGE:-ari-callback:latest}
python=${PYTHON:-python3}
state_dir=${ARI_CB_STATE:-/var/lib/ari-callback}
mkdir -p "$state_dir"
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT

# The base image is the one docker/build-image.sh makes (pulled, or made with debootstrap).
ARI_CB_IMAGE=${ARI_CB_IMAGE:-ari-callback-asterisk:22} bash "$here/build-image.sh"

# A copy of the tracked files, so the build leaves nothing in the checkout.
mkdir "$context/source"
git -C "$repo" ls-files -z | (cd "$repo" && xargs -0 cp --parents -t "$context/source" 2>/dev/null || true)
"$python" -m pip wheel --no-deps -q -w "$context" "$context/source"
"$python" - "$context/source/pyproject.toml" > "$context/requirements.txt" <<'PY'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
print("\n".join(project["dependencies"] + project["optional-dependencies"]["postgres"]))
PY
cp "$here/app.Dockerfile" "$context/Dockerfile"
cert=${PIP_CERT:-$("$python" -m pip config get global.cert 2>/dev/null || true)}
if [ -n "$cert" ] && [ -f "$cert" ]; then cp "$cert" "$context/pip-ca.crt"; else : > "$context/pip-ca.crt"; fi
echo "[build-app-image] building $image"
docker build --network host -t "$image" "$context" >"$state_dir/docker-build-app.log" 2>&1 \
  || { tail -n 40 "$state_dir/docker-build-app.log" >&2; exit 1; }
echo "[build-app-image] built $image"
