"""What the trigger kinds share: their schemas' pieces, the form and condition checks, words."""
from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _

from formloom.runtime import conditions
from formloom.runtime.automations.model import CheckContext, TriggerType
from formloom.runtime.schema.validate import operand_resolver

KEY = {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,29}$"}
CONDITION = {"type": "object"}
HHMM = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$",
        "x-message": 'is not a time of day like "09:00"'}


def schema(required: tuple[str, ...], **properties) -> dict:
    return {"type": "object", "required": ["on", *required], "additionalProperties": False,
            "properties": {"on": {"type": "string"}, **properties}}


def check_form(trigger: dict, ptr: str, ctx: CheckContext):
    """The trigger's form, or None after saying it does not exist."""
    form = ctx.forms.get(trigger.get("form"))
    if form is None:
        ctx.err(ptr + "/form", f'"{trigger.get("form")}" is not a form of this app')
    return form


def check_when(trigger: dict, ptr: str, form, ctx: CheckContext) -> None:
    if "when" in trigger and form is not None:
        for pointer, message in conditions.validate(trigger["when"], operand_resolver(form)):
            ctx.err(ptr + "/when" + pointer, message)


def words(locale: str, text: str, **values) -> str:
    with force_locale(locale):
        return _(text, **values)


class RecordTrigger(TriggerType):
    """Started by an outbox event about a record of `form`, if `when` holds for it."""

    schema = schema(("form",), form=KEY, when=CONDITION)

    def check(self, trigger: dict, ptr: str, ctx: CheckContext) -> None:
        check_when(trigger, ptr, check_form(trigger, ptr, ctx), ctx)
