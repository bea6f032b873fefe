"""Checking a definition's flows at publish and compiling them to nodes."""
from __future__ import annotations

from formloom.runtime.automations.compile import noting
from formloom.runtime.automations.model import CheckContext, Err
from formloom.runtime.automations.model import check_schema as _check_schema
from formloom.runtime.flows.model import END, Flow, Node, flow_node_types
from formloom.runtime.flows.nodes import STEP_TYPES

MAX_STEPS = 200


class _Walker:
    """Gives each step an id and a `next`, checking it on the way."""

    def __init__(self, flow_ptr: str, ctx: CheckContext):
        self.ptr, self.ctx, self.err = flow_ptr, ctx, ctx.err
        self.nodes: dict[str, Node] = {}
        self.counts: dict[str, int] = {}
        self.order: list[tuple[dict, str]] = []  # (step, pointer), definition order

    def ids(self, steps, ptr: str) -> None:
        """First pass: an id for every step, in definition order (ids do not depend on nesting)."""
        for i, step in enumerate(steps if isinstance(steps, list) else []):
            sptr = f"{ptr}/{i}"
            if not isinstance(step, dict) or step.get("type") not in STEP_TYPES:
                self.err(sptr + "/type", f'"{step.get("type") if isinstance(step, dict) else step}" is not a step; '
                                         f'steps: {", ".join(STEP_TYPES)}')
                continue
            self.counts[step["type"]] = self.counts.get(step["type"], 0) + 1
            kind = flow_node_types.get(step["type"])
            if not _check_schema(kind, step, sptr, self.err):
                continue
            node_id = step.get("key") or f"{step['type']}_{self.counts[step['type']]}"
            if node_id in self.nodes:
                self.err(sptr + "/key", f'step key "{node_id}" is used twice in this flow')
                continue
            step["_id"] = node_id
            self.nodes[node_id] = Node(node_id, step["type"], step)
            self.order.append((step, sptr))
            for below, sequence in kind.sequences(step):
                self.ids(sequence, sptr + below)

    def link(self, steps, after: str, parallel: str | None, lane: str) -> str:
        """Second pass: `next` pointers, back to front; the first step's id (or `after`)."""
        nxt = after
        for step in reversed([s for s in steps or [] if isinstance(s, dict) and "_id" in s]):
            node = self.nodes[step["_id"]]
            node.next, node.parallel, node.lane = nxt, parallel, lane
            flow_node_types.get(node.type).link(self, node, step, nxt, parallel, lane)
            nxt = node.id
        return nxt

    def check(self) -> None:
        for step, sptr in self.order:
            flow_node_types.get(step["type"]).check(step, sptr, self.ctx)


def compile_flows(raw_list, forms: dict, types, err: Err) -> dict[str, Flow]:
    """The definition's flows by key; each problem reported with its pointer."""
    out: dict[str, Flow] = {}
    enabled_for: dict[str, str] = {}
    for i, raw in enumerate(raw_list if isinstance(raw_list, list) else []):
        ptr = f"/flows/{i}"
        if not isinstance(raw, dict) or not isinstance(raw.get("steps"), list):
            continue  # the meta-schema has said what is wrong with it
        problems: list = []
        note = noting(problems, err)
        form = forms.get(raw.get("form"))
        if form is None or form.parent:
            note(ptr + "/form", f'"{raw.get("form")}" is not a form of this app')
            continue
        if raw.get("key") in out:
            note(ptr + "/key", f'flow key "{raw["key"]}" is used twice')
        enabled = raw.get("enabled", True)
        if enabled and form.key in enabled_for:
            note(ptr + "/form", f'form "{form.key}" has a flow already ("{enabled_for[form.key]}"); '
                                "switch one off (\"enabled\": false)")
        walker = _Walker(ptr, CheckContext(forms, types, note, form=form, source=form.key))
        walker.ids(raw["steps"], ptr + "/steps")
        if len(walker.nodes) > MAX_STEPS:
            note(ptr + "/steps", f"a flow has at most {MAX_STEPS} steps")
        first = walker.link(raw["steps"], END, None, "")
        walker.check()
        if problems:
            continue
        if not walker.nodes:
            note(ptr + "/steps", "a flow needs at least one step")
            continue
        if enabled:
            enabled_for[form.key] = raw["key"]
        out[raw["key"]] = Flow(key=raw["key"], form=form.key, name=raw.get("name") or raw["key"], raw=raw,
                               nodes=walker.nodes, first=first, enabled=enabled,
                               resubmit=raw.get("resubmit", "continue"),
                               empty_assignee=raw.get("empty_assignee", "admin"))
    return out
