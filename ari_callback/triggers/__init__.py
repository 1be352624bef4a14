"""Dialplan triggers: a channel the dialplan hands to our Stasis app with a verb.

``Stasis(<app>,request,<option>[,<number>])``, ``Stasis(<app>,ringback,<destination>)`` and
``Stasis(<app>,call,<src>,<dst>[,<options>])`` (docs/dialplan-triggers.md).

- :mod:`.rules` (pure): the arguments parsed and checked into a trigger, the stable reasons a
  trigger fails with, the destination policy, and the prompts as media lists.
- :mod:`.channel`: the only code that calls ARI for a trigger channel (play, read digits,
  variables, continue), fed with that channel's events.
- :mod:`.desk`: which events are a trigger's, one task per trigger channel, the time limit, and
  the channel always handed back to the dialplan with ``CB_RESULT``.
- :mod:`.flows`: what each verb does with the customer and callback services.
"""
