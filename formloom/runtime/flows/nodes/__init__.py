"""The kinds of flow step, one `FlowNodeType` per file, registered here in `flow_node_types`:
what each accepts at publish and what it does when a flow reaches it (`flows/model.py` names
the hooks). Adding a step kind is one file here and one line below (docs/contributing.md).
"""
from __future__ import annotations

from formloom.runtime.flows.model import END, flow_node_types
from formloom.runtime.flows.nodes.action import Action
from formloom.runtime.flows.nodes.approval import Approval
from formloom.runtime.flows.nodes.branch import Branch
from formloom.runtime.flows.nodes.cc import CarbonCopy
from formloom.runtime.flows.nodes.common import assignee_list
from formloom.runtime.flows.nodes.join import Join
from formloom.runtime.flows.nodes.parallel import Parallel

for _kind in (Approval, CarbonCopy, Action, Branch, Parallel, Join):
    flow_node_types.register(_kind())

STEP_TYPES = tuple(t.type for t in flow_node_types if t.written)  # what a definition may write
__all__ = ["END", "STEP_TYPES", "assignee_list"]
