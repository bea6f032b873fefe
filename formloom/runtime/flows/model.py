"""Approval flows as the runtime uses them: a structured definition compiled to nodes.

    {"key": "quote_approval", "form": "quote", "name": "报价审批",
     "steps": [
       {"type": "branch", "cases": [{"when": <condition>, "steps": []}],
        "default": [{"type": "approval", "key": "manager", "assignees": {"manager_of": "submitter"}}]},
       {"type": "cc", "assignees": {"field": "owner"}}]}

A flow is a sequence of steps; `branch` (first case whose condition holds, else `default`)
and `parallel` (every case, joined) hold sequences of their own. Compiling gives every step
an id (its `key`, or `<type>_<n>` in definition order) and a `next`: the step after it, the
join of the parallel case it ends, or END. The engine walks these nodes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from formloom.platform.i18n import localized
from formloom.runtime.automations.model import Part
from formloom.runtime.registry import Registry

END = "end"
JOIN = "join:"  # + the parallel step's id


@dataclass
class Node:
    id: str
    type: str  # approval cc action branch parallel join
    spec: dict
    next: str = END
    cases: list[tuple[Any, str]] = field(default_factory=list)  # (condition or None, first node id)
    default: str = END  # a branch's default sequence (or what follows it)
    parallel: str | None = None  # the innermost parallel step this node sits in
    lane: str = ""  # the parallel cases it sits in, outermost first: "p1.0/p2.1" ("" at the top)

    @property
    def name(self) -> str:
        return self.spec.get("name") or self.id

    def display_name(self, locale: str | None = None) -> str:
        return localized(self.spec, "name", locale, self.id)


@dataclass
class Flow:
    """One compiled flow."""

    key: str
    form: str
    name: str
    raw: dict
    nodes: dict[str, Node]
    first: str
    enabled: bool = True
    resubmit: str = "continue"  # after a return to the submitter: "continue" at that step, or "restart"
    empty_assignee: str = "admin"  # "admin" (the app's admins) or "auto_approve"

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]

    def approvals(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.type == "approval"]


class FlowNodeType(Part):
    """One kind of step: its settings' schema, its checks at publish, its words."""

    holds_steps = False  # branch and parallel hold sequences of steps


flow_node_types: Registry[FlowNodeType] = Registry("flow steps")
