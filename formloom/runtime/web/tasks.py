"""The approval inbox (to do, submitted by me, done, copied to me) and the task page, where
an approver approves, rejects, returns, transfers or adds a signer, and a submitter sends a
returned record again. Every action goes through the flow service, one transaction each."""
from __future__ import annotations

from dataclasses import dataclass, replace
from dataclasses import field as dc_field

import sqlalchemy as sa
from flask import flash, g, has_request_context, redirect, render_template, request, url_for
from flask_babel import format_timedelta, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from formloom.platform.auth import current_actor
from formloom.platform.extensions import db
from formloom.platform.i18n import current_locale_name, format_moment, localized
from formloom.platform.inputs import as_id
from formloom.platform.models import FlowTask, User, utcnow
from formloom.runtime import access
from formloom.runtime.apps import runtime_for
from formloom.runtime.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from formloom.runtime.fields import type_of
from formloom.runtime.flows import diagram, queries, service
from formloom.runtime.flows.engine import engine_writes
from formloom.runtime.forms import build_form_class, entry_fields, mark_required
from formloom.runtime.forms.errors import Problem, place
from formloom.runtime.forms.rules import hidden_fields
from formloom.runtime.forms.uploads import items_of
from formloom.runtime.forms.values import default_row, initial_data, submitted
from formloom.runtime.records.context import app_timezone, condition_env, value_context
from formloom.runtime.storage.store import flat_values
from formloom.runtime.web.blueprint import bp
from formloom.runtime.web.common import Page, actor_form
from formloom.runtime.web.display import Display
from formloom.runtime.web.editing import (
    choices_for,
    forget_wtforms_errors,
    only_unparsed,
    store_uploads,
    wtforms_problems,
)
from formloom.runtime.web.formpage import Layout
from formloom.runtime.web.history import Change, canonical
from formloom.runtime.web.records import detail_fields

TABS = {"pending": _l("To do"), "submitted": _l("Submitted by me"), "done": _l("Done"), "cc": _l("Copied to me")}
STATUS = {  # task and instance statuses: (label, badge colour)
    "pending": (_l("Waiting"), "warning"), "waiting": (_l("Not your turn yet"), "secondary"),
    "approved": (_l("Approved"), "success"), "rejected": (_l("Rejected"), "danger"),
    "returned": (_l("Returned"), "info"), "transferred": (_l("Transferred"), "secondary"),
    "cancelled": (_l("Closed"), "secondary"), "unread": (_l("Unread"), "primary"), "read": (_l("Read"), "light"),
    "in_progress": (_l("In progress"), "warning"), "withdrawn": (_l("Withdrawn"), "secondary"),
}
DONE_FLASH = {"approve": _l("Approved."), "reject": _l("Rejected."), "return": _l("Returned."),
              "transfer": _l("The task was passed on."), "add_signer": _l("The signer was added."),
              "submit": _l("The record was submitted again.")}
ACTION_FIELDS = ("to", "position", "action", "comment")
MAX_USERS = 1000
PAGE_SIZE = queries.PAGE


def _status(status: str) -> tuple[str, str]:
    label, color = STATUS.get(status, (status, "secondary"))
    return str(label), color


# -- the badge in the top bar --------------------------------------------------------------------
def _pending_count() -> int:
    """Tasks waiting for the signed-in user: one indexed count, made at most once per request."""
    if "pending_approvals" not in g:
        g.pending_approvals = db.session.execute(sa.select(sa.func.count()).select_from(FlowTask).where(
            FlowTask.assignee_id == current_user.id, FlowTask.status == "pending")).scalar()
    return g.pending_approvals


@bp.app_context_processor
def inbox_context() -> dict:
    """`pending_approvals()` for the top bar: a function, so pages that do not draw it pay nothing."""
    if not has_request_context() or not current_user.is_authenticated:
        return {}
    return {"pending_approvals": _pending_count}


