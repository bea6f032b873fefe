"""Answers about the organisation and app membership, remembered for one request.

A page asks "may this actor see this form?" many times; the answer comes from the
database once. Any flush that touches users, departments, roles, app members, API tokens or
apps forgets everything, so a change made earlier in the same request or test is always
seen, and moves the cache epoch on in the same transaction, so other processes drop what
they kept (platform/epoch.py).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import g, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from formloom.platform import epoch
from formloom.platform.models import ApiToken, App, AppMember, Department, Role, User

WATCHED: tuple[type, ...] = ()
_ATTR = "_formloom_cache"


def cached(namespace: str, key: Any, compute: Callable[[], Any]) -> Any:
    if not has_app_context():
        return compute()
    store = g.setdefault(_ATTR, {})
    slot = (namespace, key)
    if slot not in store:
        store[slot] = compute()
    return store[slot]


def clear() -> None:
    if has_app_context():
        g.pop(_ATTR, None)


ORG_TABLES = frozenset(("users", "departments", "roles", "user_roles", "app_members", "api_tokens", "apps"))
# A statement run with this execution option changes nothing cached (a token's last use).
NEUTRAL = "formloom_cache_neutral"
_FLAG = "formloom_org_changed"


def _touches_org(session: Session) -> bool:
    return any(isinstance(obj, WATCHED) for objs in (session.new, session.dirty, session.deleted) for obj in objs)


def init() -> None:
    """Watch the organisation models (called once the models are imported)."""
    global WATCHED

    WATCHED = (ApiToken, App, AppMember, Department, Role, User)
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "do_orm_execute", _on_execute)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)


def _before_flush(session: Session, _context, _instances) -> None:
    if _touches_org(session):
        session.info[_FLAG] = True
        clear()
        epoch.bump(session)


def _on_execute(state) -> None:
    # Statements without ORM objects (UPDATE users ..., DELETE FROM user_roles ...).
    if (state.is_update or state.is_delete or state.is_insert) and not state.execution_options.get(NEUTRAL):
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in ORG_TABLES:
            state.session.info[_FLAG] = True
            clear()
            epoch.bump(state.session)


def _after_commit(session: Session) -> None:
    # Another request may have changed memberships meanwhile only if this one wrote to the
    # organisation; answers kept from before its own change are dropped then.
    epoch.transaction_ended(session)
    if session.info.pop(_FLAG, False):
        clear()


def _after_rollback(session: Session, _previous) -> None:
    session.info.pop(_FLAG, None)
    epoch.transaction_ended(session)
    clear()
