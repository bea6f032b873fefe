"""Creating apps, saving drafts and publishing them (with the migration plan).

Raises DefinitionError (the definition does not validate), Conflict (the key is taken, or
another publish won the race), MigrationRefused (data would be lost), PermissionDenied.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from formloom.platform import audit
from formloom.platform.actor import Actor
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import App, AppMember, AppVersion, Department, OutboxEvent, Role, User
from formloom.platform.webhooks.safety import refusal
from formloom.runtime import access
from formloom.runtime.apps import build_runtime, get_runtime, keep, runtime_for
from formloom.runtime.automations import secrets
from formloom.runtime.exceptions import (
    Conflict,
    DefinitionError,
    MigrationRefused,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from formloom.runtime.reading import reader_definition
from formloom.runtime.records import recompute, refreshes
from formloom.runtime.records.context import value_context
from formloom.runtime.schema import compile_app, validate_definition
from formloom.runtime.storage.migrate import (
    apply_data_steps,
    compute_plan,
    describe,
    reconcile_schema,
    refuse_duplicates,
)
from formloom.runtime.storage.tables import plan_storage_map
from formloom.runtime.views import removed as removed_fields


def get_app(actor: Actor, app_key: str, admin: bool = False) -> App:
    """The app row, for a member (or, with `admin`, an app admin). Raises NotFound."""
    app = db.session.execute(sa.select(App).where(App.key == app_key, App.deleted_at.is_(None))).scalar_one_or_none()
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
    if actor.app_id is not None:
        raise PermissionDenied("This API token is limited to one app; it cannot create apps")
    compile_app(definition)
    _check_grant_roles(definition)  # before the app row takes the key
    _check_webhooks(definition)
    key = definition["key"]
    with write_transaction():
        if db.session.execute(sa.select(App.id).where(App.key == key)).first():
            raise Conflict(f'An app with key "{key}" exists already')
        app = App(key=key, name=definition["name"], name_en=definition.get("name_en"), draft=definition,
                  created_by_id=actor.user_id)
        db.session.add(app)
        db.session.flush()
        if actor.user_id:
            db.session.add(AppMember(app_id=app.id, user_id=actor.user_id, is_admin=True))
    return publish(Actor.system() if actor.via == "system" else actor, key)


def save_draft(actor: Actor, app_key: str, definition: dict, expected_version: int | None = None) -> dict:
    """Keep a draft (valid or not) and say what is wrong with it. With `expected_version`
    (the draft version the editor loaded, `If-Match`), a draft changed since is never
    overwritten. Raises Conflict (stale version), NotFound, PermissionDenied."""
    app = get_app(actor, app_key, admin=True)
    if actor.read_only:
        raise PermissionDenied("This API token is read-only")
    published = runtime_for(app.id, app.published_version).source if app.published_version else None
    definition = secrets.keep_secrets(definition, app.draft, published)  # a masked URL stays as stored
    errors = _draft_errors(app, definition, published)
    with write_transaction():
        app = db.session.get(App, app.id, with_for_update=True, populate_existing=True)
        if expected_version is not None and expected_version != app.lock_version:
            raise Conflict(STALE_DRAFT, version=app.lock_version)
        app.draft = definition
        db.session.flush()
    return {"app": app.key, "errors": errors, "valid": not errors, "version": app.lock_version}


def _draft_errors(app: App, definition, published: dict | None) -> list[dict]:
    # Views drop the fields the draft removes at publish: not an error of the draft.
    errors = validate_definition(removed_fields.adapt(published, definition)[0])
    seen = {e["pointer"] for e in errors}
    errors += [e for e in webhook_errors(definition) if e["pointer"] not in seen]
    if isinstance(definition, dict) and definition.get("key") not in (None, app.key):
        errors.append({"pointer": "/key", "message": f'the app key is "{app.key}" and cannot change'})
    return errors


def draft_errors(actor: Actor, app_key: str) -> list[dict]:
    """What is wrong with the saved draft (what saving it said), for app admins."""
    app = get_app(actor, app_key, admin=True)
    published = runtime_for(app.id, app.published_version).source if app.published_version else None
    return _draft_errors(app, app.draft, published)


STALE_DRAFT = ("Someone else changed this draft (or published the app) after you opened it; "
               "reload to see their changes before you save yours")


def draft_version(actor: Actor, app_key: str) -> int:
    """The draft's version, its `ETag`: it moves with every save and every publish."""
    return get_app(actor, app_key, admin=True).lock_version