# -- the inbox -------------------------------------------------------------------------------------
@dataclass
class Row:
    """One line of an inbox table."""

    task_id: int | None
    title: str
    url: str
    app_name: str
    form_name: str
    step_name: str
    submitter: str
    when: str
    ago: str
    status: tuple[str, str]
    due: str = ""
    overdue: bool = False
    unread: bool = False


def _row(item: queries.Item, box: str, now) -> Row:
    tz = app_timezone(runtime_for(item.instance.app_id, item.instance.app_version))
    task, inst = item.task, item.instance
    at = inst.updated_at if task is None else task.acted_at if box == "done" else task.created_at
    if task is None:
        url = url_for("web.record_detail", app_key=item.app_key, form_key=item.form_key, record_id=item.record_id)
    else:
        url = url_for("web.task_page", task_id=task.id)
    due = task.due_at if task is not None else None
    return Row(task.id if task else None, item.title, url, item.app_name, item.form_name, item.step_name,
               item.submitter, format_moment(at, tz),
               format_timedelta(at - now, granularity="minute", add_direction=True) if at else "",
               _status(inst.status if task is None else task.status),
               format_moment(due, tz),
               bool(due and due < now and task.status == "pending"), bool(task and task.status == "unread"))


def _before() -> int | None:
    return as_id(request.args.get("before", ""))


@bp.get("/inbox")
@login_required
def inbox():
    """One of the four lists, newest first, a page at a time."""
    actor = current_actor()
    box = request.args.get("box", "pending")
    if box not in TABS:
        raise NotFound(_("No such list"))
    items, cursor = queries.inbox(actor, box, _before(), limit=PAGE_SIZE, locale=current_locale_name())
    now = utcnow()
    return render_template(
        "web/inbox.html", box=box, tabs=TABS, counts=queries.counts(actor), rows=[_row(i, box, now) for i in items],
        next_url=url_for("web.inbox", box=box, before=cursor) if cursor else None,
        first_url=url_for("web.inbox", box=box) if _before() else None)


@bp.post("/inbox/approve")
@login_required
def inbox_approve():
    """Approve the ticked tasks, each on its own; say how many went through and why others did not."""
    actor = current_actor()
    ids = [n for n in map(as_id, request.form.getlist("task")) if n is not None]
    if not ids:
        flash(_("Tick the tasks to approve first."), "warning")
        return redirect(url_for("web.inbox"))
    approved, failed = 0, []
    for task_id in ids:
        try:
            service.act(actor, task_id, "approve", request.form.get("comment"))
            approved += 1
        except (Conflict, ValidationFailed, PermissionDenied, NotFound) as exc:
            failed.append(_("%(title)s: %(reason)s", title=_task_title(actor, task_id), reason=exc.localized()))
    text = ngettext("%(num)d approved", "%(num)d approved", approved)
    if failed:
        text += "; " + ngettext("%(num)d could not be: %(reasons)s", "%(num)d could not be: %(reasons)s",
                                len(failed), reasons="; ".join(failed))
    flash(text, "warning" if failed else "success")
    return redirect(url_for("web.inbox"))


def _task_title(actor, task_id: int) -> str:
    try:
        view = queries.task_view(actor, task_id, current_locale_name())
    except NotFound:
        return f"#{task_id}"
    form = view.runtime.form(view.instance.form_key)
    return str(view.record["fields"].get(form.title_field) or f"#{view.instance.record_id}")


# -- one task: what it shows -----------------------------------------------------------------------
ICONS = {"submitted": "send", "resubmitted": "send", "approved": "check-circle", "rejected": "x-circle",
         "returned": "arrow-return-left", "transferred": "arrow-left-right", "signer_added": "person-plus",
         "finished": "flag", "withdrawn": "arrow-counterclockwise", "urged": "bell", "commented": "chat-left-text",
         "reminded": "alarm", "escalated": "arrow-up-circle", "auto_approved": "lightning", "action": "gear",
         "step_done": "check2-all"}
BY_SYSTEM = ("finished", "step_done", "auto_approved", "action")  # sentences without a person


