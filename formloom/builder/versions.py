"""An app's published versions: the list (who and when), what changed between two of them,
and restoring one (published again as a new version, through the same plan and data checks).

Raises NotFound (no such app or version), PermissionDenied (not an app admin, a read-only
token), and what `apps.publish` raises (DefinitionError, MigrationRefused, Conflict).
"""
from __future__ import annotations

import sqlalchemy as sa

from formloom.builder import apps
from formloom.platform import audit
from formloom.platform.actor import Actor
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import AppVersion, User
from formloom.runtime.exceptions import NotFound, PermissionDenied
from formloom.runtime.schema import compile_app
from formloom.runtime.storage.migrate import compute_plan

# The parts of a definition other than forms, each a list of objects named by "key" (or by
# position when they have none, as grants have).
PARTS = ("views", "flows", "dashboards", "automations", "roles", "permissions")


def list_versions(actor: Actor, app_key: str) -> list[dict]:
    """Published versions, newest first: number, when, by whom, how many plan steps."""
    app = apps.get_app(actor, app_key, admin=True)
    rows = db.session.execute(
        sa.select(AppVersion.number, AppVersion.published_at, AppVersion.plan, User.id, User.name)
        .outerjoin(User, User.id == AppVersion.published_by_id)
        .where(AppVersion.app_id == app.id).order_by(AppVersion.number.desc())).all()
    return [{"number": r.number, "published_at": r.published_at.isoformat() + "Z",
             "published_by": {"id": r.id, "name": r.name} if r.id else None,
             "steps": len((r.plan or {}).get("steps") or []), "current": r.number == app.published_version}
            for r in rows]


def _version(app_id: int, number: int) -> AppVersion:
    row = db.session.execute(sa.select(AppVersion).where(AppVersion.app_id == app_id,
                                                         AppVersion.number == number)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"No version {number} of this app")
    return row


def _by_key(items) -> dict:
    return {(x.get("key") if isinstance(x, dict) and "key" in x else f"#{i}"): x for i, x in enumerate(items or [])}


def diff(actor: Actor, app_key: str, number: int, to: int) -> dict:
    """What changed from version `number` to version `to`: the storage plan's steps (fields,
    options, types) and, for the other parts, what was added, changed or removed."""
    app = apps.get_app(actor, app_key, admin=True)
    old, new = _version(app.id, number), _version(app.id, to)
    steps = compute_plan(compile_app(old.definition, stored=True), compile_app(new.definition, stored=True),
                         old.storage, new.storage)
    parts = []
    for part in PARTS:
        before, after = _by_key(old.definition.get(part)), _by_key(new.definition.get(part))
        for key in after.keys() - before.keys():
            parts.append({"part": part, "key": key, "change": "added"})
        for key in before.keys() - after.keys():
            parts.append({"part": part, "key": key, "change": "removed"})
        for key in before.keys() & after.keys():
            if before[key] != after[key]:
                parts.append({"part": part, "key": key, "change": "changed"})
    parts.sort(key=lambda p: (PARTS.index(p["part"]), p["change"], str(p["key"])))
    return {"from": number, "to": to, "steps": steps, "parts": parts,
            "summary": [s["summary"] for s in steps] + [f'{p["part"][:-1]} "{p["key"]}" {p["change"]}' for p in parts]}


def definition_of(actor: Actor, app_key: str, number: int) -> dict:
    """Version `number`'s definition, as it was published."""
    app = apps.get_app(actor, app_key, admin=True)
    return _version(app.id, number).definition


def restore(actor: Actor, app_key: str, number: int, dry_run: bool = False, accept_loss: bool = False) -> dict:
    """Publish version `number` again as a new version (it becomes the draft too): the same plan
    and the same refusal to lose data as any publish, and an audit line saying which."""
    if actor.read_only:
        raise PermissionDenied("This API token is read-only")
    definition = definition_of(actor, app_key, number)
    result = apps.publish(actor, app_key, dry_run=dry_run, accept_loss=accept_loss, definition=definition)
    if not dry_run:
        app = apps.get_app(actor, app_key, admin=True)
        with write_transaction():
            audit.record("restore", actor, app_id=app.id, object_type="app", object_id=app.key, label=app.name,
                         before={"version": result["version"] - 1}, after={"version": result["version"]},
                         detail=f"version {number} published again as version {result['version']}")
    return {**result, "restored": number}
