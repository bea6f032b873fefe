"""What an automation does: write records, tell people, call a webhook.

Record actions go through the records service as the system (so revisions, formulas,
validation and events are as for any write); a value the target field refuses fails the
action with the field named. Notifications are written per recipient with only what that
person may see.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from formloom.platform import jobs
from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import AppMember, Department, Job, Role, User, user_roles
from formloom.platform.notify import notify
from formloom.platform.webhooks import send
from formloom.platform.webhooks.safety import UnsafeURL, allowed_hosts, check_url
from formloom.runtime import access, conditions
from formloom.runtime.automations import values as vals
from formloom.runtime.automations.engine import Run, update_result
from formloom.runtime.automations.model import ActionType, Err, action_types, check_schema
from formloom.runtime.automations.secrets import mask_url
from formloom.runtime.automations.triggers import KEY
from formloom.runtime.fields import type_of
from formloom.runtime.records import service
from formloom.runtime.records.serialize import record_json
from formloom.runtime.schema.validate import operand_resolver
from formloom.runtime.storage import store

MAX_NOTIFIED_RECORDS = 1_000
WEBHOOK_JOB = "automation.webhook"
WEBHOOK_ATTEMPTS = 6
CONDITION = {"type": "object"}
VALUES = {"type": "object", "maxProperties": 200}


def _schema(required: tuple[str, ...], **properties) -> dict:
    return {"type": "object", "required": ["type", *required], "additionalProperties": False,
            "properties": {"type": {"type": "string"}, **properties}}


def _words(locale: str, text: str, **values) -> str:
    with force_locale(locale):
        return _(text, **values)


class FormAction(ActionType):
    """An action on the records of one form of the app."""

    def target(self, action: dict, ptr: str, app, err: Err):
        form = app.forms.get(action.get("form"))
        if form is None:
            err(ptr + "/form", f'"{action.get("form")}" is not a form of this app')
        elif form.parent:
            err(ptr + "/form", f'"{form.key}" is a subform; name the form that holds it')
            return None
        return form

    def check_where(self, action: dict, ptr: str, app, form, source, err: Err) -> None:
        if form is None or "where" not in action:
            return
        src = app.forms.get(source) if source else None
        record_resolver = operand_resolver(src) if src else _no_record
        for pointer, message in conditions.validate(action["where"], operand_resolver(form),
                                                    record_resolver=record_resolver):
            err(ptr + "/where" + pointer, message)

    def updates(self, run: Run, action: dict, ids: list[int]) -> tuple[list[int], int]:
        """Apply `set` to each record; (ids changed, ids unchanged count)."""
        changed, same = [], 0
        form = action["form"]
        for batch in store.chunks(ids):
            for rid, record in run.load(form, batch).items():
                target = store.flat_values(record)
                data = {k: vals.evaluate(spec, run, run.flat, target) for k, spec in action["set"].items()}
                after = service.update(run.actor, run.runtime, form, rid, data)
                if after["version"] != record["version"]:
                    changed.append(rid)
                else:
                    same += 1
        return changed, same


def _no_record(key: str):
    raise KeyError(key)


class CreateRecord(FormAction):
    type = "create_record"
    schema = _schema(("form", "values"), form=KEY, values=VALUES, owner={}, draft={"type": "boolean"})

    def check(self, action, ptr, app, source, err):
        form = self.target(action, ptr, app, err)
        if form is not None:
            vals.check_set(action["values"], ptr + "/values", form, app.forms.get(source), app.types, err)
        if "owner" in action and vals.is_special(action["owner"]):
            kind, arg = next(iter(action["owner"].items()))
            if kind != "var":
                err(ptr + "/owner", 'the owner is a user id or {"var": "record.<user field>"}')
            else:
                vals._check_var(arg, ptr + "/owner/var", app.forms.get(source), None, err)
        elif "owner" in action and (isinstance(action["owner"], bool) or not isinstance(action["owner"], int)):
            err(ptr + "/owner", "the owner is a user id or {\"var\": \"record.<user field>\"}")

    def run(self, run, action, index):
        data = {k: vals.evaluate(spec, run, run.flat) for k, spec in action["values"].items()}
        owner = vals.evaluate(action["owner"], run, run.flat) if "owner" in action else (run.flat or {}).get("$owner")
        if isinstance(owner, list):
            owner = owner[0] if owner else None
        # "draft": true keeps the record out of its form's approval flow until a person submits it
        record = service.create(run.actor, run.runtime, action["form"], data, owner=owner,
                                draft=bool(action.get("draft")))
        return {"form": action["form"], "created": [record["id"]]}

    def describe(self, action, app, locale):
        return _words(locale, "Create a %(form)s record", form=app.forms[action["form"]].display_name(locale))


class UpdateRecords(FormAction):
    type = "update_records"
    schema = _schema(("form", "where", "set"), form=KEY, where=CONDITION, set={**VALUES, "minProperties": 1})

    def check(self, action, ptr, app, source, err):
        form = self.target(action, ptr, app, err)
        self.check_where(action, ptr, app, form, source, err)
        if form is not None:
            vals.check_set(action["set"], ptr + "/set", form, app.forms.get(source), app.types, err, updating=True)

    def run(self, run, action, index):
        ids = run.matching(action["form"], action["where"])
        changed, same = self.updates(run, action, ids)
        return {"form": action["form"], "matched": len(ids), "updated": changed[:100], "unchanged": same}

    def describe(self, action, app, locale):
        return _words(locale, "Update the matching %(form)s records", form=app.forms[action["form"]].display_name(locale))


class UpsertRecord(UpdateRecords):
    """Update the records matching `where`; when none does, create one from `set` (and `create`)."""

    type = "upsert_record"
    schema = _schema(("form", "where", "set"), form=KEY, where=CONDITION, set={**VALUES, "minProperties": 1},
                     create=VALUES)

    def check(self, action, ptr, app, source, err):
        super().check(action, ptr, app, source, err)
        form = app.forms.get(action.get("form"))
        if form is not None and "create" in action:
            vals.check_set(action["create"], ptr + "/create", form, app.forms.get(source), app.types, err)
        if form is not None:
            for key, spec in action["set"].items():
                if isinstance(spec, dict) and str(spec.get("var", "")).startswith("target."):
                    err(f"{ptr}/set/{key}/var", '"target" is empty when the record is created: use it in "create" '
                                               "or in an update_records action")

    def run(self, run, action, index):
        ids = run.matching(action["form"], action["where"])
        if ids:
            changed, same = self.updates(run, action, ids)
            return {"form": action["form"], "matched": len(ids), "updated": changed[:100], "unchanged": same}
        spec = {**action["set"], **action.get("create", {})}
        data = {k: vals.evaluate(v, run, run.flat) for k, v in spec.items()}
        record = service.create(run.actor, run.runtime, action["form"], data, owner=(run.flat or {}).get("$owner"))
        return {"form": action["form"], "matched": 0, "created": [record["id"]]}

    def describe(self, action, app, locale):
        return _words(locale, "Update the matching %(form)s records, or create one", form=app.forms[action["form"]]
                      .display_name(locale))


class DeleteRecords(FormAction):
    type = "delete_records"
    schema = _schema(("form", "where"), form=KEY, where=CONDITION)

    def check(self, action, ptr, app, source, err):
        self.check_where(action, ptr, app, self.target(action, ptr, app, err), source, err)

    def run(self, run, action, index):
        ids = run.matching(action["form"], action["where"])
        for rid in ids:
            service.delete(run.actor, run.runtime, action["form"], rid)
        return {"form": action["form"], "deleted": ids[:100], "matched": len(ids)}

    def describe(self, action, app, locale):
        return _words(locale, "Move the matching %(form)s records to the recycle bin",
                      form=app.forms[action["form"]].display_name(locale))


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
    schema = _schema(("to", "title"), to={"type": "array", "minItems": 1, "maxItems": 50, "items": RECIPIENT},
                     title={"type": "string", "minLength": 1, "maxLength": 300},
                     message={"type": "string", "maxLength": 5000}, form=KEY, where=CONDITION)

    def check(self, action, ptr, app, source, err):
        if ("form" in action) != ("where" in action):
            err(ptr + ("/where" if "form" in action else "/form"), '"form" and "where" go together: the records '
                                                                    "to tell people about")
        form = self.target(action, ptr, app, err) if "form" in action else app.forms.get(source)
        self.check_where(action, ptr, app, form, source, err)
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
        return _words(locale, "Notify: %(title)s", title=action["title"])


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


class CallWebhook(ActionType):
    """POST the run (and the triggering record) to a URL, signed, retried like webhooks."""

    type = "webhook"
    schema = _schema(("url",), url={"type": "string", "minLength": 1, "maxLength": 2000})

    def check(self, action, ptr, app, source, err):
        parts = urlsplit(action["url"])
        if parts.scheme not in ("http", "https") or not parts.hostname:
            err(ptr + "/url", "must be an http:// or https:// URL")

    def run(self, run, action, index):
        form = run.runtime.form(run.form_key) if run.record is not None else None
        body = {"automation": run.automation.key, "app": run.runtime.key, "run": run.slot,
                "trigger": run.automation.on, "event_id": run.event_id, "form": run.form_key,
                "record": record_json(form, run.record) if form else None,
                "at": run.now.isoformat() + "Z"}
        job = jobs.enqueue(WEBHOOK_JOB, {"app_id": run.runtime.app_id, "automation": run.automation.key,
                                         "slot": run.slot, "index": index, "url": action["url"],
                                         "body": json.loads(json.dumps(body, default=str))},
                           queue="webhooks", max_attempts=WEBHOOK_ATTEMPTS, app_id=run.runtime.app_id,
                           dedupe_key=f"automation-webhook:{run.runtime.app_id}:{run.automation.key}:{run.slot}:{index}")
        return {"status": "queued", "job": job, "url": mask_url(action["url"])}  # the run history is read

    def describe(self, action, app, locale):
        return _words(locale, "Call the webhook %(url)s", url=mask_url(action["url"]))


def webhook_secret(app_id: int, key: str) -> str:
    """The signing secret of an automation's webhook calls (derived: nothing to store or leak)."""
    return hmac.new(current_app.config["SECRET_KEY"].encode(), f"automation-webhook:{app_id}:{key}".encode(),
                    hashlib.sha256).hexdigest()


