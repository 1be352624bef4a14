"""In-memory stand-ins for Asterisk's ARI, for unit tests that must not need a real Asterisk.

- :mod:`tests.fakes.ari`: :class:`FakeTransport` (like httpx.MockTransport: scripted
  responses, recorded requests, injected faults) and :class:`FakeSocket` (the same behind
  REST over the websocket).
- :mod:`tests.fakes.asterisk`: :class:`FakeAsterisk`, a handler that keeps channels, bridges
  and playbacks the way Asterisk does (409 on a duplicate id, 404 on a missing one) and records
  the events Asterisk would send.
"""