def publish(actor: Actor, app_key: str, dry_run: bool = False, accept_loss: bool = False,
            definition: dict | None = None) -> dict:
    """Publish the draft (or `definition`, which then becomes the draft too: a restore): plan,
    then (unless dry_run) apply DDL and data steps in one transaction."""
    app = get_app(actor, app_key, admin=True) if actor.via != "system" else _app_by_key(app_key)
    replaces_draft = definition is not None
    definition = definition if replaces_draft else app.draft
    if not isinstance(definition, dict):
        raise DefinitionError("There is no draft to publish")
    old_rt = runtime_for(app.id, app.published_version) if app.published_version else None
    # Views drop the fields this draft removes (the plan lists each) instead of breaking.
    definition, view_steps = removed_fields.adapt(old_rt.source if old_rt else None, definition)
    new_def = compile_app(definition)
    _check_grant_roles(definition)
    _check_webhooks(definition)
    if new_def.key != app.key:
        raise DefinitionError("The app key cannot change", [{"pointer": "/key", "message": f'must stay "{app.key}"'}])
    storage = plan_storage_map(app.id, new_def, old_rt.storage if old_rt else None)
    plan = compute_plan(old_rt.definition if old_rt else None, new_def,
                        old_rt.storage if old_rt else None, storage)
    plan += [{**step, "summary": describe(step)} for step in view_steps]
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
            app.name, app.name_en = definition["name"], definition.get("name_en")
            if view_steps or replaces_draft:  # the draft goes on from what was published
                app.draft = definition
            db.session.add(OutboxEvent(app_id=app.id, type="app.published", actor_id=actor.user_id,
                                       payload={"version": number, "steps": len(plan)}))
            _ensure_roles(actor, definition)
            _audit_publish(actor, app, number, old_rt, definition)
    except StaleDataError:
        raise Conflict("Someone else published this app meanwhile; review the new version first") from None
    keep(new_rt)
    return {"app": app.key, "version": number, "plan": plan, "ddl": ddl, "report": report, "dry_run": False}


def _check_grant_roles(definition: dict) -> None:
    """DefinitionError for a grant naming a role the organisation and the app both lack."""
    known = set(db.session.execute(sa.select(Role.key)).scalars())
    known |= {r["key"] for r in definition.get("roles") or [] if isinstance(r, dict)}
    errors = [{"pointer": f"/permissions/{i}/to/role",
               "message": f'role "{g["to"]["role"]}" does not exist; add it to the organisation or to the '
                          'app\'s "roles" (publishing creates those)'}
              for i, g in enumerate(definition.get("permissions") or [])
              if isinstance(g.get("to"), dict) and "role" in g["to"] and g["to"]["role"] not in known]
    missing = [{"pointer": f"/permissions/{i}/to/{kind}", "message": f"{kind} {g['to'][kind]} does not exist"}
               for i, g in enumerate(definition.get("permissions") or []) for kind, model in
               (("user", User), ("department", Department))
               if isinstance(g.get("to"), dict) and kind in g["to"] and db.session.get(model, g["to"][kind]) is None]
    if errors or missing:
        raise DefinitionError("The app definition is not valid", errors + missing)


def webhook_errors(definition) -> list[dict]:
    """A problem for each automation's webhook URL that is masked or that the server may not
    call (the check webhook subscriptions get at save), pointing at it."""
    errors = secrets.masked_errors(definition)
    masked = {e["pointer"] for e in errors}
    for ptr, _key, _j, action in secrets.webhook_actions(definition):
        reason = None if ptr + "/url" in masked else refusal(action["url"])
        if reason:
            errors.append({"pointer": ptr + "/url", "message": f"is not allowed: {reason}"})
    return errors


def _check_webhooks(definition: dict) -> None:
    errors = webhook_errors(definition)
    if errors:
        raise DefinitionError("The app definition is not valid", errors)


