"""`update_records`: set fields of the records of a form matching `where`."""
from __future__ import annotations

from formloom.runtime.automations import values as vals
from formloom.runtime.automations.actions.common import (
    CONDITION,
    KEY,
    VALUES,
    FormAction,
    schema,
    words,
)


class UpdateRecords(FormAction):
    type = "update_records"
    schema = schema(("form", "where", "set"), form=KEY, where=CONDITION, set={**VALUES, "minProperties": 1})

    def check(self, action, ptr, ctx):
        form = self.target(action, ptr, ctx)
        self.check_where(action, ptr, form, ctx)
        if form is not None:
            vals.check_set(action["set"], ptr + "/set", form, ctx.forms.get(ctx.source), ctx.types, ctx.err,
                           updating=True)

    def run(self, run, action, index):
        ids = run.matching(action["form"], action["where"])
        changed, same = self.updates(run, action, ids)
        return {"form": action["form"], "matched": len(ids), "updated": changed[:100], "unchanged": same}

    def describe(self, action, app, locale):
        return words(locale, "Update the matching %(form)s records", form=app.forms[action["form"]].display_name(locale))
