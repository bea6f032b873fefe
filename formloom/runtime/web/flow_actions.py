"""A record's approval on its page: the card (status, diagram, timeline) and what its
buttons post: withdraw, remind, submit again, comment. Each post redirects back to the
record with a flash message; a refusal (someone acted first, a reminder sent a moment ago)
is an error flash and changes nothing."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import flash, redirect, request
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import login_required
from markupsafe import Markup

from formloom.runtime.exceptions import Conflict, PermissionDenied, ValidationFailed
from formloom.runtime.fields import type_of
from formloom.runtime.flows import diagram, queries
from formloom.runtime.flows import service as flows
from formloom.runtime.records import service as records
from formloom.runtime.web.blueprint import bp
from formloom.runtime.web.common import Page, load
from formloom.runtime.web.display import Display
from formloom.runtime.web.history import Change, canonical

RECORD = "/a/<app_key>/f/<form_key>/r/<int:record_id>/approval"
ICONS = {"submitted": "send", "resubmitted": "send", "approved": "check-lg", "rejected": "x-lg",
         "returned": "arrow-return-left", "transferred": "arrow-left-right", "signer_added": "person-plus",
         "step_done": "check2-all", "finished": "flag", "withdrawn": "arrow-counterclockwise", "urged": "bell",
         "commented": "chat-left-text", "auto_approved": "check-lg", "action": "lightning-charge",
         "reminded": "alarm", "escalated": "arrow-up-circle"}
SYSTEM = ("finished", "auto_approved", "step_done", "action")  # the flow's own doing: told without a name


@dataclass
class Line:
    """One entry of the approval's timeline, in words."""

    action: str
    icon: str
    who: str
    what: str
    when: str
    comment: str = ""
    changes: list[Change] = field(default_factory=list)
    tone: str = ""  # success, danger, warning or "" (the dot's colour)


@dataclass
class Panel:
    """What the record page's approval card shows and offers."""

    status: str  # in_progress returned approved rejected withdrawn, or draft / none before a first submit
    label: str
    color: str
    svg: Markup
    waiting: list[str] = field(default_factory=list)  # "Max (Manager)"
    lines: list[Line] = field(default_factory=list)
    can_withdraw: bool = False
    can_urge: bool = False
    can_submit: bool = False
    can_comment: bool = False
    task_url: str = ""


def status_words(status: str) -> tuple[str, str]:
    """(label, badge colour) of an approval status."""
    return {"in_progress": (_("In progress"), "primary"), "returned": (_("Returned to the submitter"), "warning"),
            "approved": (_("Approved"), "success"), "rejected": (_("Rejected"), "danger"),
            "withdrawn": (_("Withdrawn"), "secondary"), "draft": (_("Draft: not submitted"), "light"),
            }.get(status, (_("Not submitted"), "light"))


def panel(page: Page, record: dict, display: Display) -> Panel | None:
    """The approval card of a record page, or None when its form has no flow and it never had one."""
    flow = page.runtime.definition.flow_for(page.form.key)
    if flow is None and not record.get("flow_status"):
        return None
    actor = page.actor
    may_submit = not record.get("deleted_at") and flow is not None and (
        "edit" in record.get("allowed", ()) or (record.get("owner") == actor.user_id and actor.user_id))
    rf = queries.record_flow(actor, page.runtime, page.form.key, record["id"], page.locale)
    if rf is None:
        # No approval on file: a draft, never submitted, or a record that arrived decided (imported history)
        status = record.get("flow_status") if record.get("flow_status") in ("draft", "approved", "rejected") else "none"
        return Panel(status, *status_words(status), diagram.svg(flow, (), None, page.locale, form=page.form),
                     can_submit=may_submit and status == "none")
    instance = rf.instance
    takes_part = instance.submitter_id == actor.user_id or any(t.assignee_id == actor.user_id for t in rf.tasks)
    out = Panel(instance.status, *status_words(instance.status),
                diagram.svg(rf.flow, rf.tasks, instance, page.locale, form=page.form),
                can_withdraw=rf.can_withdraw, can_urge=rf.can_urge and instance.status == "in_progress",
                can_submit=may_submit and instance.status in ("rejected", "withdrawn"),
                can_comment=bool(actor.user_id) and (takes_part or page.is_admin),
                task_url=f"/tasks/{rf.my_task.id}" if rf.my_task else "")
    pending = [t for t in rf.tasks if t.status == "pending"]
    display.want_users([t.assignee_id for t in pending])
    display.want_users(v for e in rf.timeline for k, v in (e.log.detail or {}).items() if k in ("to", "user"))
    changes = [_visible(page, record, (e.log.detail or {}).get("changes")) for e in rf.timeline]
    display.want(page.form, [{k: canonical(page.form.fields[k], pair[i]) for k, pair in c.items()}
                             for c in changes for i in (0, 1)])
    display.load()
    out.waiting = [f"{display.user_name(t.assignee_id)} ({queries.step_name(rf.flow, t.step_key, page.locale)})"
                   for t in pending]
    out.lines = [_line(page, rf.flow, e, display, c) for e, c in zip(rf.timeline, changes, strict=True)]
    return out


