"""`upsert_record`: update the records matching `where`; when none does, create one from
`set` (and `create`)."""
from __future__ import annotations

from flask_babel import gettext as _

from formloom.runtime.automations import values as vals
from formloom.runtime.automations.actions.common import CONDITION, KEY, VALUES, schema, words
from formloom.runtime.automations.actions.update_records import UpdateRecords
from formloom.runtime.records import service


class UpsertRecord(UpdateRecords):
    type = "upsert_record"
    schema = schema(("form", "where", "set"), form=KEY, where=CONDITION, set={**VALUES, "minProperties": 1},
                    create=VALUES)

    def check(self, action, ptr, ctx):
        super().check(action, ptr, ctx)
        form = ctx.forms.get(action.get("form"))
        if form is not None and "create" in action:
            vals.check_set(action["create"], ptr + "/create", form, ctx.forms.get(ctx.source), ctx.types, ctx.err)
        if form is not None:
            for key, spec in action["set"].items():
                if isinstance(spec, dict) and str(spec.get("var", "")).startswith("target."):
                    ctx.err(f"{ptr}/set/{key}/var", '"target" is empty when the record is created: use it in '
                                                    '"create" or in an update_records action')

    def run(self, run, action, index):
        ids = run.matching(action["form"], action["where"])
        if ids:
            changed, same = self.updates(run, action, ids)
            return {"form": action["form"], "matched": len(ids), "updated": changed[:100], "unchanged": same}
        spec = {**action["set"], **action.get("create", {})}
        data = {k: vals.evaluate(v, run, run.flat) for k, v in spec.items()}
        record = service.create(run.actor, run.runtime, action["form"], data, owner=(run.flat or {}).get("$owner"))
        return {"form": action["form"], "matched": 0, "created": [record["id"]]}

    def describe(self, action, app, locale):
        return words(locale, "Update the matching %(form)s records, or create one", form=app.forms[action["form"]]
                     .display_name(locale))

    def done_words(self, result):
        if result.get("created"):
            return _("None matched; %(created)s", created=super().done_words(result))
        return super().done_words(result)