@dataclass
class Step:
    """One line of the flow's timeline, in words."""

    who: str
    when: str
    what: str
    icon: str
    action: str
    comment: str | None
    changes: list[Change]


def _said(entry: queries.Entry, flow) -> str:
    """What a log entry says happened, as the words after the actor's name."""
    log, step, d = entry.log, entry.step_name, entry.log.detail or {}
    timed_out = d.get("reason") == "timeout"
    if log.action == "approved":
        return _("approved at %(step)s: time ran out", step=step) if timed_out else _("approved at %(step)s", step=step)
    if log.action == "rejected":
        return _("rejected at %(step)s: time ran out", step=step) if timed_out else _("rejected at %(step)s", step=step)
    if log.action == "returned":
        if d.get("to") == service.SUBMITTER_STEP:
            return _("returned the record to the submitter")
        return _("returned the record to %(step)s", step=queries.step_name(flow, d.get("to")))
    if log.action == "transferred":
        return _("passed %(step)s on to %(name)s", step=step, name=d.get("to_name", ""))
    if log.action == "signer_added":
        if d.get("position") == "before":
            return _("asked %(name)s to sign before them", name=d.get("name", ""))
        return _("asked %(name)s to sign after them", name=d.get("name", ""))
    if log.action == "finished":
        return _("The approval ended: %(outcome)s", outcome=_status(d.get("outcome", ""))[0])
    words = {"submitted": _("submitted the record"), "resubmitted": _("submitted the record again"),
             "withdrawn": _("withdrew the record"), "urged": _("sent a reminder"), "commented": _("commented"),
             "step_done": _("%(step)s is done", step=step),
             "auto_approved": _("%(step)s was approved automatically: nobody to approve it", step=step),
             "action": _("%(step)s ran", step=step),
             "reminded": _("reminded the approvers of %(step)s", step=step),
             "escalated": _("passed %(step)s to a manager: time ran out", step=step)}
    return words.get(log.action, log.action)


def _timeline(view: queries.TaskView, form, display: Display, hidden: set[str]) -> list[Step]:
    """The flow so far, oldest first; field changes only of fields the reader may see."""
    shown = []
    for entry in view.timeline:
        changes = ((entry.log.detail or {}).get("changes") or {})
        pairs = {k: [canonical(form.fields[k], v) for v in pair] for k, pair in changes.items()
                 if k in form.fields and k not in hidden and not type_of(form.fields[k]).holds_rows}
        display.want(form, [{k: p[0] for k, p in pairs.items()}, {k: p[1] for k, p in pairs.items()}])
        shown.append((entry, pairs))
    display.load()
    return [Step("" if e.log.action in BY_SYSTEM else e.actor_name, display.local_time(e.log.at), _said(e, view.flow),
                 ICONS.get(e.log.action, "dot"), e.log.action, e.log.comment,
                 [Change(form.label(k, display.locale), display.cell(form, k, old), display.cell(form, k, new))
                  for k, (old, new) in pairs.items()])
            for e, pairs in shown]


def _submitter_rules(actor, view: queries.TaskView) -> tuple[frozenset, frozenset]:
    """What a submitter may see and change of their returned record. Its flow keeps it locked
    for everyone; sending it again is the one way to change it, so the lock is set aside here
    exactly as the service sets it aside when it saves."""
    record = view.record
    try:
        fa = access.form_access(actor, view.runtime, view.instance.form_key)
    except NotFound:  # no longer a member of the app: they may still send it again unchanged
        return frozenset(), frozenset(record["fields"])
    with engine_writes(record["id"]):
        hidden = fa.hidden(record)
        locked = fa.locked(record) if fa.permits("edit", record) else frozenset(fa.form.fields)
    return hidden, locked


