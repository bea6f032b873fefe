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
ask about "updating" records of a form where none wait.

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

from formloom.platform.extensions import db
from formloom.platform.models import CacheEpoch

TTL = 60.0  # seconds an entry is used at most, whatever the counter says
MAX_ENTRIES = 10_000  # past this the process starts afresh (tokens, members, apps of one instance)
_SELECT = sa.select(CacheEpoch.__table__.c.value).where(CacheEpoch.__table__.c.id == 1)
_BUMP = (sa.update(CacheEpoch.__table__).where(CacheEpoch.__table__.c.id == 1)
         .values(value=CacheEpoch.__table__.c.value + 1))
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
        value = db.session.execute(_SELECT).scalar()  # None if the row is missing: no caching
        seen[_READ] = value
    return value


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
