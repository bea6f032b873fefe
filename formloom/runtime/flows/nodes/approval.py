"""`approval`: people approve, reject or return the record (any one, all, or one after another)."""
from __future__ import annotations

from flask_babel import gettext as _

from formloom.runtime.conditions.values import parse_duration
from formloom.runtime.fields import type_of
from formloom.runtime.flows.model import FlowNodeType, Node
from formloom.runtime.flows.nodes.common import (
    ASSIGNEES,
    KEY,
    assignees_words,
    check_assignees,
    schema,
)


class Approval(FlowNodeType):
    type = "approval"
    decides = True
    schema = schema(("key", "assignees"), assignees=ASSIGNEES,
                    mode={"enum": ["any", "all", "sequential"]},
                    fields={"type": "object", "additionalProperties": False,
                            "properties": {"editable": {"type": "array", "uniqueItems": True, "items": KEY},
                                           "hidden": {"type": "array", "uniqueItems": True, "items": KEY}}},
                    timeout={"type": "object", "required": ["after", "do"], "additionalProperties": False,
                             "properties": {"after": {"anyOf": [
                                 {"type": "string", "maxLength": 40},
                                 {"type": "object", "required": ["field"], "additionalProperties": False,
                                  "properties": {"field": KEY}}]},
                                 "do": {"enum": ["remind", "escalate", "approve", "reject"]}}})

    def check(self, spec, ptr, ctx):
        form, err = ctx.form, ctx.err
        check_assignees(spec["assignees"], ptr + "/assignees", form, err)
        fields = spec.get("fields") or {}
        for verb in ("editable", "hidden"):
            for j, key in enumerate(fields.get(verb, [])):
                if key not in form.fields:
                    err(f"{ptr}/fields/{verb}/{j}", f'"{key}" is not a field of form "{form.key}"')
        both = set(fields.get("editable", [])) & set(fields.get("hidden", []))
        if both:
            err(ptr + "/fields", f"a field cannot be both editable and hidden: {', '.join(sorted(both))}")
        timeout = spec.get("timeout")
        if timeout:
            after = timeout["after"]
            if isinstance(after, str):
                delta = parse_duration(after)
                if delta is None or after.startswith("-"):
                    err(ptr + "/timeout/after", f'"{after}" is not an ISO 8601 duration such as "PT48H" or "P2D"')
            else:
                f = form.fields.get(after["field"])  # a formula giving a date counts, as for date_reached
                if (type_of(f).result_kind(f) if f else None) not in ("date", "datetime"):
                    err(ptr + "/timeout/after/field", f'"{after["field"]}" is not a date or date-time field of '
                                                      f'form "{form.key}"')

    def enter(self, run, token: str, node: Node) -> str | None:
        return run.open_approval(token, node)

    def caption(self, spec):
        mode = {"all": _("everyone approves"), "sequential": _("one after another")}.get(
            spec.get("mode", "any"), _("any one approves"))
        return _("Approval · %(mode)s", mode=mode)

    def who(self, spec, words):
        return assignees_words(spec, words)

    def glyph(self, cx, cy):
        return (f'<circle class="fld-glyph" cx="{cx:g}" cy="{cy - 3.2:g}" r="3.6"/>'
                f'<path class="fld-glyph" d="M{cx - 6.5:g} {cy + 7.5:g}a6.5 5.5 0 0 1 13 0z"/>')
