"""Creating apps, saving drafts and publishing them (with the migration plan).

Raises DefinitionError (the definition does not validate), Conflict (the key is taken, or
another publish won the race), MigrationRefused (data would be lost), PermissionDenied.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from formloom.platform.actor import Actor
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import App, AppMember, AppVersion, OutboxEvent
from formloom.runtime import access
from formloom.runtime.apps import build_runtime, get_runtime, keep, runtime_for
from formloom.runtime.exceptions import (
    Conflict,
    DefinitionError,
    MigrationRefused,
    NotFound,
    PermissionDenied,
)
from formloom.runtime.records.context import value_context
from formloom.runtime.schema import compile_app, validate_definition
from formloom.runtime.storage.migrate import (
    apply_data_steps,
    compute_plan,
    reconcile_schema,
    refuse_duplicates,
)
from formloom.runtime.storage.tables import plan_storage_map


def get_app(actor: Actor, app_key: str, admin: bool = False) -> App:
    """The app row, for a member (or, with `admin`, an app admin). Raises NotFound."""
    app = db.session.execute(sa.select(App).where(App.key == app_key)).scalar_one_or_none()
    if app is None or access.app_role(actor, app.id) is None:
        raise NotFound(f'No app "{app_key}"')
    if admin and access.app_role(actor, app.id) != "admin":
        raise PermissionDenied("Only the app's administrators may do this")
    return app


def create_app(actor: Actor, definition: dict) -> dict:
    """Create an app from a definition and publish it as version 1."""
    if actor.user_id is None and actor.via != "system":
        raise PermissionDenied("Sign in to create apps")
    if actor.read_only:
        raise PermissionDenied("This API token is read-only")
    compile_app(definition)
    key = definition["key"]
    with write_transaction():
        if db.session.execute(sa.select(App.id).where(App.key == key)).first():
            raise Conflict(f'An app with key "{key}" exists already')
        app = App(key=key, name=definition["name"], draft=definition, created_by_id=actor.user_id)
        db.session.add(app)
        db.session.flush()
        if actor.user_id:
            db.session.add(AppMember(app_id=app.id, user_id=actor.user_id, is_admin=True))
    return publish(Actor.system() if actor.via == "system" else actor, key)


def save_draft(actor: Actor, app_key: str, definition: dict) -> dict:
    """Keep a draft (valid or not) and say what is wrong with it."""
    app = get_app(actor, app_key, admin=True)
    if actor.read_only:
        raise PermissionDenied("This API token is read-only")
    errors = validate_definition(definition)
    if isinstance(definition, dict) and definition.get("key") not in (None, app.key):
        errors.append({"pointer": "/key", "message": f'the app key is "{app.key}" and cannot change'})
    with write_transaction():
        app = db.session.get(App, app.id)
        app.draft = definition
    return {"app": app.key, "errors": errors, "valid": not errors}


def publish(actor: Actor, app_key: str, dry_run: bool = False, accept_loss: bool = False) -> dict:
    """Publish the draft: plan, then (unless dry_run) apply DDL and data steps in one transaction."""
    app = get_app(actor, app_key, admin=True) if actor.via != "system" else _app_by_key(app_key)
    definition = app.draft
    if not isinstance(definition, dict):
        raise DefinitionError("There is no draft to publish")
    new_def = compile_app(definition)
    if new_def.key != app.key:
        raise DefinitionError("The app key cannot change", [{"pointer": "/key", "message": f'must stay "{app.key}"'}])
    old_rt = runtime_for(app.id, app.published_version) if app.published_version else None
    storage = plan_storage_map(app.id, new_def, old_rt.storage if old_rt else None)
    plan = compute_plan(old_rt.definition if old_rt else None, new_def,
                        old_rt.storage if old_rt else None, storage)
    number = app.published_version + 1
    new_rt = build_runtime(app.id, app.key, definition["name"], number, definition, storage)
    if dry_run:
        return {"app": app.key, "version": app.published_version, "next_version": number, "plan": plan,
                "dry_run": True, **_rehearse(actor, plan, old_rt, new_rt, accept_loss)}
    try:
        with write_transaction():
            app = db.session.get(App, app.id, with_for_update=True, populate_existing=True)
            if app.published_version != number - 1:
                raise Conflict("Someone else published this app meanwhile; review the new version first")
            ddl, report = _migrate(actor, plan, old_rt, new_rt, accept_loss)
            db.session.add(AppVersion(app_id=app.id, number=number, definition=definition, storage=storage,
                                      plan={"steps": plan, "ddl": ddl, "report": report},
                                      published_by_id=actor.user_id))
            app.published_version = number
            app.name = definition["name"]
            db.session.add(OutboxEvent(app_id=app.id, type="app.published", actor_id=actor.user_id,
                                       payload={"version": number, "steps": len(plan)}))
    except StaleDataError:
        raise Conflict("Someone else published this app meanwhile; review the new version first") from None
    keep(new_rt)
    return {"app": app.key, "version": number, "plan": plan, "ddl": ddl, "report": report, "dry_run": False}


def _migrate(actor: Actor, plan: list[dict], old_rt, new_rt, accept_loss: bool) -> tuple[list[str], dict]:
    """DDL and data steps, in the caller's transaction. Raises MigrationRefused."""
    refuse_duplicates(plan, old_rt, new_rt)  # before DDL: a unique index would fail on them
    try:
        ddl = reconcile_schema(new_rt.metadata)
        report = apply_data_steps(plan, old_rt, new_rt, value_context(actor, new_rt), accept_loss) if old_rt else {}
    except IntegrityError as exc:
        raise MigrationRefused("The new definition's unique rules clash with the data (converted values "
                               f"repeat); nothing was changed: {exc.orig}") from None
    return ddl, report


