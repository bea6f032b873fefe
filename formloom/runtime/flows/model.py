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
        """The steps where people decide (where a record can be returned to)."""
        return [n for n in self.nodes.values() if flow_node_types.get(n.type).decides]


class FlowNodeType(Part):
    """One kind of step: its settings' schema, its checks at publish (`check`, from `Part`),
    how the compiler links it (`link`), what the engine does when a flow reaches it
    (`enter`), and how the diagram draws it (`caption`, `who`, `glyph`, or for steps that
    hold steps `header` and `case_label`). One kind per file in `flows/nodes/`."""

    written = True  # a definition may name it (the compiler makes "join" steps itself)
    holds_steps = False  # holds sequences of steps (`sequences`), drawn side by side
    picks_one = False  # of the sequences it holds, a flow takes one (else every one)
    decides = False  # people decide here (approve, reject, return): a record can be returned to it

    def sequences(self, spec: dict) -> list[tuple[str, object]]:
        """The sequences of steps it holds: (pointer below the step's, the raw list)."""
        return []

    def link(self, walker, node: Node, spec: dict, nxt: str, parallel: str | None, lane: str) -> None:
        """Point the sequences it holds at what follows (`nxt`); the compiler's second pass."""

    def enter(self, run, token: str, node: Node) -> str | None:
        """Called by the engine (`run` is its `engine.Run`) when `token` arrives at `node`: the
        id of the node to go on to, or None when the token waits."""
        raise NotImplementedError

    # -- the diagram (runtime/flows/diagram.py); called with the reader's locale in force --
    def caption(self, spec: dict) -> str:
        """The small line above a box's name: what kind of step it is."""
        return ""

    def default_name(self) -> str:
        """A box's name when the step has none ("" for its id)."""
        return ""

    def who(self, spec: dict, words) -> str:
        """The line under a box's name (`words` is the diagram's `Words`: names of people)."""
        return ""

    def glyph(self, cx: float, cy: float) -> str:
        """The SVG of the box's icon, centred at (cx, cy)."""
        return ""

    def header(self, name: str) -> str:
        """The pill above the sequences it holds, given the step's name ("" for none)."""
        return name

    def case_label(self, spec: dict, i: int) -> str:
        """The label of its i-th sequence when the case has no name."""
        return ""


flow_node_types: Registry[FlowNodeType] = Registry("flow steps")