def _page(actor, view: queries.TaskView, locale: str) -> Page:
    """The page context: the record's form with the step's hidden fields hidden and only the
    fields the reader may change now left open."""
    form = view.runtime.form(view.instance.form_key)
    hidden, locked = set(view.hidden), set(form.fields) - set(view.editable if view.actions else ())
    if view.task.kind == "submit" and view.task.assignee_id == actor.user_id:
        seen, locked = _submitter_rules(actor, view)
        hidden |= seen
        if not view.actions:
            locked = set(form.fields)
    role = access.app_role(actor, view.runtime.app_id) or ""
    return Page(actor, view.runtime, role, locale, actor_form(form, hidden, set(locked) - hidden))


@dataclass
class Inputs:
    """The task page's form: the fields the reader may change, and what a failed action left."""

    wt: object = None
    slots: list = dc_field(default_factory=list)
    problems: list[Problem] = dc_field(default_factory=list)
    errors: dict = dc_field(default_factory=dict)  # the action's own inputs (to, position): message
    file_items: dict = dc_field(default_factory=dict)
    table_errors: dict = dc_field(default_factory=dict)
    rows_sent: dict = dc_field(default_factory=dict)
    panel: str = ""  # the action whose panel stays open after an error


def _form_class(page: Page, view: queries.TaskView):
    """A WTForms class of the fields open to the reader now, or None when none are."""
    if not view.actions or not entry_fields(page.form):
        return None
    return build_form_class(page.form, page.locale, choices_for(page.form, view.record["fields"]))


def _slots(page: Page, view: queries.TaskView, wt, inputs: Inputs, values: dict) -> list:
    """What the template draws of the form: only the inputs for an approver (the record is
    shown above them), the whole form for a submitter sending it again."""
    ctx = value_context(page.actor, page.runtime)
    form = page.form
    mark_required(wt, form)
    rules_hide = hidden_fields(form, {**flat_values(view.record), **values}, condition_env(page.actor, page.runtime,
                                                                                           ctx=ctx))
    display = Display(page)
    rows = {k: initial_data(child, default_row(child, ctx), ctx.tz) for k, child in form.children.items()}
    layout = Layout(page, wt, display, view.record["fields"], rows)
    layout.want_links(form, wt)
    display.want(form, [view.record["fields"]])
    display.load()
    slots = layout.slots(rules_hide, inputs.file_items or items_of(form, view.record["fields"]),
                         inputs.table_errors, {})
    return slots if view.task.kind == "submit" else [s for s in slots if s.kind != "readonly"]


def _typed(page: Page, view: queries.TaskView, inputs: Inputs) -> dict | None:
    """The values typed into the task's form, uploads stored; None (problems noted) if unusable."""
    wt, form, current = inputs.wt, page.form, view.record["fields"]
    if not wt.validate() and not only_unparsed(wt):
        inputs.problems = wtforms_problems(form, wt, page.locale)
        return None
    forget_wtforms_errors(wt)  # the service judges every value, each error in its words
    ctx = value_context(page.actor, page.runtime)
    # Field hooks only convert here; the service checks references when it saves.
    light = replace(ctx, user_exists=None, department_exists=None, record_exists=None, file_lookup=None)
    data, rows_sent = submitted(form, wt, light, current)
    files = store_uploads(page, wt, current, rows_sent, inputs)
    if files is None:
        return None
    inputs.rows_sent = rows_sent
    return {**data, **files}


def _target(action: str):
    """The step to return to, or the user to pass the task on to or to ask to sign."""
    if action == "return":
        return request.form.get("return_to") or service.SUBMITTER_STEP
    raw = request.form.get("transfer_to" if action == "transfer" else "signer", "")
    return as_id(raw)


