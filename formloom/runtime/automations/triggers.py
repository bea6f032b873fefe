"""What starts an automation: record events, flow events, a schedule, a date being reached."""
from __future__ import annotations

from croniter import croniter
from flask_babel import force_locale
from flask_babel import gettext as _

from formloom.runtime import conditions
from formloom.runtime.automations.model import Err, TriggerType, check_schema, trigger_types
from formloom.runtime.fields import field_types
from formloom.runtime.schema.validate import operand_resolver

KEY = {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,29}$"}
CONDITION = {"type": "object"}
HHMM = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$",
        "x-message": 'is not a time of day like "09:00"'}


def _schema(required: tuple[str, ...], **properties) -> dict:
    return {"type": "object", "required": ["on", *required], "additionalProperties": False,
            "properties": {"on": {"type": "string"}, **properties}}


def check_form(trigger: dict, ptr: str, app, err: Err):
    """The trigger's form, or None after saying it does not exist."""
    form = app.forms.get(trigger.get("form"))
    if form is None:
        err(ptr + "/form", f'"{trigger.get("form")}" is not a form of this app')
    return form


def check_when(trigger: dict, ptr: str, form, err: Err) -> None:
    if "when" in trigger and form is not None:
        for pointer, message in conditions.validate(trigger["when"], operand_resolver(form)):
            err(ptr + "/when" + pointer, message)


def _words(locale: str, text: str, **values) -> str:
    with force_locale(locale):
        return _(text, **values)


class RecordTrigger(TriggerType):
    schema = _schema(("form",), form=KEY, when=CONDITION)

    def check(self, trigger: dict, ptr: str, app, err: Err) -> None:
        check_when(trigger, ptr, check_form(trigger, ptr, app, err), err)


class RecordCreated(RecordTrigger):
    type = "record_created"
    events = ("record.created",)

    def describe(self, trigger, app, locale):
        return _words(locale, "When a %(form)s record is created", form=app.forms[trigger["form"]].display_name(locale))


class RecordUpdated(RecordTrigger):
    type = "record_updated"
    events = ("record.updated",)
    schema = _schema(("form",), form=KEY, when=CONDITION,
                     fields={"type": "array", "minItems": 1, "uniqueItems": True, "items": KEY})

    def check(self, trigger, ptr, app, err):
        form = check_form(trigger, ptr, app, err)
        check_when(trigger, ptr, form, err)
        for i, key in enumerate(trigger.get("fields") or []):
            if form is not None and key not in form.fields:
                err(f"{ptr}/fields/{i}", f'"{key}" is not a field of form "{form.key}"')

    def wants(self, trigger, event) -> bool:
        if not super().wants(trigger, event):
            return False
        watched = trigger.get("fields")
        return not watched or bool(set(watched) & set((event.payload or {}).get("changes") or {}))

    def describe(self, trigger, app, locale):
        form = app.forms[trigger["form"]]
        if trigger.get("fields"):
            names = ", ".join(form.label(k, locale) for k in trigger["fields"])
            return _words(locale, "When %(fields)s of a %(form)s record changes", fields=names,
                          form=form.display_name(locale))
        return _words(locale, "When a %(form)s record is changed", form=form.display_name(locale))


class RecordDeleted(RecordTrigger):
    type = "record_deleted"
    events = ("record.deleted",)

    def describe(self, trigger, app, locale):
        return _words(locale, "When a %(form)s record is deleted", form=app.forms[trigger["form"]].display_name(locale))


class FlowFinished(RecordTrigger):
    """The approval flow of a record ended (events written by the flow engine)."""

    type = "flow_finished"
    events = ("flow.finished",)
    schema = _schema(("form",), form=KEY, when=CONDITION,
                     outcome={"enum": ["approved", "rejected", "withdrawn", "any"]})

    def wants(self, trigger, event) -> bool:
        outcome = trigger.get("outcome", "any")
        return super().wants(trigger, event) and outcome in ("any", (event.payload or {}).get("outcome"))

    def describe(self, trigger, app, locale):
        form = app.forms[trigger["form"]].display_name(locale)
        outcome = trigger.get("outcome", "any")
        if outcome == "approved":
            return _words(locale, "When the approval of a %(form)s record is approved", form=form)
        if outcome == "rejected":
            return _words(locale, "When the approval of a %(form)s record is rejected", form=form)
        if outcome == "withdrawn":
            return _words(locale, "When the approval of a %(form)s record is withdrawn", form=form)
        return _words(locale, "When the approval of a %(form)s record ends", form=form)


