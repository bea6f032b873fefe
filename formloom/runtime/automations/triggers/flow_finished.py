"""`flow_finished`: the approval flow of a record ended (events written by the flow engine)."""
from __future__ import annotations

from formloom.runtime.automations.triggers.common import (
    CONDITION,
    KEY,
    RecordTrigger,
    schema,
    words,
)


class FlowFinished(RecordTrigger):
    type = "flow_finished"
    events = ("flow.finished",)
    schema = schema(("form",), form=KEY, when=CONDITION,
                    outcome={"enum": ["approved", "rejected", "withdrawn", "any"]})

    def wants(self, trigger, event) -> bool:
        outcome = trigger.get("outcome", "any")
        return super().wants(trigger, event) and outcome in ("any", (event.payload or {}).get("outcome"))

    def describe(self, trigger, app, locale):
        form = app.forms[trigger["form"]].display_name(locale)
        outcome = trigger.get("outcome", "any")
        if outcome == "approved":
            return words(locale, "When the approval of a %(form)s record is approved", form=form)
        if outcome == "rejected":
            return words(locale, "When the approval of a %(form)s record is rejected", form=form)
        if outcome == "withdrawn":
            return words(locale, "When the approval of a %(form)s record is withdrawn", form=form)
        return words(locale, "When the approval of a %(form)s record ends", form=form)
