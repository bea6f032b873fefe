"""An approval flow drawn as an inline SVG: no script, no external files, laid out in Python.

A structured flow is a tree (a sequence of steps; a branch or a parallel step holds a
sequence per case), so the layout is recursive: a step is a fixed box, a sequence stacks
its items with arrows between them, and a split puts its cases side by side (its width is
the sum of theirs plus gaps) between a split line and a merge line. Given the instance's
tasks, steps are drawn done, waiting, rejected, returned or not reached, and a branch's
cases the flow did not take are dimmed once it has chosen. Its classes are styled by
runtime/web/static/web.css ("approval flow diagrams"): our pages allow no inline styles.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup, escape

from formloom.platform.extensions import db
from formloom.platform.i18n import localized
from formloom.platform.models import Department, Role, User
from formloom.runtime.flows.diagram_shapes import BOX_W, PAD, Case, Seq, Split, Step, Terminal
from formloom.runtime.flows.engine import OPEN
from formloom.runtime.flows.model import Flow, flow_node_types
from formloom.runtime.flows.nodes import assignee_list
from formloom.runtime.flows.reading import pinned

__all__ = ["BOX_W", "svg"]


# -- what happened -------------------------------------------------------------------------------
def _evidence(tasks) -> dict[str, str]:
    """Each step's state as its tasks tell it: current, done, rejected, returned."""
    by_step: dict[str, list] = defaultdict(list)
    for t in sorted(tasks, key=lambda t: t.id):
        by_step[t.step_key].append(t)
    out = {}
    for step, ts in by_step.items():
        if any(t.status in OPEN for t in ts):
            out[step] = "current"
            continue
        acted = [t for t in ts if t.status not in ("cancelled", "transferred")]
        if acted:
            last = acted[-1].status
            out[step] = {"rejected": "rejected", "returned": "returned"}.get(last, "done")
    return out


def _cases(step: dict) -> list[list]:
    """The sequences of steps a step holds (none for a box)."""
    return [seq or [] for _below, seq in flow_node_types.get(step["type"]).sequences(step)]


@dataclass
class Progress:
    evidence: dict[str, str]
    tracking: bool  # an instance (or tasks) to show: steps without news are "not reached"
    status: dict[str, str] = field(default_factory=dict)
    skipped: set[tuple[str, int]] = field(default_factory=set)

    def mark(self, steps: list, past: bool) -> bool:
        """Give each step of a sequence its state; whether the flow entered the sequence.
        `past`: the flow has gone beyond the sequence's end, so every step in it was passed."""
        later, entered_any = past, False
        for step in reversed(steps):
            sid = step["_id"]
            kind = flow_node_types.get(step["type"])
            if kind.holds_steps and kind.picks_one:
                entered = self._branch(step, later)
            elif kind.holds_steps:
                entered = any([self.mark(c, later) for c in _cases(step)]) or later
            else:
                entered = sid in self.evidence or later
                if self.tracking:
                    self.status[sid] = self.evidence.get(sid) or ("done" if later else "todo")
            later = later or entered
            entered_any = entered_any or entered
        return entered_any

    def _branch(self, step: dict, past: bool) -> bool:
        cases = _cases(step)
        seen = [self._touched(c) for c in cases]
        taken = seen.index(True) if any(seen) else None
        if taken is None and past:
            empty = [i for i, c in enumerate(cases) if not c]
            taken = empty[0] if len(empty) == 1 else None
        for i, case in enumerate(cases):
            self.mark(case, past and i == taken)
            if taken is not None and i != taken:
                self.skipped.add((step["_id"], i))
        return taken is not None or past

    def _touched(self, steps: list) -> bool:
        return any(s["_id"] in self.evidence or any(self._touched(c) for c in _cases(s)) for s in steps)


