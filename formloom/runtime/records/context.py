"""What evaluating values for one actor needs: time in the app's zone, lookups, condition env.

A ValueContext lives for one transaction, so its lookups remember what they found: a bulk
create of 10,000 rows linking the same company asks the database once, not 10,000 times.
"""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from formloom.platform import files, org, orgtree, reqcache
from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.inputs import is_id
from formloom.platform.models import StoredFile
from formloom.runtime import access, conditions
from formloom.runtime.fields import ValueContext, field_types
from formloom.runtime.storage import store

BATCH = 500  # ids per IN (...)
ENV = "condition_env"


def app_timezone(runtime) -> str:
    return runtime.definition.timezone or current_app.config.get("FORMLOOM_TIMEZONE", "UTC")


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class _Remembered:
    """An `ids -> found` lookup that asks the database only about ids it has not seen."""

    def __init__(self, fetch):
        self.fetch = fetch  # (ids) -> {id: value} of the ids that exist
        self.known: dict = {}

    def found(self, ids) -> dict:
        unseen = list(dict.fromkeys(i for i in ids if i not in self.known))
        for start in range(0, len(unseen), BATCH):
            batch = unseen[start:start + BATCH]
            hits = self.fetch(batch)
            self.known.update({i: hits.get(i) for i in batch})
        return {i: self.known[i] for i in ids if self.known.get(i) is not None}


def value_context(actor: Actor, runtime) -> ValueContext:
    """A ValueContext whose lookups see only what the actor may reference."""
    tz = app_timezone(runtime)
    now = now_utc()
    today = now.replace(tzinfo=UTC).astimezone(ZoneInfo(tz)).date()
    per_form: dict[str, _Remembered] = {}

    def visible_records(form_key: str):
        def fetch(ids: list[int]) -> dict:
            t = runtime.form_tables(form_key).table
            scope = access.record_scope(actor, runtime, form_key, t)
            stmt = store.live_ids(t)
            if not isinstance(scope, sa.sql.elements.True_):
                stmt = stmt.where(scope)
            return {rid: True for rid in db.session.execute(stmt, {"ids": ids}).scalars()}
        return fetch

    def record_exists(form_key: str, ids: list[int]) -> set[int]:
        if form_key not in per_form:
            runtime.form(form_key)  # NotFound for a form the app lacks
            per_form[form_key] = _Remembered(visible_records(form_key))
        return set(per_form[form_key].found(ids))

    def fetch_files(ids: list[str]) -> dict:
        # A record may hold files its writer uploaded or may already download: knowing
        # another file's id must not be a way to read it. Files are looked up to be saved in
        # a record: they count as attached from now (undone if the save rolls back).
        files.attach(runtime.app_id, ids)
        rows = db.session.execute(
            sa.select(StoredFile).where(StoredFile.id.in_(ids), StoredFile.app_id == runtime.app_id)
        ).scalars()
        return {f.id: {"id": f.id, "name": f.name, "size": f.size, "content_type": f.content_type} for f in rows
                if f.created_by_id == actor.user_id and actor.user_id is not None
                or access.may_download(actor, runtime, f)}

    users = _Remembered(lambda ids: dict.fromkeys(org.existing_users(ids), True))
    departments = _Remembered(lambda ids: dict.fromkeys(org.existing_departments(ids), True))
    stored = _Remembered(fetch_files)
    return ValueContext(tz=tz, today=today, now=now,
                        user_exists=lambda ids: set(users.found(ids)),
                        department_exists=lambda ids: set(departments.found(ids)),
                        record_exists=record_exists, file_lookup=stored.found,
                        extra={"actor_id": actor.user_id})  # "$me" defaults in subform rows


def condition_env(actor: Actor, runtime, record: dict | None = None, ctx: ValueContext | None = None) -> conditions.Env:
    """The condition env of the actor; with a `ctx`, the org lookups are made once per ctx."""
    if ctx is not None and record is None and ENV in ctx.extra:
        return ctx.extra[ENV]
    ctx = ctx or value_context(actor, runtime)
    env = conditions.Env(user_id=actor.user_id, department_id=actor.department_id, record=record,
                         today=ctx.today, now=ctx.now, tz=ctx.tz, org=lambda name: org_value(actor, name))
    if record is None:
        ctx.extra[ENV] = env
    return env


def org_value(actor: Actor, name: str) -> tuple[int, ...]:
    """One fact about the actor's place in the organisation, as conditions read it: asked
    of the database only when a condition names it, and once per request."""
    def compute():
        if name == "subordinates":
            return org.subordinates(actor.user_id)
        if name == "department_members":
            return orgtree.department_members(actor.department_id)
        tree = org.department_subtree([actor.department_id]) if actor.department_id else set()
        return tuple(sorted(tree))

    return reqcache.cached("org_value", (actor.user_id, actor.department_id, name), compute)


def _ids(value) -> list:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("id")
        if isinstance(item, str) and item.strip().isdecimal() and len(item.strip()) <= 18:
            item = int(item.strip())
        if is_id(item):  # what the field refuses is left for it to say so
            out.append(item)
    return out


def prefetch(ctx: ValueContext, form, rows: list) -> None:
    """Look up every id the rows reference in a few queries, before they are checked one by one."""
    wanted: dict[tuple, tuple[dict, set]] = {}

    def collect(form_def, data) -> None:
        if not isinstance(data, dict):
            return
        for key, value in data.items():
            f = form_def.fields.get(key)
            if f is None or value in (None, "", []):
                continue
            if key in form_def.children and isinstance(value, list):
                for row in value:
                    collect(form_def.children[key], row)
            elif field_types.get(f["type"]).refers_to:
                wanted.setdefault((f["type"], f.get("form")), (f, set()))[1].update(_ids(value))

    for data in rows:
        collect(form, data)
    for field, ids in wanted.values():
        # Each reference type asks its own lookup; the ctx remembers the answers.
        field_types.get(field["type"]).existing(field, sorted(ids), ctx)

