"""`notify`: tell people (in the app, and by email as each one's preferences say), each with
only what they may see of the record."""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from flask_babel import ngettext

from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import AppMember, Department, Role, User, user_roles
from formloom.platform.notify import notify
from formloom.runtime import access
from formloom.runtime.automations import values as vals
from formloom.runtime.automations.actions.common import CONDITION, KEY, FormAction, schema, words
from formloom.runtime.automations.engine import Run
from formloom.runtime.fields import type_of
from formloom.runtime.storage import store

MAX_NOTIFIED_RECORDS = 1_000


RECIPIENT = {"oneOf": [
    {"type": "object", "required": ["user"], "additionalProperties": False,
     "properties": {"user": {"type": "integer", "minimum": 1}}},
    {"type": "object", "required": ["role"], "additionalProperties": False, "properties": {"role": KEY}},
    {"type": "object", "required": ["department"], "additionalProperties": False,
     "properties": {"department": {"type": "integer", "minimum": 1}}},
    {"type": "object", "required": ["field"], "additionalProperties": False,
     "properties": {"field": {"type": "string", "maxLength": 64}}},
    {"type": "object", "required": ["app_admins"], "additionalProperties": False,
     "properties": {"app_admins": {"const": True}}},
], "x-message": 'must be one of {"user": id}, {"role": key}, {"department": id}, {"field": "<user field>"} '
                'or {"app_admins": true}'}


class Notify(FormAction):
    """Tell people (in the app, and by email as each one's preferences say). With `form` and
    `where`, once per matching record; else about the triggering record, if any."""

    type = "notify"
    schema = schema(("to", "title"), to={"type": "array", "minItems": 1, "maxItems": 50, "items": RECIPIENT},
                     title={"type": "string", "minLength": 1, "maxLength": 300},
                     message={"type": "string", "maxLength": 5000}, form=KEY, where=CONDITION)

    def check(self, action, ptr, ctx):
        err = ctx.err
        if ("form" in action) != ("where" in action):
            err(ptr + ("/where" if "form" in action else "/form"), '"form" and "where" go together: the records '
                                                                    "to tell people about")
        form = self.target(action, ptr, ctx) if "form" in action else ctx.forms.get(ctx.source)
        self.check_where(action, ptr, form, ctx)
        for field in ("title", "message"):
            vals.check_template(action.get(field), f"{ptr}/{field}", form, err)
        for i, to in enumerate(action["to"]):
            if "field" not in to:
                continue
            key = to["field"]
            f = form.fields.get(key) if form else None
            if form is None:
                err(f"{ptr}/to/{i}/field", "there is no record here whose field could name people")
            elif key not in ("$owner", "$created_by", "$updated_by") and (f is None or type_of(f).refers_to != "user"):
                err(f"{ptr}/to/{i}/field", f'"{key}" is not a user field of form "{form.key}"')

    def run(self, run, action, index):
        form_key = action.get("form") or run.form_key
        if "where" in action:
            ids = run.matching(form_key, action["where"], cap=MAX_NOTIFIED_RECORDS)
            records = list(run.load(form_key, ids).values())
        else:
            records = [run.record]
        told = 0
        for record in records:
            users = self.recipients(run, action["to"], record)
            for user in users:
                told += self.tell(run, action, index, form_key, record, user)
        return {"notified": told, "records": len(records) if records != [None] else 0}

    @staticmethod
    def recipients(run: Run, to: list[dict], record: dict | None) -> list[User]:
        ids: set[int] = set()
        flat = store.flat_values(record) if record else {}
        for spec in to:
            if "user" in spec:
                ids.add(spec["user"])
            elif "field" in spec:
                value = flat.get(spec["field"])
                ids.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, int))
            elif "role" in spec:
                ids.update(db.session.execute(sa.select(user_roles.c.user_id).join(
                    Role, Role.id == user_roles.c.role_id).where(Role.key == spec["role"])).scalars())
            elif "department" in spec:
                ids.update(db.session.execute(sa.select(User.id).where(
                    User.department_id == spec["department"])).scalars())
            else:
                ids.update(db.session.execute(sa.select(AppMember.user_id).where(
                    AppMember.app_id == run.runtime.app_id, AppMember.is_admin.is_(True),
                    AppMember.user_id.is_not(None))).scalars())
        if not ids:
            return []
        return list(db.session.execute(sa.select(User).where(User.id.in_(ids), User.active.is_(True))
                                       .order_by(User.id)).scalars())

    def tell(self, run: Run, action: dict, index: int, form_key: str | None, record: dict | None, user: User) -> int:
        """One notification for `user`, showing only the fields they may see."""
        url, hidden, visible = None, set(), record is None
        reader = Actor.from_user(user)
        if record is not None:
            fa = access.form_access(reader, run.runtime, form_key)
            visible = fa.can("view") and fa.permits("view", record)
            hidden = fa.hidden(record) if visible else set()
            if visible and not record.get("deleted_at"):
                url = f"/a/{run.runtime.key}/f/{form_key}/r/{record['id']}"
        flat = store.flat_values(record) if record else {}
        form = run.runtime.form(form_key) if form_key else None
        locale = user.locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")

        def show(key: str, value) -> str:
            if not visible or key in hidden:
                return "—"
            return _text(run.runtime, reader, form, key, value, locale)

        title = vals.render(action["title"], flat, show)
        body = vals.render(action.get("message", ""), flat, show)
        key = f"automation:{run.runtime.app_id}:{run.automation.key}:{run.slot}:{index}:{record['id'] if record else 0}"
        return len(notify([user.id], "automation", title, body, url=url, app_id=run.runtime.app_id, dedupe_key=key))

    def describe(self, action, app, locale):
        return words(locale, "Notify: %(title)s", title=action["title"])

    def done_words(self, result):
        return ngettext("Notified %(num)d person", "Notified %(num)d people", result.get("notified", 0))


def _text(runtime, reader: Actor, form, key: str, value, locale: str) -> str:
    """A value as a notification says it: names for people and departments, titles for links."""
    if value in (None, "", []):
        return "—"
    if form is None or key.startswith("$"):
        if key in ("$owner", "$created_by", "$updated_by"):
            return _names(User, [value])
        return str(vals.as_input(value))
    f = form.fields[key]
    items = value if isinstance(value, list) else [value]
    if type_of(f).refers_to == "user":
        return _names(User, items)
    if type_of(f).refers_to == "department":
        return _names(Department, items)
    if type_of(f).refers_to == "record":
        return _titles(runtime, reader, f["form"], items)
    return form.type_of(key).format(f, value, locale) or "—"


def _titles(runtime, reader: Actor, form_key: str, ids: list) -> str:
    """Linked records by their title, as far as the reader may see them (#id otherwise)."""
    target = runtime.form(form_key)
    ft = runtime.form_tables(form_key)
    col = ft.columns.get(target.title_field) if target.title_field else None
    titles = {}
    if col is not None:
        t = ft.table
        titles = dict(db.session.execute(sa.select(t.c.id, col).where(
            t.c.id.in_(ids), access.record_scope(reader, runtime, form_key, t))).all())
    return ", ".join(str(titles.get(i) or f"#{i}") for i in ids)


def _names(model, ids) -> str:
    rows = db.session.execute(sa.select(model.id, model.name).where(model.id.in_([i for i in ids if isinstance(i, int)])))
    names = dict(rows.all())
    return ", ".join(names.get(i, f"#{i}") for i in ids)
