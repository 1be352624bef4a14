# Two commands do everything on a fresh Debian machine (root, no Docker daemon running, no
# image registry): `make demo` and `make test`. Both are idempotent; a second run skips the
# set-up that is already done.
SHELL := /bin/bash
VENV  := .venv
STAMP := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)
export ARI_CB_STATE ?= /var/lib/ari-callback

.PHONY: setup host postgresql sdk browser venv demo test lint unit e2e run docker-stop clean

setup: venv host

venv: $(STAMP)
$(STAMP): pyproject.toml
	@python3 -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ needed"'
	@python3 -c 'import venv, ensurepip' 2>/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; }
	@test -x $(VENV)/bin/pip || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -e '.[test,postgres]'
	@rm -f $(VENV)/.installed-*; touch $@

# sipp (Debian's sip-tester) for real SIP phones; a Docker engine; the Asterisk image;
# PostgreSQL's binaries; Fonolo's SDKs' runtimes; Debian's chromium for the page's browser test;
# Debian's docker-compose for the compose file's test.
host: postgresql sdk browser
	@command -v sipp >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sip-tester >/dev/null; }
	@command -v docker-compose >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; }
	@bash docker/ensure-docker.sh
	@bash docker/build-image.sh

# Debian's PostgreSQL binaries, for the throwaway servers the tests start (tests/pg_server.py).
# Debian's own cluster is not wanted: the drop-in keeps the package from creating `main`, and
# a cluster the install started anyway (one left by an earlier install, under a service
# manager) is stopped by name with pg_ctlcluster.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  mkdir -p /etc/postgresql-common/createcluster.d && \
	  echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/ari-callback.conf && \
	  apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null && \
	  { pg_lsclusters --no-header | awk '$$4 ~ /^online/ { print $$1, $$2 }' | \
	    while read -r version cluster; do pg_ctlcluster "$$version" "$$cluster" stop; done; }; }

# Fonolo's official SDKs (vendored in tests/sdk/vendor) run unchanged against /3.0/: node and
# the node SDK's `request` (npm, from the lock file); the python SDK uses the venv's requests.
sdk: venv
	@bash tests/sdk/install.sh

# Debian's chromium, driven by Playwright (from the venv) for tests/e2e/test_page.py.
browser: venv
	@bash tests/browser/install.sh

demo: setup
	$(VENV)/bin/ari-callback --config docker/demo.yaml demo

# The whole suite: the linters, the unit tests, then the e2e tests against the real Asterisk in Docker.
test: setup lint
	$(VENV)/bin/pytest -p no:cacheprovider tests

# ruff and mypy as configured in pyproject.toml: zero findings, or the suite stops here.
lint: venv
	$(VENV)/bin/ruff check ari_callback tests benchmarks
	$(VENV)/bin/mypy

unit: venv postgresql sdk
	$(VENV)/bin/pytest -p no:cacheprovider tests/unit

e2e: setup
	$(VENV)/bin/pytest -p no:cacheprovider tests/e2e

# The bundled Asterisk and the server in the foreground on 127.0.0.1:8080 (Ctrl-C stops it).
run: setup
	$(VENV)/bin/ari-callback --config docker/demo.yaml asterisk up
	$(VENV)/bin/ari-callback --config docker/demo.yaml serve

# Stop the Docker daemon that docker/ensure-docker.sh started (and nothing else).
docker-stop:
	-$(VENV)/bin/ari-callback asterisk down
	@bash docker/stop-docker.sh

clean:
	rm -rf $(VENV) data .pytest_cache
