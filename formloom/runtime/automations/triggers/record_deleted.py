"""`record_deleted`: a record of the form went to the recycle bin."""
from __future__ import annotations

from formloom.runtime.automations.triggers.common import RecordTrigger, words


class RecordDeleted(RecordTrigger):
    type = "record_deleted"
    events = ("record.deleted",)

    def describe(self, trigger, app, locale):
        return words(locale, "When a %(form)s record is deleted", form=app.forms[trigger["form"]].display_name(locale))