@jobs.handler(WEBHOOK_JOB)
def deliver(payload: dict) -> dict:
    app_id, key, slot, index = payload["app_id"], payload["automation"], payload["slot"], payload["index"]
    body = json.dumps(payload["body"], ensure_ascii=False, separators=(",", ":")).encode()
    try:
        target = check_url(payload["url"], allowed_hosts())
    except UnsafeURL as exc:
        update_result(app_id, key, slot, index, {"status": "refused", "error": f"refused: {exc}"})
        return {"status": "refused"}
    event = payload["body"].get("event_id") or slot  # a scheduled run has no event: its slot names it
    outcome = send.post(target, body, send.headers(webhook_secret(app_id, key), "automation", event, body,
                                                   delivery_id=jobs.current_job_id()))
    attempt = db.session.execute(sa.select(Job.attempts).where(
        Job.dedupe_key == f"automation-webhook:{app_id}:{key}:{slot}:{index}")).scalar() or 1
    if outcome.ok:
        update_result(app_id, key, slot, index, {"status": "ok", "http_status": outcome.http_status,
                                                 "attempt": attempt, "error": None})
        return {"status": "ok", "http_status": outcome.http_status}
    last = attempt >= WEBHOOK_ATTEMPTS
    update_result(app_id, key, slot, index, {"status": "failed" if last else "retrying", "attempt": attempt,
                                             "http_status": outcome.http_status, "error": outcome.error})
    raise jobs.Retry(outcome.error or "failed")


for _kind in (CreateRecord, UpdateRecords, UpsertRecord, DeleteRecords, Notify, CallWebhook):
    action_types.register(_kind())

ACTIONS = tuple(action_types.types())


def check_action(action: dict, ptr: str, app, source: str | None, err: Err) -> None:
    if action.get("type") not in action_types:
        err(ptr + "/type", f'"{action.get("type")}" is not an action; actions: {", ".join(ACTIONS)}')
        return
    kind = action_types.get(action["type"])
    if check_schema(kind, action, ptr, err):
        kind.check(action, ptr, app, source, err)
