"""`join`: where the cases of a parallel step meet (made by the compiler, never written)."""
from __future__ import annotations

from formloom.runtime.flows.model import FlowNodeType


class Join(FlowNodeType):
    type = "join"
    written = False

    def enter(self, run, token, node):
        return run.join(token, node)
