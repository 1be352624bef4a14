"""The bundled Asterisk: a container of the repository's image, host network, loopback only.

Used by ``ari-callback asterisk up|down|status|logs``, by ``make demo`` and by the e2e tests.
The container's configuration is ``asterisk-conf/`` (the checkout's, or the one an installed wheel
carries) mounted read-only; port
overrides let a test Asterisk run beside a demo one. Needs the ``docker`` extra.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


def _data_root() -> Path:
    """Where ``asterisk-conf/`` and ``docker/`` are: the checkout's top directory, or, for an
    installed wheel, ``<prefix>/share/ari-callback`` (pyproject's data-files put them there)."""
    if (REPO / "asterisk-conf").is_dir():
        return REPO
    return Path(sys.prefix) / "share" / "ari-callback"


DATA = _data_root()
IMAGE = os.environ.get("ARI_CB_IMAGE", "ari-callback-asterisk:22")


class BundledError(Exception):
    pass


def _docker():
    """The Docker SDK, or a BundledError that names the extra to install (no traceback)."""
    try:
        import docker.errors

        import docker
    except ImportError:
        raise BundledError("the docker SDK is missing: pip install 'ari-callback[docker]'") from None
    return docker


@dataclass(frozen=True)
class BundledAsterisk:
    name: str = "ari-callback-asterisk"
    http_port: int = 8088
    sip_port: int = 5060
    username: str = "callback"
    password: str = "callback-secret"
    conf_dir: Path = DATA / "asterisk-conf"
    image: str = IMAGE

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def _client(self):
        docker = _docker()
        try:
            client = docker.from_env()
            client.ping()
        except Exception as exc:
            raise BundledError(f"no Docker engine answers ({exc}); run docker/ensure-docker.sh") from None
        return client

    def ensure_image(self) -> None:
        script = DATA / "docker" / "build-image.sh"
        if not script.exists():
            raise BundledError(f"{script} not found: the bundled Asterisk needs the repository checkout")
        result = subprocess.run(["bash", str(script)], env={**os.environ, "ARI_CB_IMAGE": self.image})
        if result.returncode != 0:
            raise BundledError("building the Asterisk image failed (see the output above)")

    def up(self, timeout: float = 90.0) -> None:
        """(Re)start the container and wait until ARI answers."""
        client = self._client()
        self.ensure_image()
        self._remove(client)   # a container of that name left by a killed daemon: start clean
        self._wait_ports_free()
        client.containers.run(
            self.image, name=self.name, detach=True, network_mode="host",
            volumes={str(self.conf_dir): {"bind": "/etc/asterisk-conf", "mode": "ro"}},
            environment={"ASTERISK_HTTP_PORT": str(self.http_port), "ASTERISK_SIP_PORT": str(self.sip_port)},
            labels={"ari-callback": "bundled"})
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                r = httpx.get(f"{self.url}/ari/asterisk/info", auth=(self.username, self.password), timeout=2)
                if r.status_code == 200:
                    return
                last = f"HTTP {r.status_code}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            if not self.running():
                raise BundledError(f"the Asterisk container stopped:\n{self.logs(tail=40)}")
            time.sleep(0.5)
        raise BundledError(f"ARI did not answer at {self.url} within {timeout:.0f} s ({last})")

    def _wait_ports_free(self, timeout: float = 20.0) -> None:
        import socket
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.http_port)) != 0:
                    return
            time.sleep(0.5)
        raise BundledError(f"port {self.http_port} on 127.0.0.1 is still taken by another process")

    def _remove(self, client) -> None:
        docker = _docker()
        try:
            client.containers.get(self.name).remove(force=True)
        except docker.errors.NotFound:
            pass

    def down(self) -> None:
        self._remove(self._client())

    def running(self) -> bool:
        docker = _docker()
        try:
            return self._client().containers.get(self.name).status == "running"
        except docker.errors.NotFound:
            return False

    def status(self) -> str:
        docker = _docker()
        try:
            container = self._client().containers.get(self.name)
        except docker.errors.NotFound:
            return "absent"
        return container.status

    def logs(self, tail: int = 100) -> str:
        docker = _docker()
        try:
            raw = self._client().containers.get(self.name).logs(tail=tail)
        except docker.errors.NotFound:
            return ""
        return raw.decode("utf-8", "replace")

    def cli(self, command: str) -> str:
        """Run an Asterisk CLI command in the container (``asterisk -rx``)."""
        container = self._client().containers.get(self.name)
        code, output = container.exec_run(["asterisk", "-rx", command])
        return output.decode("utf-8", "replace")
