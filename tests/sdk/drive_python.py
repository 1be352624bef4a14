#!/usr/bin/env python3
"""Drive Fonolo's official Python SDK (vendored, unmodified) through a script of steps.

    python tests/sdk/drive_python.py --endpoint http://127.0.0.1:8080/3.0 \
        --sid AC0123456789abcdef0123456789abcdef --token <64 hex> \
        --script '[["profiles"], ["profile", "CP..."], ["callback", {"fc_number": "...", "fc_option": "CO..."}],
                   ["status", "$2.data.sid"], ["cancel", "$last.data.sid"]]'

Prints one JSON object per step on stdout:
    {"step": 0, "call": [...], "ok": true, "result": <what the SDK returned>}
    {"step": 1, "call": [...], "ok": false, "error": {"type": "FonoloException", "message": "..."}}

The step vocabulary (shared with drive_node.js) is described in docs/fonolo-api.md, "Drivers".
A string argument "$N.a.b" is replaced by the field a.b of step N's result, "$last.a.b" by the
previous step's; "$N" alone is the whole result. The exit status is 0 when every step ran (even
if the SDK raised): the output is what a test checks. It is 2 on a bad command line or script.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "vendor", "fonolo-python"))

import fonolo  # noqa: E402  (the vendored SDK, imported from the path above)


def _resolve(value, results):
    """Substitutes "$N.path" / "$last.path" references, recursively through lists and dicts."""
    if isinstance(value, list):
        return [_resolve(v, results) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, results) for k, v in value.items()}
    if not (isinstance(value, str) and value.startswith("$") and len(value) > 1):
        return value
    head, _, path = value[1:].partition(".")
    if head == "last":
        index = len(results) - 1
    elif head.isdigit():
        index = int(head)
    else:
        return value
    if not 0 <= index < len(results):
        raise LookupError(f"{value}: no result for step {head}")
    node = results[index]
    for part in filter(None, path.split(".")):
        if isinstance(node, list) and part.isdigit():
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise LookupError(f"{value}: no field {part!r}")
    return node


def _opt(args, n):
    return args[n] if len(args) > n else None


def make_client(endpoint, sid, token, verify_ssl):
    client = fonolo.Client(sid, token)
    client.endpoint(endpoint)
    client.verify_ssl(verify_ssl)
    return client


def run_step(state, name, args):
    """Runs one step through the SDK and returns what the SDK returned."""
    c = state["client"]
    if name == "client":
        # ["client", SID, TOKEN]: a new client (for later steps) with other credentials;
        # the SDK checks their format here (fonolo/client.py:39-50).
        # A refused pair leaves no client: the steps after it fail until the next "client".
        state["client"] = None
        state["client"] = make_client(state["endpoint"], args[0], args[1], state["verify_ssl"])
        return None
    if c is None:
        raise RuntimeError("no client: the SDK refused the last credentials given")
    if name == "profiles":
        return c.profiles.get(_opt(args, 0))
    if name == "profile":
        return c.profile(args[0]).get()
    if name == "options":
        return c.profile(args[0]).options.get()
    if name == "option":
        return c.profile(args[0]).option(args[1]).get()
    if name == "schedule":
        return c.profile(args[0]).option(args[1]).schedule.get()
    if name == "scheduling":
        return c.profile(args[0]).scheduling.get()
    if name == "questions":
        return c.profile(args[0]).questions.get()
    if name == "question":
        return c.profile(args[0]).question(args[1]).get()
    if name == "callback":
        return c.callback().start(args[0] if args else {})
    if name == "status":
        return c.callback(args[0]).status()
    if name == "cancel":
        return c.callback(args[0]).cancel()
    if name == "call":
        return c.call(args[0]).get()
    if name == "calls":
        return c.calls.get(_opt(args, 0))
    if name == "optin":
        return c.optin(args[0]).get()
    if name == "optins":
        return c.optins.get(_opt(args, 0))
    if name == "realtime":
        return c.realtime.get(_opt(args, 0))
    if name == "pending":
        return c.pending.get(_opt(args, 0))
    if name == "scheduled":
        return c.scheduled.get(_opt(args, 0))
    if name == "timezones":
        return c.timezones.get(_opt(args, 0))
    raise ValueError(f"unknown step {name!r}")


def _error(exc):
    return {"type": type(exc).__name__, "message": str(exc)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--endpoint", required=True,
                   help="base URL of the API, e.g. http://127.0.0.1:8080/3.0 (a missing final / is added)")
    p.add_argument("--sid", required=True, help="account SID (SDK check: ^[A-Z]{2}[0-9a-f]{32}$)")
    p.add_argument("--token", required=True, help="auth token (SDK check: ^[0-9a-f]{64}$)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--script", help="the steps as a JSON list of lists")
    src.add_argument("--script-file", help="a file holding the steps ('-' for stdin)")
    p.add_argument("--raw-endpoint", action="store_true",
                   help="give --endpoint to the SDK exactly as written (no final / added)")
    p.add_argument("--no-verify-ssl", action="store_true")
    a = p.parse_args(argv)

    try:
        if a.script is not None:
            steps = json.loads(a.script)
        elif a.script_file == "-":
            steps = json.load(sys.stdin)
        else:
            with open(a.script_file, encoding="utf-8") as f:
                steps = json.load(f)
        if not isinstance(steps, list) or not all(isinstance(s, list) and s and isinstance(s[0], str)
                                                  for s in steps):
            raise ValueError("the script must be a JSON list of non-empty lists starting with a step name")
    except (OSError, ValueError) as exc:
        print(f"drive_python: bad script: {exc}", file=sys.stderr)
        return 2

    endpoint = a.endpoint if a.raw_endpoint or a.endpoint.endswith("/") else a.endpoint + "/"
    state = {"endpoint": endpoint, "verify_ssl": not a.no_verify_ssl, "client": None}
    out = sys.stdout
    try:
        state["client"] = make_client(endpoint, a.sid, a.token, state["verify_ssl"])
    except Exception as exc:  # the SDK refuses the credentials' format
        out.write(json.dumps({"step": -1, "call": ["client", a.sid, a.token], "ok": False,
                              "error": _error(exc)}) + "\n")

    results = []
    for i, step in enumerate(steps):
        call = step
        try:
            name, args = step[0], _resolve(step[1:], results)
            call = [name, *args]
            result = run_step(state, name, args)
            rec = {"step": i, "call": call, "ok": True, "result": result}
        except Exception as exc:
            rec = {"step": i, "call": call, "ok": False, "error": _error(exc)}
        results.append(rec.get("result"))
        out.write(json.dumps(rec, default=repr) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
