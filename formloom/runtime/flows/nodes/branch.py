"""`branch`: the steps of the first case whose condition holds, else the `default` steps."""
from __future__ import annotations

from flask_babel import gettext as _

from formloom.runtime import conditions
from formloom.runtime.flows.model import FlowNodeType
from formloom.runtime.flows.nodes.common import NAME, schema
from formloom.runtime.schema.validate import operand_resolver


class Branch(FlowNodeType):
    type = "branch"
    holds_steps = True
    picks_one = True
    schema = schema(("cases",), cases={"type": "array", "minItems": 1, "maxItems": 20, "items": {
        "type": "object", "required": ["when", "steps"], "additionalProperties": False,
        "properties": {"name": NAME, "name_en": NAME, "when": {"type": "object"}, "steps": {"type": "array"}}}},
        default={"type": "array"})

    def sequences(self, spec):
        cases = [(f"/cases/{j}/steps", case.get("steps")) for j, case in enumerate(spec.get("cases") or [])]
        return [*cases, ("/default", spec.get("default"))]

    def check(self, spec, ptr, ctx):
        for i, case in enumerate(spec["cases"]):
            for pointer, message in conditions.validate(case["when"], operand_resolver(ctx.form)):
                ctx.err(f"{ptr}/cases/{i}/when{pointer}", message)

    def link(self, walker, node, spec, nxt, parallel, lane):
        node.cases = [(case["when"], walker.link(case["steps"], nxt, parallel, lane)) for case in spec["cases"]]
        node.default = walker.link(spec.get("default"), nxt, parallel, lane)

    def enter(self, run, token, node):
        for condition, first in node.cases:
            if run.holds(condition):
                return first
        return node.default

    def header(self, name):
        return name or _("Branch")

    def case_label(self, spec, i):
        return _("Case %(n)s", n=i + 1) if i < len(spec.get("cases") or []) else _("Otherwise")
