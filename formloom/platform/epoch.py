"""Answers about who may do what, kept per process and dropped the moment they may be wrong.

A token request needs the token, its user and roles, the user's app membership and the
app's published version: the same answers request after request. Each process (each Flask
app: one per gunicorn worker) keeps them, tagged with the value of one counter, the row of
`cache_epoch`. Every transaction that changes users, departments, roles, app members, API
tokens or apps adds one to that counter in the same transaction (the watchers in
platform/reqcache.py call `bump`), so the new value becomes visible to other processes
exactly when the change does. A request reads the counter once (one primary-key SELECT,
before it reads anything it might cache) and uses only entries tagged with that value:
revoking a token or deactivating a user takes effect on the next request in every process.
Entries also expire after `TTL` seconds. The same counter moves when records of a form start
or stop waiting for a background refresh (runtime/records/refreshes.py), so a read need not
ask about "updating" records of a form where none wait. A second counter in the row,
`statistics`, tells SQLite connections that their query planner's statistics are stale.

Outside a request (jobs, the CLI) nothing is cached here. Once a request has changed any of
these tables itself, it stops using the cache until it ends: what it would read is its
own, not yet committed, change.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_request_context, request
from sqlalchemy.pool import Pool

from formloom.platform.extensions import db
from formloom.platform.models import CacheEpoch

TTL = 60.0  # seconds an entry is used at most, whatever the counter says
MAX_ENTRIES = 10_000  # past this the process starts afresh (tokens, members, apps of one instance)
_C = CacheEpoch.__table__.c
_SELECT = sa.select(_C.value, _C.statistics).where(_C.id == 1)
_BUMP = sa.update(CacheEpoch.__table__).where(_C.id == 1).values(value=_C.value + 1)
# Run by whoever refreshes SQLite's planner statistics (runtime/storage/store.py), in its transaction.
STATISTICS_CHANGED = sa.update(CacheEpoch.__table__).where(_C.id == 1).values(statistics=_C.statistics + 1)
_STATS_SEEN = "formloom_statistics"
_STALE = "formloom_stale_statistics"
_EXT = "formloom.epoch_cache"
_READ = "formloom.epoch"
_OFF = "formloom.epoch_off"
_BUMPED = "formloom_epoch_bumped"
_MISSING = object()


def current() -> int | None:
    """The counter as this request first read it; None where nothing may be cached."""
    if not has_request_context():
        return None
    seen = request.environ  # per request, even where requests share an app context (tests)
    if seen.get(_OFF):
        return None
    value = seen.get(_READ, _MISSING)
    if value is _MISSING:
        conn = db.session.connection()
        row = conn.execute(_SELECT).first()  # None if the row is missing: no caching
        value = None if row is None else row.value
        seen[_READ] = value
        if row is not None and conn.dialect.name == "sqlite":
            _note_statistics(conn, row.statistics)
    return value


def _note_statistics(conn, statistics: int) -> None:
    """An SQLite connection plans with the statistics it read when it opened, whatever ANALYZE
    wrote since (found by measuring: a worker opened before a bulk load sorted every match of
    a list's filter instead of walking the sort's index). A connection that sees them moved
    is replaced when next taken from the pool; this request keeps it."""
    info = conn.info
    if info.setdefault(_STATS_SEEN, statistics) != statistics:
        info[_STALE] = True


@sa.event.listens_for(Pool, "connect")
def _statistics_at_open(dbapi_connection, record) -> None:
    """What the counter said when this SQLite connection read its statistics (on opening)."""
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    try:
        row = dbapi_connection.execute("SELECT statistics FROM cache_epoch WHERE id = 1").fetchone()
    except Exception:  # noqa: BLE001 - a database not migrated yet: nothing to compare with
        return
    if row is not None:
        record.info[_STATS_SEEN] = row[0]


@sa.event.listens_for(Pool, "checkout")
def _replace_stale(_dbapi_connection, record, _proxy) -> None:
    if record.info.get(_STALE):
        raise sa.exc.DisconnectionError("planner statistics changed")  # the pool opens a new one


def cached(namespace: str, key: Any, compute: Callable[[], Any], keep_none: bool = True) -> Any:
    """`compute()`, or what it gave earlier in this process under the current counter.

    The value must not be tied to a session (plain data, not ORM objects). `keep_none=False`
    does not keep a None answer (an unknown token stays a query each time).
    """
    epoch = current()
    if epoch is None:
        return compute()
    store: dict = current_app.extensions.setdefault(_EXT, {})
    slot = (namespace, key)
    now = time.monotonic()
    hit = store.get(slot)
    if hit is not None and hit[0] == epoch and hit[1] > now:
        return hit[2]
    value = compute()
    if value is None and not keep_none:
        return value
    if len(store) >= MAX_ENTRIES:
        store.clear()
    store[slot] = (epoch, now + TTL, value)
    return value


def bump(session) -> None:
    """Move the counter on in `session`'s transaction (once per transaction), and stop this
    request from caching what it reads from now on."""
    if has_request_context():
        request.environ[_OFF] = True
    if session.info.get(_BUMPED):
        return
    session.info[_BUMPED] = True
    session.connection().execute(_BUMP)


def transaction_ended(session) -> None:
    session.info.pop(_BUMPED, None)


def forget() -> None:
    """Drop this app's entries (tests that rebuild a database under the same URL)."""
    current_app.extensions.pop(_EXT, None)
