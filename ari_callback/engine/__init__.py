"""Runs calls: one task and queue per call, the executor (the only code that calls ARI),
timers, and reconciliation with Asterisk after every (re)connect."""
