"""`cc`: copy the record to people (nothing to do; the flow goes on at once)."""
from __future__ import annotations

from flask_babel import gettext as _

from formloom.runtime.flows.model import FlowNodeType
from formloom.runtime.flows.nodes.common import ASSIGNEES, assignees_words, check_assignees, schema


class CarbonCopy(FlowNodeType):
    type = "cc"
    schema = schema(("assignees",), assignees=ASSIGNEES)

    def check(self, spec, ptr, ctx):
        check_assignees(spec["assignees"], ptr + "/assignees", ctx.form, ctx.err)

    def enter(self, run, token, node):
        run.copy_to(token, node)
        return node.next

    def caption(self, spec):
        return _("Copy · nothing to do")

    def default_name(self):
        return _("Copy to")

    def who(self, spec, words):
        return assignees_words(spec, words)

    def glyph(self, cx, cy):
        return (f'<path class="fld-glyph-line" d="M{cx - 7:g} {cy - 5:g}h14v10h-14z'
                f'M{cx - 7:g} {cy - 5:g}L{cx:g} {cy + 1:g}L{cx + 7:g} {cy - 5:g}"/>')
