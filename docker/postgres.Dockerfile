# PostgreSQL for docker-compose.yml: Debian's package in the same base as the other images
# (no registry needed). Data in /var/lib/postgresql/data (a volume); see postgres-entrypoint.sh.
FROM debian:sid-slim

RUN apt-get -o Acquire::Check-Valid-Until=false update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql \
 && rm -rf /var/lib/apt/lists/*

COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]
