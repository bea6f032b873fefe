"""`date_reached`: when a date (or date-time) field of a record is reached, `offset` days
before (<0) or after (>0); date fields fire at `at` o'clock in the app's time zone."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from formloom.runtime.automations.model import TriggerType
from formloom.runtime.automations.schedule import records_due
from formloom.runtime.automations.triggers.common import (
    CONDITION,
    HHMM,
    KEY,
    check_form,
    check_when,
    schema,
    words,
)
from formloom.runtime.fields import type_of


class DateReached(TriggerType):
    type = "date_reached"
    timed = True
    schema = schema(("form", "field"), form=KEY, field=KEY, when=CONDITION,
                    offset={"type": "integer", "minimum": -3660, "maximum": 3660}, at=HHMM)

    def check(self, trigger, ptr, ctx):
        form = check_form(trigger, ptr, ctx)
        check_when(trigger, ptr, form, ctx)
        if form is None:
            return
        f = form.fields.get(trigger["field"])
        kind = type_of(f).result_kind(f) if f else None
        if kind not in ("date", "datetime"):
            ctx.err(ptr + "/field", f'"{trigger["field"]}" is not a date or date-time field of form "{form.key}"')
        elif kind == "datetime" and "at" in trigger:
            ctx.err(ptr + "/at", '"at" is for date fields; a date-time field fires at its own time')

    def slots(self, runtime, auto, now, floor, tz):
        form = runtime.form(auto.form)
        field = form.fields[auto.trigger["field"]]
        offset = timedelta(days=auto.trigger.get("offset", 0))
        col = runtime.form_tables(auto.form).columns[auto.trigger["field"]]
        out = []
        if form.type_of(field["key"]).result_kind(field) == "datetime":
            # Fires at the field's instant plus the offset.
            rows = records_due(runtime, auto, now, tz, sa.and_(col >= floor - offset, col <= now - offset), col)
            for rid, value in rows:
                out.append((runtime.app_id, auto.key, f"date:{rid}:{value:%Y-%m-%dT%H:%M}",
                            {"record_id": rid, "at": (value + offset).isoformat()}))
            return out
        hour, minute = (int(x) for x in auto.trigger.get("at", "09:00").split(":"))
        today = now.replace(tzinfo=UTC).astimezone(tz).date()
        for day in (today - timedelta(days=1), today):
            fires = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).astimezone(UTC).replace(
                tzinfo=None)
            if not floor <= fires <= now:
                continue
            target: date = day - offset
            for rid in records_due(runtime, auto, now, tz, col == target):
                out.append((runtime.app_id, auto.key, f"date:{rid}:{target.isoformat()}",
                            {"record_id": rid, "at": fires.isoformat()}))
        return out

    def describe(self, trigger, app, locale):
        form = app.forms[trigger["form"]]
        label, offset = form.label(trigger["field"], locale), trigger.get("offset", 0)
        name = form.display_name(locale)
        if offset < 0:
            return words(locale, "%(days)s days before %(field)s of a %(form)s record", days=-offset, field=label,
                         form=name)
        if offset > 0:
            return words(locale, "%(days)s days after %(field)s of a %(form)s record", days=offset, field=label,
                         form=name)
        return words(locale, "When %(field)s of a %(form)s record is reached", field=label, form=name)