def _ensure_roles(actor: Actor, definition: dict) -> None:
    """Create the roles the definition lists and the organisation lacks (templates name theirs)."""
    existing = set(db.session.execute(sa.select(Role.key)).scalars())
    for r in definition.get("roles") or []:
        if r["key"] not in existing:
            db.session.add(Role(key=r["key"], name=r.get("name") or r["key"]))
            audit.record("role", actor, object_type="role", object_id=r["key"], label=r.get("name") or r["key"],
                         after={"key": r["key"], "name": r.get("name") or r["key"]}, detail="created by publishing")


def _audit_publish(actor: Actor, app: App, number: int, old_rt, definition: dict) -> None:
    audit.record("publish", actor, app_id=app.id, object_type="app", object_id=app.key, label=app.name,
                 before={"version": number - 1}, after={"version": number})
    before = (old_rt.source.get("permissions") if old_rt else None) or []
    after = definition.get("permissions") or []
    if before != after:
        audit.record("permissions", actor, app_id=app.id, object_type="app", object_id=app.key, label=app.name,
                     before={"permissions": before}, after={"permissions": after},
                     detail=f"version {number}")


def _migrate(actor: Actor, plan: list[dict], old_rt, new_rt, accept_loss: bool) -> tuple[list[str], dict]:
    """DDL and data steps, in the caller's transaction. Raises MigrationRefused."""
    refuse_duplicates(plan, old_rt, new_rt)  # before DDL: a unique index would fail on them
    try:
        ddl = reconcile_schema(new_rt.metadata)
        report = _data_steps(plan, old_rt, new_rt, value_context(actor, new_rt), accept_loss) if old_rt else {}
    except IntegrityError as exc:
        raise MigrationRefused("The new definition's unique rules clash with the data (converted values "
                               f"repeat); nothing was changed: {exc.orig}") from None
    return ddl, report


def _data_steps(plan: list[dict], old_rt, new_rt, ctx, accept_loss: bool) -> dict:
    """The publish's data steps, in order: the storage converts changed types and fills defaults
    (refusing a loss), then the records' formulas are recomputed and lookups and rollups refreshed."""
    report = apply_data_steps(plan, old_rt, new_rt, ctx, accept_loss)
    for form_key in sorted({s["form"].split(".")[0] for s in plan if s["op"] in ("recompute", "change_type")}):
        report.setdefault("recomputed", {})[form_key] = recompute.recompute_form(new_rt, form_key, ctx)
    related = sorted({s["form"] for s in plan if s["op"] == "relate" and "." not in s["form"]})
    if related:
        report["related"] = refreshes.after_publish(new_rt, related, None)
    return report


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


def definition(actor: Actor, app_key: str, reveal: bool = False) -> dict:
    """The published definition: whole (secrets masked) for app admins, what using the app
    needs for other members (`runtime/reading.py`). `reveal` (app admins) unmasks the
    secrets and is audited. Raises NotFound, PermissionDenied."""
    rt = get_runtime(app_key)
    role = access.require_app(actor, rt, admin=reveal)
    if reveal:
        _audit_reveal(actor, rt.app_id, rt.key, rt.name, f"version {rt.version}")
        return rt.raw
    if role == "admin":
        return secrets.masked(rt.raw)
    return reader_definition(actor, rt)


def draft(actor: Actor, app_key: str, reveal: bool = False) -> dict | None:
    """The draft, for app admins: secrets masked unless `reveal` (audited)."""
    app = get_app(actor, app_key, admin=True)
    if reveal:
        _audit_reveal(actor, app.id, app.key, app.name, "draft")
        return app.draft
    return secrets.masked(app.draft)


def _audit_reveal(actor: Actor, app_id: int, key: str, name: str, which: str) -> None:
    with write_transaction():
        audit.record("reveal", actor, app_id=app_id, object_type="app", object_id=key, label=name,
                     detail=f"webhook URLs of the {which}")


def list_apps(actor: Actor) -> list[App]:
    """Apps the actor may use, by name (members by user, department, role or grant)."""
    stmt = sa.select(App).where(App.published_version > 0, App.deleted_at.is_(None)).order_by(App.name)
    return [a for a in db.session.execute(stmt).scalars() if access.app_role(actor, a.id) is not None]