def _refused(page: Page, inputs: Inputs, action: str, exc) -> None:
    """Put the service's errors next to what they are about: the action's own inputs, or fields."""
    mine = [e for e in exc.errors if e.get("field") in ACTION_FIELDS]
    fields = [e for e in exc.errors if e.get("field") not in ACTION_FIELDS]
    inputs.errors = {e["field"]: exc.localized() for e in mine}
    inputs.panel = action if mine else ""
    if fields and inputs.wt is not None:
        inputs.problems, inputs.table_errors = place(page.form, inputs.wt, fields, inputs.rows_sent, page.locale)
    elif fields or not exc.errors:
        inputs.problems = [Problem("", exc.localized())]


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task_page(task_id):
    """A task: the record as its step shows it, what the reader may do now, and the flow so far."""
    actor = current_actor()
    view = queries.task_view(actor, task_id, current_locale_name())
    page = _page(actor, view, current_locale_name())
    form_class = _form_class(page, view)
    inputs = Inputs()
    if request.method == "GET":
        if form_class is not None:
            data = initial_data(page.form, view.record["fields"], app_timezone(page.runtime))
            inputs.wt = form_class(formdata=None, data=data)
        return _render(page, view, inputs)
    action = request.form.get("action", "")
    fields = None
    if form_class is not None:
        inputs.wt = form_class()
        if action in ("approve", "submit"):
            fields = _typed(page, view, inputs)
            if fields is None:
                return _render(page, view, inputs, 422)
    try:
        service.act(actor, task_id, action, request.form.get("comment"), fields=fields, to=_target(action),
                    position=request.form.get("position"))
    except Conflict as exc:
        flash(_("Someone acted on this task already, so nothing was changed: %(reason)s", reason=exc.localized()),
              "warning")
        return redirect(url_for("web.task_page", task_id=task_id))
    except (ValidationFailed, PermissionDenied) as exc:
        if isinstance(exc, PermissionDenied) and not exc.errors:
            raise
        _refused(page, inputs, action, exc)
        return _render(page, view, inputs, 422)
    flash(str(DONE_FLASH[action]), "success")
    return redirect(url_for("web.inbox"))


def _users(actor) -> list[tuple[int, str]]:
    """Active people, by name, to pass a task on to or to ask to sign."""
    return [tuple(r) for r in db.session.execute(sa.select(User.id, User.name).where(
        User.active.is_(True), User.id != actor.user_id).order_by(User.name).limit(MAX_USERS))]


def _record_url(page: Page, view: queries.TaskView) -> str | None:
    """The record's own page, when the reader may open it."""
    try:
        fa = access.form_access(page.actor, page.runtime, view.instance.form_key)
    except NotFound:
        return None
    if not fa.permits("view", view.record):
        return None
    return url_for("web.record_detail", app_key=page.runtime.key, form_key=view.instance.form_key,
                   record_id=view.instance.record_id)


def _render(page: Page, view: queries.TaskView, inputs: Inputs, status: int = 200):
    form, task = page.form, view.task
    hidden = {k for k, f in form.fields.items() if f.get("hidden")}
    display = Display(page)
    display.want(form, [view.record["fields"]])
    display.want_users([view.instance.submitter_id, task.assignee_id])
    display.load()
    if inputs.wt is not None:
        inputs.slots = _slots(page, view, inputs.wt, inputs, {})
    open_keys = {s.key for s in inputs.slots}
    record = {**view.record, "hidden": sorted(hidden | open_keys)}
    returned = next((e for e in reversed(view.timeline) if e.log.action == "returned"), None)
    return render_template(
        "web/task.html", page=page, view=view, task=task, inputs=inputs, display=display,
        title=display.title(form, view.record), fields=detail_fields(page, record, display),
        timeline=_timeline(view, form, display, hidden), status=_status(task.status),
        flow_status=_status(view.instance.status), step=queries.step_name(view.flow, task.step_key, page.locale),
        flow_name=localized(view.flow.raw, "name", page.locale, view.flow.name), returned=returned if task.kind == "submit" else None,
        mine=task.assignee_id == page.actor.user_id, record_url=_record_url(page, view),
        users=_users(page.actor) if {"transfer", "add_signer"} & set(view.actions) else [],
        return_to=[(service.SUBMITTER_STEP, _("The submitter"))] + view.returnable,
        due=display.local_time(task.due_at), overdue=bool(task.due_at and task.due_at < utcnow()),
        diagram=diagram.svg(view.flow, view.tasks, view.instance, page.locale, form=view.runtime.form(form.key))), status
