"""Pure logic: no I/O, no asyncio. Request validation, the call plan, the call state machine.

Everything here is driven by values passed in (including the current time), so unit tests
and Hypothesis can run it directly.
"""