def _member_json(m: AppMember) -> dict:
    out = {"id": m.id, "admin": m.is_admin}
    if m.user_id is not None:
        out["user"] = m.user_id
    elif m.department_id is not None:
        out.update(department=m.department_id, include_children=m.include_children)
    else:
        out["role"] = db.session.get(Role, m.role_id).key
    return out


def list_members(actor: Actor, app_key: str) -> list[dict]:
    """Who may use the app: users, departments and roles, each maybe as an admin."""
    app = get_app(actor, app_key, admin=True)
    rows = db.session.execute(sa.select(AppMember).where(AppMember.app_id == app.id).order_by(AppMember.id)).scalars()
    return [_member_json(m) for m in rows]


def add_member(actor: Actor, app_key: str, user_id: int | None = None, is_admin: bool = False, *,
               department_id: int | None = None, role_key: str | None = None,
               include_children: bool = True) -> dict:
    """Let a user, a department (and, unless told otherwise, those below it) or a role use
    the app, or administer it. Adding one already there changes its admin flag."""
    app = get_app(actor, app_key, admin=True)
    if actor.read_only:
        raise PermissionDenied("This API token is read-only")
    given = [x for x in (user_id, department_id, role_key) if x is not None]
    if len(given) != 1:
        raise ValidationFailed("Name exactly one of a user, a department or a role",
                               [{"field": "user", "message": "give one of user, department, role"}])
    with write_transaction():
        where, values = _principal(user_id, department_id, role_key)
        member = db.session.execute(sa.select(AppMember).where(AppMember.app_id == app.id, where)).scalar_one_or_none()
        before = _member_json(member) if member else None
        if member is None:
            member = AppMember(app_id=app.id, is_admin=is_admin, include_children=include_children, **values)
            db.session.add(member)
        else:
            if before["admin"] and not is_admin:
                _keep_an_admin(app, member)
            member.is_admin = is_admin
            member.include_children = include_children
        db.session.flush()
        after = _member_json(member)
        if after != before:
            audit.record("member", actor, app_id=app.id, object_type="app", object_id=app.key, label=app.name,
                         before=before, after=after)
    return {**after, "created": before is None}


def _keep_an_admin(app: App, leaving: AppMember) -> None:
    """Conflict when `leaving` is the app's last administrator row."""
    others = db.session.execute(sa.select(sa.func.count()).select_from(AppMember).where(
        AppMember.app_id == app.id, AppMember.is_admin, AppMember.id != leaving.id)).scalar()
    if not others:
        raise Conflict("The app must keep at least one administrator: make someone else an administrator first")


def _principal(user_id, department_id, role_key):
    """(where clause, column values) naming one member; ValidationFailed if it does not exist."""
    if user_id is not None:
        if db.session.get(User, user_id) is None:
            raise ValidationFailed(f"No user {user_id}", [{"field": "user", "message": "not found"}])
        return AppMember.user_id == user_id, {"user_id": user_id}
    if department_id is not None:
        if db.session.get(Department, department_id) is None:
            raise ValidationFailed(f"No department {department_id}", [{"field": "department", "message": "not found"}])
        return AppMember.department_id == department_id, {"department_id": department_id}
    role = db.session.execute(sa.select(Role).where(Role.key == role_key)).scalar_one_or_none()
    if role is None:
        raise ValidationFailed(f'No role "{role_key}"', [{"field": "role", "message": "not found"}])
    return AppMember.role_id == role.id, {"role_id": role.id}


def remove_member(actor: Actor, app_key: str, member_id: int) -> None:
    app = get_app(actor, app_key, admin=True)
    if actor.read_only:
        raise PermissionDenied("This API token is read-only")
    with write_transaction():
        member = db.session.get(AppMember, member_id)
        if member is None or member.app_id != app.id:
            raise NotFound(f"No member {member_id} in this app")
        before = _member_json(member)
        if member.is_admin:
            _keep_an_admin(app, member)
        db.session.delete(member)
        audit.record("member", actor, app_id=app.id, object_type="app", object_id=app.key, label=app.name,
                     before=before, after=None)
