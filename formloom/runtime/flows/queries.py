"""What the inbox, the task page and the record page read of approval flows.

Every list is one indexed query per page (`flow_tasks (assignee_id, status, id)`,
`flow_instances (submitter_id, id)`), keyset-paged by id, newest first; titles and names are
fetched for the page's rows only. A task is shown to its assignee (and to the app's
administrators); what it shows of the record follows its step's field settings.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _

from formloom.platform.actor import Actor
from formloom.platform.exceptions import NotFound
from formloom.platform.extensions import db, write_transaction
from formloom.platform.i18n import localized
from formloom.platform.models import App, FlowInstance, FlowLog, FlowTask, User
from formloom.runtime import access
from formloom.runtime.apps import runtime_for
from formloom.runtime.flows import messages as msg
from formloom.runtime.flows.engine import OPEN
from formloom.runtime.flows.model import Flow, Node
from formloom.runtime.flows.reading import ACTED, LIVE, latest_instance, load_record, pinned
from formloom.runtime.flows.service import SUBMITTER_STEP

BOXES = ("pending", "done", "submitted", "cc")
DONE = ("approved", "rejected", "returned", "transferred", "submitted")
PAGE = 50


@dataclass
class Item:
    """One row of an inbox list."""

    app_key: str
    app_name: str
    form_key: str
    form_name: str
    record_id: int
    title: str
    instance: FlowInstance
    task: FlowTask | None = None
    step_name: str = ""
    submitter: str = ""


def counts(actor: Actor) -> dict[str, int]:
    """The numbers in the navigation: tasks waiting for the actor, unread copies, own approvals still open."""
    if actor.user_id is None:
        return {"pending": 0, "cc": 0, "submitted": 0}
    mine = [FlowTask.assignee_id == actor.user_id, *_in_app(actor, FlowTask)]
    pending = db.session.execute(sa.select(sa.func.count()).select_from(FlowTask).where(
        *mine, FlowTask.status == "pending")).scalar()
    cc = db.session.execute(sa.select(sa.func.count()).select_from(FlowTask).where(
        *mine, FlowTask.status == "unread")).scalar()
    submitted = db.session.execute(sa.select(sa.func.count()).select_from(FlowInstance).where(
        FlowInstance.submitter_id == actor.user_id, FlowInstance.status.in_(LIVE),
        *_in_app(actor, FlowInstance))).scalar()
    return {"pending": pending, "cc": cc, "submitted": submitted}


def _in_app(actor: Actor, model) -> list:
    """A token limited to one app sees that app's approvals only."""
    return [model.app_id == actor.app_id] if actor.app_id is not None else []


def inbox(actor: Actor, box: str = "pending", before: int | None = None, limit: int = PAGE,
          locale: str = "zh") -> tuple[list[Item], int | None]:
    """A page of one inbox list, newest first, and the cursor of the next page (or None)."""
    if box not in BOXES:
        raise NotFound.of(msg.NO_LIST)
    if box == "submitted":
        stmt = sa.select(FlowInstance).where(FlowInstance.submitter_id == actor.user_id, *_in_app(actor, FlowInstance))
        if before:
            stmt = stmt.where(FlowInstance.id < before)
        rows = list(db.session.execute(stmt.order_by(FlowInstance.id.desc()).limit(limit + 1)).scalars())
        instances, tasks = rows[:limit], [None] * min(len(rows), limit)
    else:
        statuses = {"pending": ("pending",), "done": DONE, "cc": ("unread", "read")}[box]
        stmt = sa.select(FlowTask).where(FlowTask.assignee_id == actor.user_id, FlowTask.status.in_(statuses),
                                         *_in_app(actor, FlowTask))
        if box == "done":
            stmt = stmt.where(FlowTask.kind != "cc")
        if before:
            stmt = stmt.where(FlowTask.id < before)
        rows = list(db.session.execute(stmt.order_by(FlowTask.id.desc()).limit(limit + 1)).scalars())
        tasks = rows[:limit]
        by_id = {i.id: i for i in db.session.execute(sa.select(FlowInstance).where(
            FlowInstance.id.in_({t.instance_id for t in tasks}))).scalars()} if tasks else {}
        instances = [by_id[t.instance_id] for t in tasks]
    items = _items(instances, tasks, locale)
    more = len(rows) > limit
    return items, (rows[limit - 1].id if more else None)


