"""`record_created`: a record of the form was created."""
from __future__ import annotations

from formloom.runtime.automations.triggers.common import RecordTrigger, words


class RecordCreated(RecordTrigger):
    type = "record_created"
    events = ("record.created",)

    def describe(self, trigger, app, locale):
        return words(locale, "When a %(form)s record is created", form=app.forms[trigger["form"]].display_name(locale))
