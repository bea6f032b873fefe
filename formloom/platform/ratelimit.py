"""Rate limits every process shares, and the limits on endpoints that take a guessable secret.

Flask-Limiter keeps its counters in Redis when `REDIS_URL` is set. Without Redis they live in
the database (`formloom-db://`, the storage below): a counter in each gunicorn worker's
memory would let each worker allow the whole limit again. `limits` has no SQL storage, so
this one registers itself under that scheme; it implements the fixed-window strategy (the
default) with one upsert per hit, atomic on SQLite and PostgreSQL alike.
"""
from __future__ import annotations

import hashlib
import time

import sqlalchemy as sa
from flask import current_app, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from limits.storage import Storage
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from formloom.platform import outbox
from formloom.platform.extensions import db, limiter
from formloom.platform.models import RateLimitCounter

SCHEME = "formloom-db"
PURGE_EVERY = 3600.0  # seconds between removals of expired counters
_last_purge = [0.0]


def now() -> float:
    """The clock windows are measured by (Unix time)."""
    return time.time()


class DatabaseStorage(Storage):
    """Fixed-window counters in the `rate_limit_counters` table of the current app's database.

    Each call uses its own short transaction on its own connection, so a counter is never
    part of (or rolled back with) the request's work.
    """

    STORAGE_SCHEME = [SCHEME]

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add `amount` to the counter (a new window if the old one ended); the new count."""
        at = now()
        table = RateLimitCounter.__table__
        with db.engine.connect() as conn:
            conn.execution_options(formloom_write=True)  # SQLite: BEGIN IMMEDIATE
            insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)
            expired = table.c.expires_at <= at
            stmt = insert.values(key=_short(key), count=amount, expires_at=at + expiry).on_conflict_do_update(
                index_elements=[table.c.key],
                set_={"count": sa.case((expired, amount), else_=table.c.count + amount),
                      "expires_at": sa.case((expired, at + expiry), else_=table.c.expires_at)},
            ).returning(table.c.count)
            with conn.begin():
                return conn.execute(stmt).scalar_one()

    def _live(self, key: str):
        at = now()
        table = RateLimitCounter.__table__
        with db.engine.connect() as conn:
            return conn.execute(sa.select(table.c.count, table.c.expires_at).where(
                table.c.key == _short(key), table.c.expires_at > at)).first(), at

    def get(self, key: str) -> int:
        row, _at = self._live(key)
        return row.count if row else 0

    def get_expiry(self, key: str) -> float:
        row, at = self._live(key)
        return row.expires_at if row else at

    def check(self) -> bool:
        with db.engine.connect() as conn:
            conn.execute(sa.select(1))
        return True

    def reset(self) -> int | None:
        with db.engine.connect() as conn, conn.begin():
            return conn.execute(sa.delete(RateLimitCounter.__table__)).rowcount

    def clear(self, key: str) -> None:
        with db.engine.connect() as conn, conn.begin():
            conn.execute(sa.delete(RateLimitCounter.__table__).where(RateLimitCounter.key == _short(key)))


def _short(key: str) -> str:
    """Keys name the limit, the endpoint and the client; a very long one is hashed to fit."""
    return key if len(key) <= 255 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def purge_expired() -> int:
    """Remove the counters of windows that have ended; how many."""
    with db.engine.connect() as conn, conn.begin():
        return conn.execute(sa.delete(RateLimitCounter.__table__).where(
            RateLimitCounter.expires_at <= now())).rowcount


def tick() -> dict | None:
    if not current_app.config.get("RATELIMIT_STORAGE_URI", "").startswith(SCHEME):
        return None
    if time.monotonic() - _last_purge[0] < PURGE_EVERY:
        return None
    _last_purge[0] = time.monotonic()
    removed = purge_expired()
    return {"rate_limit_counters_removed": removed} if removed else None


def init() -> None:
    """Register the counters' purge with the background tick (platform init_app)."""
    outbox.on_tick(tick)


# --- endpoints that take a secret ------------------------------------------------------------

def _secret_limit() -> str:
    return current_app.config["FORMLOOM_SECRET_RATE_LIMIT"]


def client_address() -> str:
    return request.remote_addr or "unknown"


def guard_secret(accepted):
    """A decorator for a view or blueprint: limit, per client address, its requests whose secret
    was not accepted (`accepted()` is False: no valid token, an unknown invitation link).

    Every such request counts when it arrives (one atomic increment), so requests racing
    each other cannot slip past the limit; accepted ones are exempt and cost nothing. All
    guarded endpoints share one budget ("secrets"): guessing at several gains nothing.
    """
    return limiter.shared_limit(_secret_limit, scope="secrets", key_func=client_address, exempt_when=accepted,
                                error_message=_l("Too many attempts with a link or token that is not valid; "
                                                 "wait a minute and try again."))


def signed_in() -> bool:
    return bool(current_user.is_authenticated)
