"""The apps' bin: an app admin moves an app there (nobody reaches it any more, its data and
versions stay); an organisation admin sees the bin and restores an app from it.

Raises NotFound, PermissionDenied.
"""
from __future__ import annotations

import sqlalchemy as sa

from formloom.builder import apps
from formloom.platform import audit
from formloom.platform.actor import Actor
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import App, utcnow
from formloom.runtime.exceptions import NotFound, PermissionDenied


def move_to_bin(actor: Actor, app_key: str) -> None:
    """Put the app in the bin (app admins)."""
    app = apps.get_app(actor, app_key, admin=True)
    if actor.read_only:
        raise PermissionDenied("This API token is read-only")
    with write_transaction():
        app = db.session.get(App, app.id)
        app.deleted_at = utcnow()
        audit.record("app_bin", actor, app_id=app.id, object_type="app", object_id=app.key, label=app.name,
                     before={"deleted": False}, after={"deleted": True}, detail="moved to the bin")


def _org_admin(actor: Actor) -> None:
    if not actor.org_admin:
        raise PermissionDenied("Only organisation administrators can see the bin and restore apps")


def in_bin(actor: Actor) -> list[App]:
    """The apps in the bin, most recently deleted first (organisation admins)."""
    _org_admin(actor)
    return list(db.session.execute(sa.select(App).where(App.deleted_at.is_not(None))
                                   .order_by(App.deleted_at.desc())).scalars())


def restore(actor: Actor, app_id: int) -> App:
    """Take an app out of the bin, as it was (organisation admins)."""
    _org_admin(actor)
    if actor.read_only:
        raise PermissionDenied("This API token is read-only")
    with write_transaction():
        app = db.session.get(App, app_id)
        if app is None or app.deleted_at is None:
            raise NotFound("This app is not in the bin")
        app.deleted_at = None
        audit.record("app_bin", actor, app_id=app.id, object_type="app", object_id=app.key, label=app.name,
                     before={"deleted": True}, after={"deleted": False}, detail="restored from the bin")
    return app
