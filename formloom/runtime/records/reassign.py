"""Handing one user's records to another: when someone leaves, their records stay and an
administrator gives them a new owner, in every published app at once.

The organisation pages and API reach this through the platform's hook points
`records_owned` and `reassign_records` (`platform/hooks.py`), registered in `runtime.init_app`."""
from __future__ import annotations

import sqlalchemy as sa

from formloom.platform import audit
from formloom.platform.actor import Actor
from formloom.platform.extensions import db, write_transaction
from formloom.platform.hooks import INACTIVE_TARGET, SAME_USER
from formloom.platform.models import App, OutboxEvent, RecordRevision, User
from formloom.runtime.apps import AppRuntime, runtime_for
from formloom.runtime.exceptions import NotFound, PermissionDenied, ValidationFailed
from formloom.runtime.records.context import now_utc
from formloom.runtime.storage import store


def _published() -> list[AppRuntime]:
    rows = db.session.execute(sa.select(App.id, App.published_version).where(App.published_version > 0)
                              .order_by(App.id)).all()
    return [runtime_for(app_id, version) for app_id, version in rows]


def count_owned(user_id: int) -> int:
    """How many records (the recycle bin's included) `user_id` owns across all published apps."""
    total = 0
    for rt in _published():
        for key in rt.definition.forms:
            table = rt.tables[key].table
            total += db.session.execute(sa.select(sa.func.count()).select_from(table)
                                        .where(table.c.owner_id == user_id)).scalar()
    return total


def _move(actor: Actor, rt: AppRuntime, form_key: str, from_id: int, to_id: int, now) -> int:
    """Give one form's records of `from_id` to `to_id`, with a revision and an event per record."""
    form = rt.definition.forms[form_key]
    ft = rt.tables[form_key]
    table = ft.table
    values = {"owner_id": to_id, "version": table.c.version + 1, "updated_at": now, "updated_by": actor.user_id}
    owner_column = ft.columns.get(form.owner_field) if form.owner_field else None
    if owner_column is not None:
        values[owner_column.name] = to_id
    # RETURNING: exactly the rows this statement moved get a revision, even if others race in.
    moved = db.session.execute(table.update().where(table.c.owner_id == from_id).values(values)
                               .returning(table.c.id, table.c.version)).all()
    changes = {form.owner_field or "$owner": [from_id, to_id]}
    revisions = [{"app_id": rt.app_id, "form_key": form_key, "record_id": rid, "version": version,
                  "action": "updated", "changes": changes, "actor_id": actor.user_id, "at": now}
                 for rid, version in moved]
    events = [{"app_id": rt.app_id, "form_key": form_key, "record_id": rid, "type": "record.updated",
               "payload": {"form": form_key, "record_id": rid, "version": version, "changes": changes},
               "actor_id": actor.user_id, "created_at": now, "attempts": 0} for rid, version in moved]
    for target, rows in ((RecordRevision.__table__, revisions), (OutboxEvent.__table__, events)):
        for batch in store.chunks(rows, 2000):
            store.insert_rows(target, batch)
    return len(moved)


def reassign_owner(actor: Actor, from_user_id: int, to_user_id: int) -> int:
    """Make `to_user_id` the owner of every record `from_user_id` owns; returns how many moved.

    One transaction over all apps. Raises PermissionDenied (organisation admins only),
    NotFound and ValidationFailed (same user, or a deactivated receiver).
    """
    if not actor.org_admin:
        raise PermissionDenied("Only organisation administrators reassign records")
    with write_transaction():
        source = db.session.get(User, from_user_id)
        target = db.session.get(User, to_user_id)
        for ident, user in ((from_user_id, source), (to_user_id, target)):
            if user is None:
                raise NotFound(f"There is no user {ident}")
        if source.id == target.id:
            raise ValidationFailed.of(SAME_USER, [{"field": "to", "message": "is the same user"}])
        if not target.active:
            raise ValidationFailed.of(INACTIVE_TARGET, [{"field": "to", "message": "is deactivated"}], name=target.name)
        now = now_utc()
        per_app = {}
        for rt in _published():
            n = sum(_move(actor, rt, key, source.id, target.id, now) for key in rt.definition.forms)
            if n:
                per_app[rt.key] = n
        moved = sum(per_app.values())
        audit.record("reassign", actor, object_type="user", object_id=source.id, label=source.email,
                     before={"owner": source.id}, after={"owner": target.id, "moved": moved, "apps": per_app},
                     detail=f"{moved} records to {target.email}")
    return moved