def _items(instances: list[FlowInstance], tasks: list, locale: str) -> list[Item]:
    apps = {a.id: a for a in db.session.execute(sa.select(App).where(
        App.id.in_({i.app_id for i in instances}))).scalars()} if instances else {}
    wanted: dict[tuple[int, int, str], set[int]] = defaultdict(set)
    for inst in instances:
        wanted[(inst.app_id, inst.app_version, inst.form_key)].add(inst.record_id)
    titles: dict[tuple[int, str, int], str] = {}
    runtimes = {}
    for (app_id, version, form_key), ids in wanted.items():
        runtime = runtimes.setdefault((app_id, version), runtime_for(app_id, version))
        form = runtime.form(form_key)
        ft = runtime.form_tables(form_key)
        col = ft.columns.get(form.title_field) if form.title_field else None
        if col is not None:
            for rid, value in db.session.execute(sa.select(ft.table.c.id, col).where(ft.table.c.id.in_(ids))):
                titles[(app_id, form_key, rid)] = str(value) if value not in (None, "") else ""
    names = dict(db.session.execute(sa.select(User.id, User.name).where(
        User.id.in_({i.submitter_id for i in instances if i.submitter_id}))).all()) if instances else {}
    out = []
    for inst, task in zip(instances, tasks, strict=True):
        runtime = runtimes[(inst.app_id, inst.app_version)]
        form = runtime.form(inst.form_key)
        flow = runtime.definition.flows.get(inst.flow_key)
        title = titles.get((inst.app_id, inst.form_key, inst.record_id)) or f"#{inst.record_id}"
        app = apps[inst.app_id]
        out.append(Item(app.key, localized(app, "name", locale), inst.form_key, form.display_name(locale), inst.record_id, title, inst, task,
                        step_name=step_name(flow, task.step_key if task else current_step(inst), locale),
                        submitter=names.get(inst.submitter_id, "")))
    return out


def current_step(instance: FlowInstance) -> str | None:
    """Where an instance stands (the first token's step), for lists."""
    if instance.status == "returned":
        return SUBMITTER_STEP
    tokens = (instance.state or {}).get("tokens") or {}
    return next(iter(tokens.values()), None)


def step_name(flow: Flow | None, step: str | None, locale: str = "zh") -> str:
    if step is None:
        return ""
    if step == SUBMITTER_STEP:
        return _("Submitter")
    node = flow.nodes.get(step) if flow else None
    return node.display_name(locale) if node else step


# -- one task ----------------------------------------------------------------------------------------
@dataclass
class Entry:
    """One line of a flow's timeline."""

    log: FlowLog
    actor_name: str
    step_name: str


@dataclass
class TaskView:
    task: FlowTask
    instance: FlowInstance
    runtime: object
    flow: Flow
    node: Node | None
    record: dict  # with the step's hidden fields left out of "fields"
    hidden: frozenset[str]
    editable: tuple[str, ...]
    actions: tuple[str, ...]  # what the reader may do now
    returnable: list[tuple[str, str]]  # (step key, name): earlier approval steps to return to
    timeline: list[Entry] = field(default_factory=list)
    tasks: list[FlowTask] = field(default_factory=list)


