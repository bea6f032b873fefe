"""`action`: set fields of the record, or do automation actions (create a record, call a
webhook, ...), then go on."""
from __future__ import annotations

from flask_babel import gettext as _

from formloom.runtime.automations import values as vals
from formloom.runtime.automations.actions import check_action
from formloom.runtime.flows.model import FlowNodeType
from formloom.runtime.flows.nodes.common import schema


class Action(FlowNodeType):
    type = "action"
    schema = schema((), set={"type": "object", "minProperties": 1},
                    actions={"type": "array", "minItems": 1, "maxItems": 20, "items": {"type": "object"}})

    def check(self, spec, ptr, ctx):
        form = ctx.form
        if "set" not in spec and "actions" not in spec:
            ctx.err(ptr, 'an action step needs "set" (fields of this record) or "actions"')
        if "set" in spec:
            vals.check_set(spec["set"], ptr + "/set", form, form, ctx.types, ctx.err)
        for j, action in enumerate(spec.get("actions") or []):
            check_action(action, f"{ptr}/actions/{j}", ctx)

    def enter(self, run, token, node):
        run.do_actions(token, node)
        return node.next

    def caption(self, spec):
        return _("Automatic action")

    def default_name(self):
        return _("Action")

    def who(self, spec, words):
        keys = list(spec.get("set") or {})
        if keys:
            return _("Sets: %(fields)s", fields=", ".join(words.field(k) for k in keys))
        return _("%(n)s automatic actions", n=len(spec.get("actions") or []))

    def glyph(self, cx, cy):
        return (f'<path class="fld-glyph" d="M{cx + 1.5:g} {cy - 8:g}L{cx - 5.5:g} {cy + 1.5:g}H{cx - 0.5:g}'
                f'L{cx - 1.5:g} {cy + 8:g}L{cx + 5.5:g} {cy - 1.5:g}H{cx + 0.5:g}Z"/>')
