"""The one place that decides which records an actor may see and change.

Every record query goes through `record_scope`; every write through `check_write`. For now:
organisation admins and app admins see everything; app members see the app's records, or
only their own where the form says `"members": "own"`. A later issue brings grants per
role with row filters and field rules; they plug in here, so no path reads around it.
"""
from __future__ import annotations

import sqlalchemy as sa

from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import AppMember
from formloom.runtime.exceptions import NotFound, PermissionDenied


def app_role(actor: Actor, app_id: int) -> str | None:
    """"admin", "member" or None for this actor in this app."""
    if actor.app_id is not None and actor.app_id != app_id:
        return None
    if actor.is_admin:
        return "admin"
    if actor.user_id is None:
        return None
    row = db.session.execute(
        sa.select(AppMember.is_admin).where(AppMember.app_id == app_id, AppMember.user_id == actor.user_id)
    ).first()
    if row is None:
        return None
    return "admin" if row.is_admin else "member"


def require_app(actor: Actor, runtime, write: bool = False, admin: bool = False) -> str:
    """The actor's role in the app. Raises NotFound (not a member) or PermissionDenied."""
    role = app_role(actor, runtime.app_id)
    if role is None:
        # Not telling outsiders that the app exists.
        raise NotFound(f'No published app "{runtime.key}"')
    if write and actor.read_only:
        raise PermissionDenied("This API token is read-only")
    if admin and role != "admin":
        raise PermissionDenied("Only the app's administrators may do this")
    return role


def owner_column(table: sa.Table) -> sa.Column:
    return table.c.owner_id


def record_scope(actor: Actor, runtime, form_key: str, table: sa.Table):
    """The SQL condition limiting `table` to the records the actor may see."""
    role = require_app(actor, runtime)
    form = runtime.form(form_key)
    if role == "admin" or form.members != "own":
        return sa.true()
    return owner_column(table) == actor.user_id


def can_see(actor: Actor, runtime, form_key: str, record: dict) -> bool:
    role = require_app(actor, runtime)
    form = runtime.form(form_key)
    return role == "admin" or form.members != "own" or record.get("owner") == actor.user_id


def check_write(actor: Actor, runtime, form_key: str, record: dict | None = None) -> None:
    """Raise PermissionDenied unless the actor may create (record None) or change `record`."""
    require_app(actor, runtime, write=True)
    if record is not None and not can_see(actor, runtime, form_key, record):
        raise PermissionDenied("You may not change this record")
