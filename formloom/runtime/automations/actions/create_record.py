"""`create_record`: create a record of a form from `values` (and an `owner`)."""
from __future__ import annotations

from formloom.runtime.automations import values as vals
from formloom.runtime.automations.actions.common import KEY, VALUES, FormAction, schema, words
from formloom.runtime.records import service


class CreateRecord(FormAction):
    type = "create_record"
    schema = schema(("form", "values"), form=KEY, values=VALUES, owner={}, draft={"type": "boolean"})

    def check(self, action, ptr, ctx):
        form = self.target(action, ptr, ctx)
        source = ctx.forms.get(ctx.source)
        if form is not None:
            vals.check_set(action["values"], ptr + "/values", form, source, ctx.types, ctx.err)
        if "owner" in action and vals.is_special(action["owner"]):
            kind, arg = next(iter(action["owner"].items()))
            if kind != "var":
                ctx.err(ptr + "/owner", 'the owner is a user id or {"var": "record.<user field>"}')
            else:
                vals._check_var(arg, ptr + "/owner/var", source, None, ctx.err)
        elif "owner" in action and (isinstance(action["owner"], bool) or not isinstance(action["owner"], int)):
            ctx.err(ptr + "/owner", "the owner is a user id or {\"var\": \"record.<user field>\"}")

    def run(self, run, action, index):
        data = {k: vals.evaluate(spec, run, run.flat) for k, spec in action["values"].items()}
        owner = vals.evaluate(action["owner"], run, run.flat) if "owner" in action else (run.flat or {}).get("$owner")
        if isinstance(owner, list):
            owner = owner[0] if owner else None
        # "draft": true keeps the record out of its form's approval flow until a person submits it
        record = service.create(run.actor, run.runtime, action["form"], data, owner=owner,
                                draft=bool(action.get("draft")))
        return {"form": action["form"], "created": [record["id"]]}

    def describe(self, action, app, locale):
        return words(locale, "Create a %(form)s record", form=app.forms[action["form"]].display_name(locale))
