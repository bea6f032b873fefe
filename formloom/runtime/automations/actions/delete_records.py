"""`delete_records`: move the records of a form matching `where` to the recycle bin."""
from __future__ import annotations

from flask_babel import ngettext

from formloom.runtime.automations.actions.common import CONDITION, KEY, FormAction, schema, words
from formloom.runtime.records import service


class DeleteRecords(FormAction):
    type = "delete_records"
    schema = schema(("form", "where"), form=KEY, where=CONDITION)

    def check(self, action, ptr, ctx):
        self.check_where(action, ptr, self.target(action, ptr, ctx), ctx)

    def run(self, run, action, index):
        ids = run.matching(action["form"], action["where"])
        for rid in ids:
            service.delete(run.actor, run.runtime, action["form"], rid)
        return {"form": action["form"], "deleted": ids[:100], "matched": len(ids)}

    def describe(self, action, app, locale):
        return words(locale, "Move the matching %(form)s records to the recycle bin",
                     form=app.forms[action["form"]].display_name(locale))

    def done_words(self, result):
        return ngettext("Deleted %(num)d record", "Deleted %(num)d records", result.get("matched", 0))
