"""What starts an automation: one `TriggerType` per file, registered here in `trigger_types`.

Adding a trigger is one file here (a `TriggerType` subclass: `on` name as `type`, `schema`,
`check`, `wants` or `timed` with `slots`, `describe`) and one line below (docs/contributing.md).
"""
from __future__ import annotations

from formloom.runtime.automations.model import CheckContext, trigger_types
from formloom.runtime.automations.model import check_schema as _check_schema
from formloom.runtime.automations.triggers.common import KEY
from formloom.runtime.automations.triggers.date_reached import DateReached
from formloom.runtime.automations.triggers.flow_finished import FlowFinished
from formloom.runtime.automations.triggers.flow_step import FlowStep
from formloom.runtime.automations.triggers.record_created import RecordCreated
from formloom.runtime.automations.triggers.record_deleted import RecordDeleted
from formloom.runtime.automations.triggers.record_updated import RecordUpdated
from formloom.runtime.automations.triggers.schedule import Schedule

for _kind in (RecordCreated, RecordUpdated, RecordDeleted, FlowFinished, FlowStep, Schedule, DateReached):
    trigger_types.register(_kind())

TRIGGERS = tuple(trigger_types.types())
__all__ = ["KEY", "TRIGGERS", "check_trigger"]


def check_trigger(trigger: dict, ptr: str, ctx: CheckContext) -> bool:
    """Check a trigger; whether it is sound enough (a known kind, an existing form) for its
    actions to be checked against it."""
    if trigger.get("on") not in trigger_types:
        ctx.err(ptr + "/on", f'"{trigger.get("on")}" is not a trigger; triggers: {", ".join(TRIGGERS)}')
        return False
    kind = trigger_types.get(trigger["on"])
    if not _check_schema(kind, trigger, ptr, ctx.err):
        return False
    kind.check(trigger, ptr, ctx)
    return trigger.get("form") is None or trigger["form"] in ctx.forms
