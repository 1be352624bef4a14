"""Fonolo's official python and node SDKs (vendored, unmodified) against a real uvicorn server of
the app on 127.0.0.1, through tests/sdk/drive_python.py and drive_node.js (docs/fonolo-api.md §8).

node is required, never skipped: `bash tests/sdk/install.sh` installs it and the SDK's `request`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import sys
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import uvicorn

from tests.unit.fonolo_app import OPEN, PROFILE, Q_CHOICE, Q_TEXT, SID, TOKEN, built

SDK = Path(__file__).resolve().parents[1] / "sdk"
INSTALL = "run `bash tests/sdk/install.sh` (installs node and the node SDK's `request`)"


@asynccontextmanager
async def serving(data_dir: Path):
    """The app on a free port of 127.0.0.1, in this test's event loop, no Asterisk behind it."""
    async with built(data_dir) as b:
        server = uvicorn.Server(uvicorn.Config(b.app, host="127.0.0.1", port=0, lifespan="off",
                                               log_level="warning", access_log=False))
        task = asyncio.create_task(server.serve())
        while not server.started:
            assert not task.done(), "the server did not start"
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield f"http://127.0.0.1:{port}/3.0"
        finally:
            server.should_exit = True
            await task


@pytest.fixture
async def endpoint(tmp_path):
    async with serving(tmp_path / "data") as url:
        yield url


def node() -> str:
    found = shutil.which("node")
    if found is None or not (SDK / "node_modules" / "request").is_dir():
        pytest.fail(f"the node SDK cannot run here: {INSTALL}", pytrace=False)
    return found


async def drive(sdk: str, endpoint: str, steps: list, sid: str = SID, token: str = TOKEN) -> list[dict]:
    """The driver's JSON lines for the steps, run by the SDK against the server."""
    command = ([sys.executable, str(SDK / "drive_python.py")] if sdk == "python"
               else [node(), str(SDK / "drive_node.js")])
    process = await asyncio.create_subprocess_exec(
        *command, "--endpoint", endpoint, "--sid", sid, "--token", token, "--script", json.dumps(steps),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0, err.decode()
    return [json.loads(line) for line in out.decode().splitlines()]


def results(lines: list[dict]) -> list:
    failed = [line for line in lines if not line["ok"]]
    assert not failed, failed
    for line in lines:
        if line["result"] is not None:
            assert line["result"]["head"]["status"] == 200, line
    return [line["result"] for line in lines]


def every_call(number: str, answers: dict) -> list:
    """All 19 SDK calls; step 8 starts the call-back the later ones refer to."""
    return [["profiles"], ["profile", PROFILE], ["options", PROFILE], ["option", PROFILE, OPEN],
            ["schedule", PROFILE, OPEN], ["scheduling", PROFILE], ["questions", PROFILE], ["question", PROFILE, Q_TEXT],
            ["callback", {"fc_number": number, "fc_option": OPEN, "fc_sms": "1", **answers}],
            ["status", "$8.data.sid"], ["call", "$8.data.sid"], ["calls", {"status": "pending"}], ["pending"],
            ["scheduled"], ["realtime"], ["optins", {"limit": "10"}], ["optin", "$15.data.optins.0.sid"],
            ["timezones"], ["cancel", "$8.data.sid"], ["status", "$8.data.sid"]]


@pytest.mark.parametrize("sdk, answers", [
    ("python", {f"fc_answers[{Q_CHOICE}]": "c&d"}),        # python cannot nest: flat bracket keys
    ("node", {"fc_answers": {Q_CHOICE: "c&d"}}),            # node sends fc_answers%5B...%5D
])
async def test_every_sdk_call_works(endpoint, sdk, answers):
    out = results(await drive(sdk, endpoint, every_call("14165550100", answers)))
    assert [p["sid"] for p in out[0]["data"]["profiles"]] == [PROFILE]
    assert out[1]["data"]["sid"] == PROFILE and out[3]["data"]["sid"] == OPEN
    assert out[4]["data"]["schedule"] and out[5]["data"]["profile_sid"] == PROFILE
    assert out[6]["data"]["total"] == 3 and out[7]["data"]["sid"] == Q_TEXT
    sid = out[8]["data"]["sid"]
    assert out[8]["head"]["message"] == "Call-back started successfully."
    assert out[8]["data"]["status"] == f"/3.0/call/{sid}/status.json"
    assert out[9]["data"]["status"] == "pending"
    assert out[10]["data"]["answers"] == {Q_CHOICE: "c&d"} and out[10]["data"]["sms"] is True
    assert [c["sid"] for c in out[11]["data"]["calls"]] == [sid] == [c["sid"] for c in out[12]["data"]["calls"]]
    assert out[13]["data"]["calls"] == [] == out[14]["data"]["calls"]
    assert out[16]["data"]["call_sid"] == sid and "America/Toronto" in out[17]["data"]["timezones"]
    assert out[18]["data"] == {"sid": sid, "status": "cancelled"}
    assert out[19]["data"]["status"] == "cancelled"


async def test_the_raw_endpoint_needs_its_final_slash_and_the_server_still_answers_an_envelope(endpoint):
    """Without the final / the SDKs request /3.0profiles: an unknown path, still an envelope."""
    lines = await drive("node", endpoint, [["profiles"]])
    assert lines[0]["ok"]
    process = await asyncio.create_subprocess_exec(
        node(), str(SDK / "drive_node.js"), "--raw-endpoint", "--endpoint", endpoint, "--sid", SID,
        "--token", TOKEN, "--script", '[["profiles"]]', stdout=asyncio.subprocess.PIPE)
    raw = json.loads((await process.communicate())[0])
    assert raw["error"]["type"] == "string" and "final /" in raw["error"]["message"]   # no TypeError crash


async def test_wrong_token_python_gets_head_500_node_a_rejected_string(endpoint):
    steps = [["client", SID, "0" * 64], ["profiles"], ["status", "CA" + "0" * 32]]
    python = await drive("python", endpoint, steps)
    assert python[1]["result"]["head"] == {"status": 500, "message": "Invalid account SID or auth token."}
    node_lines = await drive("node", endpoint, steps)
    assert node_lines[1]["error"] == {"type": "string", "message": "Invalid account SID or auth token."}
    assert node_lines[2]["error"]["type"] == "string"


async def test_errors_reach_node_as_strings_never_a_crash(endpoint):
    steps = [["profile", "CPnope"], ["status", "CAnope"], ["cancel", ""], ["callback", {"fc_number": "1"}],
             ["optin", "OInope"]]
    lines = await drive("node", endpoint, steps)
    assert [line["error"]["type"] for line in lines] == ["string"] * 5, lines
    assert lines[3]["error"]["message"] == "Unable to start call-back: fc_option is required."


async def test_php_style_cancel_chunked_with_expect_continue_is_answered_at_once(endpoint):
    started = results(await drive("python", endpoint, [["callback", {"fc_number": "1416", "fc_option": OPEN}]]))
    sid = started[0]["data"]["sid"]
    host, port = endpoint.removeprefix("http://").split("/")[0].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    auth = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    writer.write((f"POST /3.0/callback/{sid}/cancel.json HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {auth}\r\n"
                  "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n"
                  "Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n\r\n").encode())
    await writer.drain()
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 0.5)   # libcurl would wait 1 s
    assert interim.startswith(b"HTTP/1.1 100")
    writer.write(b"0\r\n\r\n")
    await writer.drain()
    response = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert json.loads(body)["data"] == {"sid": sid, "status": "cancelled"}