# -- words ---------------------------------------------------------------------------------------
class Words:
    """Names of the users, roles and departments the flow's assignees mention (one query each)."""

    def __init__(self, flow: Flow, form, locale: str):
        self.form, self.locale = form, locale
        users, roles, depts = set(), set(), set()
        for node in flow.nodes.values():
            for one in assignee_list(node.spec.get("assignees") or []):
                users.update(one.get("users") or [])
                if "role" in one:
                    roles.add(one["role"])
                if "department_head" in one:
                    depts.add(one["department_head"])
        self.users = _names(sa.select(User.id, User.name).where(User.id.in_(users))) if users else {}
        self.roles = _names(sa.select(Role.key, Role.name).where(Role.key.in_(roles))) if roles else {}
        self.depts = _names(sa.select(Department.id, Department.name).where(Department.id.in_(depts))) if depts else {}

    def field(self, key: str) -> str:
        if key == "$owner":
            return _("the record's owner")
        if key == "$created_by":
            return _("the record's creator")
        if self.form is not None and key in self.form.fields:
            return self.form.label(key, self.locale)
        return key

    def assignee(self, one: dict) -> str:
        if "users" in one:
            names = [self.users.get(i) or _("User #%(id)s", id=i) for i in one["users"]]
            more = len(names) - 3
            shown = ", ".join(names[:3]) + (" " + _("+%(n)s more", n=more) if more > 0 else "")
            return _("Users: %(names)s", names=shown)
        if "role" in one:
            return _("Role: %(role)s", role=self.roles.get(one["role"], one["role"]))
        if "field" in one:
            return _("Field: %(field)s", field=self.field(one["field"]))
        if "department_head" in one:
            dept = self.depts.get(one["department_head"]) or _("department #%(id)s", id=one["department_head"])
            return _("Head of %(department)s", department=dept)
        level = one.get("level", 1)
        whose = _("the submitter") if one["manager_of"] == "submitter" else self.field(one["manager_of"])
        if level == 1:
            return _("Manager of %(whose)s", whose=whose)
        return _("Level %(n)s manager of %(whose)s", n=level, whose=whose)

    def who(self, spec: dict) -> str:
        return flow_node_types.get(spec["type"]).who(spec, self)


def _names(stmt) -> dict:
    return dict(db.session.execute(stmt).all())




# -- building and drawing --------------------------------------------------------------------------
def _build(steps: list, words: Words, progress: Progress, locale: str) -> Seq:
    items = []
    for step in steps:
        sid = step["_id"]
        kind = flow_node_types.get(step["type"])
        if kind.holds_steps:
            raw_cases = step.get("cases") or []
            cases = []
            for i, seq in enumerate(_cases(step)):
                label = (localized(raw_cases[i], "name", locale) if i < len(raw_cases) else "") or kind.case_label(step, i)
                cases.append(Case(label, _build(seq, words, progress, locale), (sid, i) in progress.skipped))
            items.append(Split(sid, step["type"], kind.header(localized(step, "name", locale)), cases))
            continue
        name = localized(step, "name", locale) or kind.default_name() or sid
        items.append(Step(sid, step["type"], kind.caption(step), name, words.who(step), progress.status.get(sid, "")))
    boxes = [i for i in items if isinstance(i, Step)]
    widest = max((b.wanted for b in boxes), default=BOX_W)
    for box in boxes:
        box.floor = max(widest, BOX_W)
    return Seq(items)


END_STATES = {"approved": "done", "rejected": "rejected", "withdrawn": "withdrawn"}


def svg(flow: Flow, tasks=(), instance=None, locale: str = "zh", form=None) -> Markup:
    """The flow as an inline SVG; with an instance's tasks, where it stands.
    `form` (the flow's FormDef) names field assignees; the instance's own is used when given."""
    # Any Chinese asks for the app's one Chinese catalogue (a bare "zh" would find none).
    with force_locale("zh_CN" if locale.lower().startswith("zh") else locale):
        return Markup(_draw(flow, list(tasks), instance, locale, form))


def _draw(flow: Flow, tasks: list, instance, locale: str, form) -> str:
    if form is None and instance is not None:

        form = pinned(instance)[0].definition.forms.get(flow.form)
    tracking = instance is not None or bool(tasks)
    progress = Progress(_evidence(tasks), tracking)
    status = instance.status if instance is not None else None
    progress.mark(flow.raw.get("steps") or [], past=status == "approved")
    body = _build(flow.raw.get("steps") or [], Words(flow, form, locale), progress, locale)
    start = Terminal("start", _("Submit"), ("current" if status == "returned" else "done") if status else "")
    end = Terminal("end", {"approved": _("Approved"), "rejected": _("Rejected"), "withdrawn": _("Withdrawn")}.get(
        status, _("End")), END_STATES.get(status, "todo" if tracking else ""))
    whole = Seq([start, *body.items, end])
    width, height = whole.width + 2 * PAD, whole.height + 2 * PAD
    title = _("Approval flow: %(name)s", name=localized(flow.raw, "name", locale) or flow.name)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="fld" role="img" aria-label="{escape(title)}" '
           f'width="{width:g}" height="{height:g}" viewBox="0 0 {width:g} {height:g}">',
           f"<title>{escape(title)}</title>"]
    whole.draw(out, width / 2, PAD)
    out.append("</svg>")
    return "".join(out)