def _visible(page: Page, record: dict, changes) -> dict:
    """A log entry's field changes the reader may see: {key: [old, new]}."""
    hidden = set(record.get("hidden", ()))
    return {k: pair for k, pair in (changes if isinstance(changes, dict) else {}).items()
            if k in page.form.fields and k not in hidden and isinstance(pair, list) and len(pair) == 2}


def _line(page: Page, flow, entry: queries.Entry, display: Display, changes: dict) -> Line:
    log, detail = entry.log, entry.log.detail or {}
    who, tone = entry.actor_name, ""
    what = _what(log.action, detail, entry.step_name, flow, display, page.locale)
    if log.action in ("approved", "auto_approved") or (log.action == "finished" and detail.get("outcome") == "approved"):
        tone = "success"
    elif log.action == "rejected" or (log.action == "finished" and detail.get("outcome") == "rejected"):
        tone = "danger"
    elif log.action in ("returned", "withdrawn", "urged", "reminded", "escalated"):
        tone = "warning"
    if log.action in SYSTEM:
        who = ""
    form = page.form
    lines = [Change(form.label(k, page.locale), None, None, _("changed")) if type_of(form.fields[k]).holds_rows
             else Change(form.label(k, page.locale), display.cell(form, k, canonical(form.fields[k], pair[0])),
                         display.cell(form, k, canonical(form.fields[k], pair[1])))
             for k, pair in changes.items()]
    return Line(log.action, ICONS.get(log.action, "dot"), who, what, display.local_time(log.at),
                log.comment or "", lines, tone)


def _what(action: str, detail: dict, step: str, flow, display: Display, locale: str) -> str:
    """What happened, in words (the actor's name goes before it)."""
    late = detail.get("reason") == "timeout"
    if action == "approved":
        return _("approved at %(step)s: time ran out", step=step) if late else _("approved at %(step)s", step=step)
    if action == "rejected":
        return _("rejected at %(step)s: time ran out", step=step) if late else _("rejected at %(step)s", step=step)
    if action == "returned":
        if detail.get("to") in (None, flows.SUBMITTER_STEP):
            return _("returned the record to the submitter")
        return _("returned the record to %(step)s", step=queries.step_name(flow, detail["to"], locale))
    if action == "transferred":
        return _("passed %(step)s on to %(name)s", step=step,
                 name=detail.get("to_name") or display.user_name(detail.get("to")))
    if action == "signer_added":
        name = detail.get("name") or display.user_name(detail.get("user"))
        if detail.get("position") == "before":
            return _("asked %(name)s to sign before them", name=name)
        return _("asked %(name)s to sign after them", name=name)
    if action == "finished":
        return _("The approval ended: %(outcome)s", outcome=status_words(detail.get("outcome", ""))[0])
    return {"submitted": _("submitted the record"), "resubmitted": _("submitted the record again"),
            "withdrawn": _("withdrew the record"), "urged": _("sent a reminder"), "commented": _("commented"),
            "step_done": _("%(step)s is done", step=step),
            "auto_approved": _("%(step)s was approved automatically: nobody to approve it", step=step),
            "action": _("%(step)s ran", step=step),
            "reminded": _("reminded the approvers of %(step)s", step=step),
            "escalated": _("passed %(step)s to a manager: time ran out", step=step)}.get(action, action)


# -- the card's buttons -----------------------------------------------------------------------------
def _act(app_key: str, form_key: str, record_id: int, do, done: str):
    """Run one action for a record the reader may see (NotFound otherwise), flash, go back."""
    page = load(app_key, form_key)
    records.get(page.actor, page.runtime, form_key, record_id)
    try:
        result = do(page)
    except (Conflict, PermissionDenied, ValidationFailed) as exc:
        flash(exc.localized(), "error")
    else:
        flash(done(result) if callable(done) else done, "success")
    return redirect(page.url("web.record_detail", record_id=record_id) + "#approval")


@bp.post(RECORD + "/withdraw")
@login_required
def flow_withdraw(app_key, form_key, record_id):
    """The submitter takes the record back (while nobody has acted)."""
    return _act(app_key, form_key, record_id,
                lambda page: flows.withdraw(page.actor, page.runtime, form_key, record_id,
                                            request.form.get("comment") or None),
                _("The record was withdrawn from approval."))


@bp.post(RECORD + "/urge")
@login_required
def flow_urge(app_key, form_key, record_id):
    """Remind the people whose turn it is."""
    return _act(app_key, form_key, record_id,
                lambda page: flows.urge(page.actor, page.runtime, form_key, record_id),
                lambda n: ngettext("A reminder was sent to %(num)d person.", "A reminder was sent to %(num)d people.", n))


@bp.post(RECORD + "/submit")
@login_required
def flow_submit(app_key, form_key, record_id):
    """Submit a rejected or withdrawn record (or one never submitted) for approval."""
    return _act(app_key, form_key, record_id,
                lambda page: flows.submit_record(page.actor, page.runtime, form_key, record_id),
                _("The record was submitted for approval."))


@bp.post(RECORD + "/comment")
@login_required
def flow_comment(app_key, form_key, record_id):
    """A comment in the approval's timeline."""
    return _act(app_key, form_key, record_id,
                lambda page: flows.comment(page.actor, page.runtime, form_key, record_id,
                                           request.form.get("comment", "")[:5000]),
                _("Your comment was added."))
