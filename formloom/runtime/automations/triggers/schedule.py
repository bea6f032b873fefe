"""`schedule`: at the times a cron expression names, in the app's time zone. With a `form`,
once per record matching `when` at each time (actions read that record)."""
from __future__ import annotations

from datetime import UTC, datetime

from croniter import croniter

from formloom.runtime.automations.model import TriggerType
from formloom.runtime.automations.schedule import records_due
from formloom.runtime.automations.triggers.common import (
    CONDITION,
    KEY,
    check_form,
    check_when,
    schema,
    words,
)


class Schedule(TriggerType):
    type = "schedule"
    timed = True
    schema = schema(("cron",), cron={"type": "string", "maxLength": 100}, form=KEY, when=CONDITION)

    def check(self, trigger, ptr, ctx):
        if not croniter.is_valid(trigger["cron"]) or len(trigger["cron"].split()) != 5:
            ctx.err(ptr + "/cron", f'"{trigger["cron"]}" is not a cron expression of five parts '
                                   '(minute hour day month weekday), such as "0 9 * * 1-5"')
        if "when" in trigger and "form" not in trigger:
            ctx.err(ptr + "/when", 'a condition needs a "form" whose records it reads')
        if "form" in trigger:
            check_when(trigger, ptr, check_form(trigger, ptr, ctx), ctx)

    def runs_by_hand(self, trigger):
        return not trigger.get("form")

    def slots(self, runtime, auto, now, floor, tz):
        local_now = now.replace(tzinfo=UTC).astimezone(tz)
        fired = croniter(auto.trigger["cron"], local_now).get_prev(datetime)
        at = fired.astimezone(UTC).replace(tzinfo=None)
        if not floor <= at <= now:
            return []
        slot = f"cron:{fired:%Y-%m-%dT%H:%M}"
        if not auto.form:
            return [(runtime.app_id, auto.key, slot, {"at": at.isoformat()})]
        ids = records_due(runtime, auto, now, tz)
        return [(runtime.app_id, auto.key, f"{slot}:{rid}", {"at": at.isoformat(), "record_id": rid}) for rid in ids]

    def describe(self, trigger, app, locale):
        if trigger.get("form"):
            return words(locale, 'On the schedule "%(cron)s", for each matching %(form)s record',
                         cron=trigger["cron"], form=app.forms[trigger["form"]].display_name(locale))
        return words(locale, 'On the schedule "%(cron)s"', cron=trigger["cron"])
