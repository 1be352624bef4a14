"""Persistence: SQLAlchemy Core over SQLite (aiosqlite) or PostgreSQL (asyncpg), Alembic
migrations applied at every start."""

from .callbacks import CallbackStore
from .db import (
                 DuplicateCallback,
                 IdempotentRepeat,
                 LeaseLost,
                 LimitReached,
                 PaceReached,
                 PendingCallback,
                 StoreError,
                 StoreUnavailable,
                 migrate,
                 open_engine,
)
from .records import Admission, AttemptView, CallbackView, Claim, Lease, NewCallback, Progress

__all__ = ["Admission", "AttemptView", "CallbackStore", "CallbackView", "Claim", "DuplicateCallback",
           "IdempotentRepeat", "Lease", "LeaseLost", "LimitReached", "NewCallback", "PaceReached", "PendingCallback",
           "Progress", "StoreError", "StoreUnavailable", "migrate", "open_engine"]
