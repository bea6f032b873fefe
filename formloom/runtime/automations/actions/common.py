"""What the action kinds share: their schemas' pieces, words, and `FormAction` (an action on
the records of one form: its target, its `where`, applying `set`)."""
from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _

from formloom.runtime import conditions
from formloom.runtime.automations import values as vals
from formloom.runtime.automations.engine import Run
from formloom.runtime.automations.model import ActionType, CheckContext
from formloom.runtime.automations.triggers.common import KEY
from formloom.runtime.records import service
from formloom.runtime.schema.validate import operand_resolver
from formloom.runtime.storage import store

CONDITION = {"type": "object"}
VALUES = {"type": "object", "maxProperties": 200}
__all__ = ["CONDITION", "KEY", "VALUES", "FormAction", "schema", "words"]


def schema(required: tuple[str, ...], **properties) -> dict:
    return {"type": "object", "required": ["type", *required], "additionalProperties": False,
            "properties": {"type": {"type": "string"}, **properties}}


def words(locale: str, text: str, **values) -> str:
    with force_locale(locale):
        return _(text, **values)


class FormAction(ActionType):
    """An action on the records of one form of the app."""

    def target(self, action: dict, ptr: str, ctx: CheckContext):
        form = ctx.forms.get(action.get("form"))
        if form is None:
            ctx.err(ptr + "/form", f'"{action.get("form")}" is not a form of this app')
        elif form.parent:
            ctx.err(ptr + "/form", f'"{form.key}" is a subform; name the form that holds it')
            return None
        return form

    def check_where(self, action: dict, ptr: str, form, ctx: CheckContext) -> None:
        if form is None or "where" not in action:
            return
        src = ctx.forms.get(ctx.source) if ctx.source else None
        record_resolver = operand_resolver(src) if src else _no_record
        for pointer, message in conditions.validate(action["where"], operand_resolver(form),
                                                    record_resolver=record_resolver):
            ctx.err(ptr + "/where" + pointer, message)

    def updates(self, run: Run, action: dict, ids: list[int]) -> tuple[list[int], int]:
        """Apply `set` to each record; (ids changed, ids unchanged count)."""
        changed, same = [], 0
        form = action["form"]
        for batch in store.chunks(ids):
            for rid, record in run.load(form, batch).items():
                target = store.flat_values(record)
                data = {k: vals.evaluate(spec, run, run.flat, target) for k, spec in action["set"].items()}
                after = service.update(run.actor, run.runtime, form, rid, data)
                if after["version"] != record["version"]:
                    changed.append(rid)
                else:
                    same += 1
        return changed, same


def _no_record(key: str):
    raise KeyError(key)
