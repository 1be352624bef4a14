"""Persistence: SQLAlchemy Core over SQLite (aiosqlite) or PostgreSQL (asyncpg), Alembic
migrations applied at every start."""

from .callbacks import CallbackStore, CallbackView
from .db import DuplicateCallback, StoreError, StoreUnavailable, migrate, open_engine

__all__ = ["CallbackStore", "CallbackView", "DuplicateCallback", "StoreError", "StoreUnavailable",
           "migrate", "open_engine"]
