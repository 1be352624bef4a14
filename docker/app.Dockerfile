# The app's image: Debian's Python 3 in a venv at /opt/ari-callback, the dependencies in their
# own layer (rebuilt only when pyproject's dependencies change), then the wheel of this tree.
# Built by docker/build-app-image.sh from a context holding requirements.txt and the wheel.
FROM debian:sid-slim

RUN apt-get -o Acquire::Check-Valid-Until=false update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/ari-callback

# pip-ca.crt: the CA bundle the building machine's pip trusts (a TLS-inspecting proxy's CA, say);
# empty when there is none. Only the install uses it.
COPY requirements.txt pip-ca.crt /tmp/
RUN if [ -s /tmp/pip-ca.crt ]; then export PIP_CERT=/tmp/pip-ca.crt; fi \
 && /opt/ari-callback/bin/pip install --no-cache-dir -q -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt /tmp/pip-ca.crt

COPY ari_callback-*.whl /tmp/
RUN /opt/ari-callback/bin/pip install --no-cache-dir -q --no-deps /tmp/ari_callback-*.whl && rm /tmp/*.whl

ENV PATH=/opt/ari-callback/bin:$PATH
# A configuration is mounted here (docker-compose.yml mounts docker/compose.yaml).
ENTRYPOINT ["ari-callback"]
CMD ["--config", "/etc/ari-callback/config.yaml", "serve"]
