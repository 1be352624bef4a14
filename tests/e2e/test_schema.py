"""schemathesis against every API shape of a real server on the real Asterisk: no server error,
and every answer conforms to the OpenAPI the server publishes (status codes, content types,
headers, bodies). A schema-valid request may still be refused for what it means (a number no
route dials, an option that is closed): that check (positive data acceptance) is left out."""

from __future__ import annotations

import base64
import subprocess
import time

import httpx
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from .conftest import API_KEY
from .test_cli import BIN, _config, _free_port

FONOLO_SID, FONOLO_TOKEN = "AC0123456789abcdef0123456789abcdef", "0123456789abcdef" * 4
FONOLO = base64.b64encode(f"{FONOLO_SID}:{FONOLO_TOKEN}".encode()).decode()


@pytest.fixture(scope="module")
def served(asterisk, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("schema")
    port = _free_port()
    config = _config(asterisk, tmp, port)
    data = yaml.safe_load(config.read_text())
    data["fonolo_accounts"] = [{"sid": FONOLO_SID, "token": FONOLO_TOKEN, "client": "default"}]
    config.write_text(yaml.safe_dump(data))
    with (tmp / "serve.log").open("w") as log:
        server = subprocess.Popen([str(BIN), "--config", str(config), "serve"], stdin=subprocess.DEVNULL,
                                  stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/readyz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline and server.poll() is None, (tmp / "serve.log").read_text()[-2000:]
        time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(30)


def _check(served: str, operation) -> str | None:
    """Hypothesis over one operation; the first failure's summary, or None."""
    fonolo = operation.path.startswith("/3.0")
    headers = {"Authorization": f"Basic {FONOLO}"} if fonolo else {"X-API-Key": API_KEY}

    @given(case=operation.as_strategy())
    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              phases=[Phase.explicit, Phase.generate])
    def run(case) -> None:
        case.call_and_validate(base_url=served, headers=headers, excluded_checks=[positive_data_acceptance])

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:   # schemathesis' failure groups say what failed, and how
        return f"{operation.method.upper()} {operation.path}: {str(exc)[:1500]}"
    return None


def test_every_operation_answers_as_documented_and_never_500(served):
    schema = schemathesis.openapi.from_url(f"{served}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    failures = [found for operation in operations if (found := _check(served, operation))]
    assert len(operations) > 50 and failures == [], "\n\n".join(failures)
