"""`flow_step`: a record's approval flow moved to a step (events written by the flow engine)."""
from __future__ import annotations

from formloom.runtime.automations.triggers.common import (
    CONDITION,
    KEY,
    RecordTrigger,
    schema,
    words,
)


class FlowStep(RecordTrigger):
    type = "flow_step"
    events = ("flow.step",)
    schema = schema(("form", "step"), form=KEY, when=CONDITION, step=KEY)

    def wants(self, trigger, event) -> bool:
        return super().wants(trigger, event) and (event.payload or {}).get("step") == trigger["step"]

    def describe(self, trigger, app, locale):
        return words(locale, 'When the approval of a %(form)s record reaches step "%(step)s"',
                     form=app.forms[trigger["form"]].display_name(locale), step=trigger["step"])
