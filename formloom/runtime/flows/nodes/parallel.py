"""`parallel`: the steps of every case at once; the flow goes on when all are done (a join)."""
from __future__ import annotations

from flask_babel import gettext as _

from formloom.runtime.flows.model import JOIN, FlowNodeType, Node
from formloom.runtime.flows.nodes.common import NAME, schema
from formloom.runtime.flows.nodes.join import Join


class Parallel(FlowNodeType):
    type = "parallel"
    holds_steps = True
    schema = schema(("cases",), cases={"type": "array", "minItems": 2, "maxItems": 10, "items": {
        "type": "object", "required": ["steps"], "additionalProperties": False,
        "properties": {"name": NAME, "name_en": NAME, "steps": {"type": "array"}}}})

    def sequences(self, spec):
        return [(f"/cases/{j}/steps", case.get("steps")) for j, case in enumerate(spec.get("cases") or [])]

    def link(self, walker, node, spec, nxt, parallel, lane):
        join = JOIN + node.id
        walker.nodes[join] = Node(join, Join.type, {"cases": len(spec["cases"])}, next=nxt, parallel=parallel,
                                  lane=lane)
        node.cases = [(None, walker.link(case["steps"], join, node.id, f"{lane}/{node.id}.{i}".lstrip("/")))
                      for i, case in enumerate(spec["cases"])]

    def enter(self, run, token, node):
        return run.split(token, node)

    def header(self, name):
        return _("%(name)s · all branches", name=name or _("Parallel"))

    def case_label(self, spec, i):
        return _("Branch %(n)s", n=i + 1)
