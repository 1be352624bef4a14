"""``clients.<id>.webhooks`` and ``webhook_delivery``: bad values are refused, naming the key."""

from __future__ import annotations

import pytest
import yaml

from ari_callback.config import ConfigError, load_settings
from ari_callback.webhooks.deliverer import delivery_settings, webhooks_of

SECRET = "0123456789abcdef"


def _load(tmp_path, clients: dict, **top) -> object:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"clients": clients, **top}))
    return load_settings(path)


def _hooks(*hooks) -> dict:
    return {"default": {}, "acme": {"webhooks": list(hooks)}}


def test_given_webhooks_then_each_client_gets_its_own_with_all_events_by_default(tmp_path):
    s = _load(tmp_path, _hooks({"url": "https://example.com/hook", "secret": SECRET},
                               {"id": "crm", "url": "http://127.0.0.1:9000/x", "secret": SECRET,
                                "events": ["callback.completed", "callback.failed"]}))
    found = webhooks_of(s)
    assert list(found) == ["acme"]
    first, crm = found["acme"]
    assert first.id.startswith("url-") and first.events is None and first.secret == SECRET
    assert (crm.id, crm.events) == ("crm", frozenset({"callback.completed", "callback.failed"}))


@pytest.mark.parametrize("hook,key,words", [
    ({"url": "ftp://example.com/x", "secret": SECRET}, "clients.acme.webhooks.0.url", "http"),
    ({"url": "http:///nohost", "secret": SECRET}, "clients.acme.webhooks.0.url", "host"),
    ({"url": "https://example.com", "secret": "short"}, "clients.acme.webhooks.0.secret", "16"),
    ({"url": "https://example.com", "secret": SECRET, "events": ["callback.rang"]},
     "clients.acme.webhooks.0.events", "callback.rang"),
    ({"url": "https://example.com", "secret": SECRET, "sign": True}, "clients.acme.webhooks.0.sign", "xtra"),
    ({"url": "https://example.com"}, "clients.acme.webhooks.0.secret", "required"),
])
def test_given_a_bad_webhook_then_the_error_names_the_key(tmp_path, hook, key, words):
    with pytest.raises(ConfigError) as refused:
        _load(tmp_path, _hooks(hook))
    assert key in str(refused.value) and words in str(refused.value)
    assert SECRET not in str(refused.value)   # a secret is never echoed


def test_given_two_webhooks_with_one_id_then_refused_naming_the_second(tmp_path):
    hook = {"url": "https://example.com/a", "secret": SECRET}
    with pytest.raises(ConfigError, match=r"clients\.acme\.webhooks\.1"):
        _load(tmp_path, _hooks(hook, hook))


def test_given_delivery_settings_then_the_retry_policy_follows_them(tmp_path):
    s = _load(tmp_path, {"default": {}}, webhook_delivery={"first_retry_seconds": 1, "max_retry_seconds": 4,
                                                           "max_attempts": 5, "timeout": 3})
    d = delivery_settings(s)
    assert (d.retry.first_delay, d.retry.max_delay, d.retry.max_attempts, d.timeout) == (1, 4, 5, 3)
    with pytest.raises(ConfigError, match=r"webhook_delivery\.max_attempts"):
        _load(tmp_path, {"default": {}}, webhook_delivery={"max_attempts": 0})
