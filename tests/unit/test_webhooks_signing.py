"""Signing deliveries: HMAC-SHA256 over "<timestamp>.<body>", checked as a receiver would."""

from __future__ import annotations

import hashlib
import hmac

from ari_callback.webhooks.signing import signature_header, verify

SECRET, BODY, T = "whsec-0123456789abcdef", b'{"id":7,"type":"callback.completed"}', 1_800_000_000


def test_given_a_body_then_the_header_is_hmac_sha256_of_timestamp_dot_body():
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert signature_header(SECRET, T, BODY) == f"t={T},v1={expected}"


def test_given_a_signed_body_then_it_verifies_within_the_tolerance():
    header = signature_header(SECRET, T, BODY)
    assert verify(SECRET, header, BODY, now=T + 299)
    assert verify(SECRET, header, BODY, now=T - 10)   # a receiver's clock a little behind


def test_given_a_changed_body_or_another_secret_then_it_does_not_verify():
    header = signature_header(SECRET, T, BODY)
    assert not verify(SECRET, header, BODY.replace(b"7", b"8"), now=T)
    assert not verify("another-secret-0123", header, BODY, now=T)


def test_given_an_old_timestamp_then_a_replayed_recording_is_refused():
    assert not verify(SECRET, signature_header(SECRET, T, BODY), BODY, now=T + 301)


def test_given_the_timestamp_changed_then_the_signature_no_longer_matches():
    header = signature_header(SECRET, T, BODY).replace(f"t={T}", f"t={T + 100}")
    assert not verify(SECRET, header, BODY, now=T + 100)


def test_given_malformed_headers_then_they_do_not_verify():
    for header in ("", "v1=abc", f"t={T}", "t=soon,v1=abc", f"t={T},t={T},v1=abc", "garbage"):
        assert not verify(SECRET, header, BODY, now=T), header


def test_given_several_v1_values_then_one_matching_is_enough():
    good = signature_header(SECRET, T, BODY)
    assert verify(SECRET, f"t={T},v1={'0' * 64},{good.split(',')[1]}", BODY, now=T)


def test_given_the_snippet_in_docs_webhooks_md_then_it_verifies_what_the_server_signs():
    import re
    import time
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text()
    (snippet,) = [block for block in re.findall(r"```python\n(.*?)```", doc, re.S) if "def verified" in block]
    names: dict = {}
    exec(compile(snippet, "docs/webhooks.md", "exec"), names)
    now = int(time.time())
    header = signature_header(SECRET, now, BODY)
    assert names["verified"](SECRET, header, BODY)
    assert not names["verified"](SECRET, header, BODY + b" ")
    assert not names["verified"](SECRET, signature_header(SECRET, now - 600, BODY), BODY)