class FlowStep(RecordTrigger):
    """A record's approval flow moved to a step (events written by the flow engine)."""

    type = "flow_step"
    events = ("flow.step",)
    schema = _schema(("form", "step"), form=KEY, when=CONDITION, step=KEY)

    def wants(self, trigger, event) -> bool:
        return super().wants(trigger, event) and (event.payload or {}).get("step") == trigger["step"]

    def describe(self, trigger, app, locale):
        return _words(locale, 'When the approval of a %(form)s record reaches step "%(step)s"',
                      form=app.forms[trigger["form"]].display_name(locale), step=trigger["step"])


class Schedule(TriggerType):
    """At the times a cron expression names, in the app's time zone. With a `form`, once
    per record matching `when` at each time (actions read that record)."""

    type = "schedule"
    timed = True
    schema = _schema(("cron",), cron={"type": "string", "maxLength": 100}, form=KEY, when=CONDITION)

    def check(self, trigger, ptr, app, err):
        if not croniter.is_valid(trigger["cron"]) or len(trigger["cron"].split()) != 5:
            err(ptr + "/cron", f'"{trigger["cron"]}" is not a cron expression of five parts '
                               '(minute hour day month weekday), such as "0 9 * * 1-5"')
        if "when" in trigger and "form" not in trigger:
            err(ptr + "/when", 'a condition needs a "form" whose records it reads')
        if "form" in trigger:
            check_when(trigger, ptr, check_form(trigger, ptr, app, err), err)

    def describe(self, trigger, app, locale):
        if trigger.get("form"):
            return _words(locale, 'On the schedule "%(cron)s", for each matching %(form)s record',
                          cron=trigger["cron"], form=app.forms[trigger["form"]].display_name(locale))
        return _words(locale, 'On the schedule "%(cron)s"', cron=trigger["cron"])


class DateReached(TriggerType):
    """When a date (or date-time) field of a record is reached, `offset` days before (<0)
    or after (>0); date fields fire at `at` o'clock in the app's time zone."""

    type = "date_reached"
    timed = True
    schema = _schema(("form", "field"), form=KEY, field=KEY, when=CONDITION,
                     offset={"type": "integer", "minimum": -3660, "maximum": 3660}, at=HHMM)

    def check(self, trigger, ptr, app, err):
        form = check_form(trigger, ptr, app, err)
        check_when(trigger, ptr, form, err)
        if form is None:
            return
        f = form.fields.get(trigger["field"])
        kind = field_types.get(f["type"]).result_kind(f) if f else None
        if kind not in ("date", "datetime"):
            err(ptr + "/field", f'"{trigger["field"]}" is not a date or date-time field of form "{form.key}"')
        elif kind == "datetime" and "at" in trigger:
            err(ptr + "/at", '"at" is for date fields; a date-time field fires at its own time')

    def describe(self, trigger, app, locale):
        form = app.forms[trigger["form"]]
        label, offset = form.label(trigger["field"], locale), trigger.get("offset", 0)
        name = form.display_name(locale)
        if offset < 0:
            return _words(locale, "%(days)s days before %(field)s of a %(form)s record", days=-offset, field=label,
                          form=name)
        if offset > 0:
            return _words(locale, "%(days)s days after %(field)s of a %(form)s record", days=offset, field=label,
                          form=name)
        return _words(locale, "When %(field)s of a %(form)s record is reached", field=label, form=name)


for _kind in (RecordCreated, RecordUpdated, RecordDeleted, FlowFinished, FlowStep, Schedule, DateReached):
    trigger_types.register(_kind())

TRIGGERS = tuple(trigger_types.types())


def check_trigger(trigger: dict, ptr: str, app, err: Err) -> bool:
    """Check a trigger; whether it is sound enough (a known kind, an existing form) for its
    actions to be checked against it."""
    if trigger.get("on") not in trigger_types:
        err(ptr + "/on", f'"{trigger.get("on")}" is not a trigger; triggers: {", ".join(TRIGGERS)}')
        return False
    kind = trigger_types.get(trigger["on"])
    if not check_schema(kind, trigger, ptr, err):
        return False
    kind.check(trigger, ptr, app, err)
    return trigger.get("form") is None or trigger["form"] in app.forms