def task_view(actor: Actor, task_id: int, locale: str = "zh") -> TaskView:
    """A task for its assignee (or an app admin, read-only); NotFound for anyone else."""
    task = db.session.get(FlowTask, task_id)
    if task is None or (actor.app_id is not None and task.app_id != actor.app_id):
        raise NotFound.of(msg.NO_TASK)
    instance = db.session.get(FlowInstance, task.instance_id)
    runtime, flow = pinned(instance)
    mine = task.assignee_id == actor.user_id and actor.user_id is not None
    if not mine and access.app_role(actor, runtime.app_id) != "admin":
        raise NotFound.of(msg.NO_TASK)
    record = load_record(runtime, instance.form_key, instance.record_id, include_deleted=True)
    node = flow.nodes.get(task.step_key)
    settings = (node.spec.get("fields") or {}) if node else {}
    # What the step hides, with what is computed from it (and from what other forms keep from the reader).
    hidden = access.hidden_by_rule(actor, runtime, instance.form_key, settings.get("hidden", []))
    record = {**record, "fields": {k: v for k, v in record["fields"].items() if k not in hidden}}
    actions: tuple[str, ...] = ()
    if mine and task.status == "pending":
        actions = ("submit",) if task.kind == "submit" else ("approve", "reject", "return", "transfer", "add_signer")
    if mine and task.status == "unread":
        with write_transaction():
            db.session.execute(sa.update(FlowTask).where(FlowTask.id == task.id, FlowTask.status == "unread")
                               .values(status="read"))
        db.session.refresh(task)
    return TaskView(task, instance, runtime, flow, node, record, hidden,
                    tuple(settings.get("editable", [])) if task.kind == "approval" else (),
                    actions, returnable(flow, instance, task, locale), timeline(instance, flow, locale),
                    instance_tasks(instance))


def returnable(flow: Flow, instance: FlowInstance, task: FlowTask, locale: str) -> list[tuple[str, str]]:
    """Earlier approval steps this task may return the record to (besides the submitter)."""
    if task.kind != "approval" or task.status != "pending":
        return []
    node = flow.nodes.get(task.step_key)
    done = set(db.session.execute(sa.select(FlowTask.step_key).where(
        FlowTask.instance_id == instance.id, FlowTask.status == "approved", FlowTask.kind == "approval")).scalars())
    out = []
    for key in done:
        target = flow.nodes.get(key)
        if target is None or key == task.step_key or node is None:
            continue
        if (target.lane and target.lane == node.lane) or not target.lane:
            out.append((key, target.display_name(locale)))
    return sorted(out, key=lambda kv: list(flow.nodes).index(kv[0]))


def timeline(instance: FlowInstance, flow: Flow, locale: str = "zh") -> list[Entry]:
    rows = list(db.session.execute(sa.select(FlowLog).where(FlowLog.instance_id == instance.id)
                                   .order_by(FlowLog.id)).scalars())
    names = dict(db.session.execute(sa.select(User.id, User.name).where(
        User.id.in_({r.actor_id for r in rows if r.actor_id}))).all()) if rows else {}
    return [Entry(r, names.get(r.actor_id, _("System")) if r.actor_id else _("System"),
                  step_name(flow, r.step_key, locale)) for r in rows]


def instance_tasks(instance: FlowInstance) -> list[FlowTask]:
    return list(db.session.execute(sa.select(FlowTask).where(FlowTask.instance_id == instance.id)
                                   .order_by(FlowTask.id)).scalars())


# -- a record's flow -----------------------------------------------------------------------------------
@dataclass
class RecordFlow:
    """A record's latest approval, as its page shows it."""

    instance: FlowInstance
    flow: Flow
    timeline: list[Entry]
    tasks: list[FlowTask]
    can_withdraw: bool
    can_urge: bool
    my_task: FlowTask | None  # the reader's pending task on it, if any


def record_flow(actor: Actor, runtime, form_key: str, record_id: int, locale: str = "zh") -> RecordFlow | None:
    """The latest approval of a record the actor may see (the caller checked that), or None."""
    instance = latest_instance(runtime, form_key, record_id)
    if instance is None:
        return None
    _runtime, flow = pinned(instance)
    tasks = instance_tasks(instance)
    live = instance.status in LIVE
    submitter = instance.submitter_id == actor.user_id and actor.user_id is not None
    acted = db.session.execute(sa.select(FlowLog.id).where(FlowLog.instance_id == instance.id,
                                                           FlowLog.action.in_(ACTED))).first() is not None
    mine = next((t for t in tasks if t.assignee_id == actor.user_id and t.status == "pending"), None)
    return RecordFlow(instance, flow, timeline(instance, flow, locale), tasks,
                      can_withdraw=live and submitter and not acted,
                      can_urge=instance.status == "in_progress" and submitter and any(
                          t.status == "pending" and t.kind == "approval" for t in tasks),
                      my_task=mine)


def open_steps(tasks: list[FlowTask]) -> set[str]:
    """The steps waiting on someone now (to highlight in the diagram)."""
    return {t.step_key for t in tasks if t.status in OPEN}
