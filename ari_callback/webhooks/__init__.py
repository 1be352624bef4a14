"""Webhooks: the outbox's status changes, signed and POSTed to each client's receivers.

``events``, ``signing`` and ``backoff`` are pure (no I/O, no clock of their own); ``deliverer``
is the task that fans the outbox out into deliveries and sends them; ``service`` is what the
API asks (the delivery log, replays). docs/webhooks.md is the receiver's side.
"""