def _rehearse(actor: Actor, plan: list[dict], old_rt, new_rt, accept_loss: bool) -> dict:
    """Run the migration in a transaction that is rolled back: what publishing would do or refuse."""
    session = db.session()
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={"formloom_write": True})
    try:
        ddl, report = _migrate(actor, plan, old_rt, new_rt, accept_loss)
        return {"ddl": ddl, "report": report, "refused": None}
    except MigrationRefused as exc:
        return {"refused": {"detail": exc.message, "errors": exc.errors, **exc.extra}}
    finally:
        session.rollback()


def _app_by_key(app_key: str) -> App:
    app = db.session.execute(sa.select(App).where(App.key == app_key)).scalar_one_or_none()
    if app is None:
        raise NotFound(f'No app "{app_key}"')
    return app


def definition(actor: Actor, app_key: str) -> dict:
    """The published definition, for a member."""
    rt = get_runtime(app_key)
    access.require_app(actor, rt)
    return rt.raw


def list_apps(actor: Actor) -> list[App]:
    """Apps the actor may use, by name."""
    stmt = sa.select(App).where(App.published_version > 0).order_by(App.name)
    if not actor.is_admin:
        stmt = stmt.join(AppMember, AppMember.app_id == App.id).where(AppMember.user_id == actor.user_id)
    if actor.app_id:
        stmt = stmt.where(App.id == actor.app_id)
    return list(db.session.execute(stmt).scalars())


def add_member(actor: Actor, app_key: str, user_id: int, is_admin: bool = False) -> None:
    """Let a user use the app (or administer it)."""
    app = get_app(actor, app_key, admin=True)
    with write_transaction():
        member = db.session.execute(sa.select(AppMember).where(
            AppMember.app_id == app.id, AppMember.user_id == user_id)).scalar_one_or_none()
        if member is None:
            db.session.add(AppMember(app_id=app.id, user_id=user_id, is_admin=is_admin))
        else:
            member.is_admin = is_admin
