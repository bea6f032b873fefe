"""`record_updated`: a record of the form changed (any field, or one of `fields`)."""
from __future__ import annotations

from formloom.runtime.automations.triggers.common import (
    CONDITION,
    KEY,
    RecordTrigger,
    check_form,
    check_when,
    schema,
    words,
)


class RecordUpdated(RecordTrigger):
    type = "record_updated"
    events = ("record.updated",)
    schema = schema(("form",), form=KEY, when=CONDITION,
                    fields={"type": "array", "minItems": 1, "uniqueItems": True, "items": KEY})

    def check(self, trigger, ptr, ctx):
        form = check_form(trigger, ptr, ctx)
        check_when(trigger, ptr, form, ctx)
        for i, key in enumerate(trigger.get("fields") or []):
            if form is not None and key not in form.fields:
                ctx.err(f"{ptr}/fields/{i}", f'"{key}" is not a field of form "{form.key}"')

    def wants(self, trigger, event) -> bool:
        if not super().wants(trigger, event):
            return False
        watched = trigger.get("fields")
        return not watched or bool(set(watched) & set((event.payload or {}).get("changes") or {}))

    def describe(self, trigger, app, locale):
        form = app.forms[trigger["form"]]
        if trigger.get("fields"):
            names = ", ".join(form.label(k, locale) for k in trigger["fields"])
            return words(locale, "When %(fields)s of a %(form)s record changes", fields=names,
                         form=form.display_name(locale))
        return words(locale, "When a %(form)s record is changed", form=form.display_name(locale))
