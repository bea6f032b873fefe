"""The flow engine: moving an instance through its nodes, inside the caller's transaction.

An instance's `state` is {"tokens": {token: node id}, "joins": {parallel id: arrived}}: a
token stands where the flow waits (an approval step), a parallel step splits its token
into one per case (`<token>.<case>`) and its join lets the parent go on once every case has
arrived. The records' `flow_status` follows: in_progress, approved, rejected, withdrawn.

Every transition goes through `Run.commit_state`, a conditional UPDATE on the instance's
`rev`: of two actions racing on one instance, the second finds `rev` moved and gets a
Conflict, and its transaction (its task update included) rolls back.
"""
from __future__ import annotations

import copy
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from formloom.platform import jobs, reqcache
from formloom.platform.actor import Actor
from formloom.platform.exceptions import Conflict
from formloom.platform.extensions import db
from formloom.platform.i18n import N_
from formloom.platform.models import (
    AppMember,
    Department,
    FlowInstance,
    FlowLog,
    FlowTask,
    OutboxEvent,
    User,
    user_roles,
    utcnow,
)
from formloom.platform.models import Role as RoleRow
from formloom.platform.notify import message, notify
from formloom.runtime import conditions
from formloom.runtime.automations import values as vals
from formloom.runtime.automations.engine import Run as AutoRun
from formloom.runtime.automations.model import Automation, action_types
from formloom.runtime.conditions.values import parse_duration
from formloom.runtime.flows import messages as msg
from formloom.runtime.flows.model import END, Flow, Node, flow_node_types
from formloom.runtime.flows.nodes import assignee_list
from formloom.runtime.records import service
from formloom.runtime.records.context import app_timezone
from formloom.runtime.schema.validate import operand_resolver
from formloom.runtime.storage import store

OPEN = ("pending", "waiting")  # tasks still to act on
ROOT = "t"
_writing: ContextVar[int | None] = ContextVar("flow_writing", default=None)  # record id the engine writes


@contextmanager
def engine_writes(record_id: int):
    """Let the engine change a record its flow keeps locked (see `flow_field_rules`)."""
    token = _writing.set(record_id)
    try:
        yield
    finally:
        _writing.reset(token)


def writing(record_id: int) -> bool:
    return _writing.get() == record_id


@dataclass
class Run:
    """One transition of one instance: what the node kinds work with."""

    runtime: object
    flow: Flow
    instance: FlowInstance
    actor: Actor
    record: dict
    now: datetime = field(default_factory=utcnow)
    state: dict = field(default_factory=dict)
    events: list = field(default_factory=list)

    def __post_init__(self):
        self.state = copy.deepcopy(self.instance.state or {"tokens": {}, "joins": {}})

    # -- walking -------------------------------------------------------------------------------
    def advance(self, token: str, node_id: str) -> None:
        """Move `token` on from `node_id` until it waits somewhere or the flow ends."""
        for _step in range(10_000):  # a well-formed flow ends long before
            if node_id == END:
                self.state["tokens"].pop(token, None)
                if token == ROOT:
                    self.finish("approved")
                return
            self.state["tokens"][token] = node_id
            node = self.flow.node(node_id)
            nxt = flow_node_types.get(node.type).enter(self, token, node)
            if nxt is None:
                return
            node_id = nxt
        raise RuntimeError("the flow did not settle")

    def holds(self, condition) -> bool:
        form = self.runtime.form(self.flow.form)
        env = conditions.Env(record=self.flat, now=self.now, tz=app_timezone(self.runtime))
        return bool(conditions.to_python(condition, operand_resolver(form), env)(self.flat))

    @property
    def flat(self) -> dict:
        return store.flat_values(self.record)

    def split(self, token: str, node: Node) -> str | None:
        self.state["joins"][node.id] = 0
        self.state["tokens"][token] = node.id
        for i, (_none, first) in enumerate(node.cases):
            self.advance(f"{token}.{i}", first)
            if self.instance.status != "in_progress":
                return None
        return None

    def join(self, token: str, node: Node) -> str | None:
        parallel = node.id.split(":", 1)[1]
        self.state["tokens"].pop(token, None)
        arrived = self.state["joins"].get(parallel, 0) + 1
        self.state["joins"][parallel] = arrived
        if arrived < node.spec["cases"]:
            return None
        self.state["joins"].pop(parallel, None)
        parent = token.rsplit(".", 1)[0]
        self.advance(parent, node.next)
        return None

    # -- steps ---------------------------------------------------------------------------------
    def open_approval(self, token: str, node: Node) -> str | None:
        users = resolve(self, node.spec["assignees"])
        if not users:
            if self.flow.empty_assignee == "auto_approve":
                self.log("auto_approved", node.id, detail={"reason": "no approver"})
                return node.next
            users = app_admins(self.runtime.app_id)
        mode = node.spec.get("mode", "any")
        due = self.due_at(node)
        for seq, user_id in enumerate(users):
            status = "waiting" if mode == "sequential" and seq > 0 else "pending"
            self.add_task(token, node, user_id, status, seq=seq, due=due)
        self.event("flow.step", step=node.id)
        return None

    def copy_to(self, token: str, node: Node) -> None:
        for user_id in resolve(self, node.spec["assignees"]):
            self.add_task(token, node, user_id, "unread", kind="cc")

    def do_actions(self, token: str, node: Node) -> None:

        chain = (f"flow:{self.flow.key}",)
        auto = Automation(index=-1, key=f"{self.flow.key}.{node.id}", name=node.name, enabled=True,
                          trigger={"on": "flow_step", "form": self.flow.form}, actions=tuple(node.spec.get("actions", ())))
        run = AutoRun(self.runtime, auto, Actor.automation(chain), self.now, record=self.record, form_key=self.flow.form,
                      slot=f"flow:{self.instance.id}:{node.id}")
        if node.spec.get("set"):
            data = {k: vals.evaluate(v, run, self.flat) for k, v in node.spec["set"].items()}
            with engine_writes(self.record["id"]):
                service.update(run.actor, self.runtime, self.flow.form, self.record["id"], data)
            self.reload()
        for index, action in enumerate(auto.actions):
            action_types.get(action["type"]).run(run, action, index)
        self.log("action", node.id)

    def due_at(self, node: Node) -> datetime | None:
        timeout = node.spec.get("timeout")
        if not timeout:
            return None
        after = timeout["after"]
        if isinstance(after, str):
            return self.now + parse_duration(after)
        value = self.record["fields"].get(after["field"])
        if value is None:
            return None
        if isinstance(value, datetime):
            return value
        tz = ZoneInfo(app_timezone(self.runtime))
        return datetime(value.year, value.month, value.day, tzinfo=tz).astimezone(UTC).replace(tzinfo=None)

    def add_task(self, token: str, node: Node, user_id: int, status: str, *, kind: str = "approval", seq: int = 0,
                 due: datetime | None = None, added_by: int | None = None) -> FlowTask:
        task = FlowTask(instance_id=self.instance.id, app_id=self.runtime.app_id, form_key=self.flow.form,
                        record_id=self.record["id"], step_key=node.id, kind=kind, token=token, assignee_id=user_id,
                        status=status, seq=seq, due_at=due, added_by=added_by, created_at=self.now)
        db.session.add(task)
        db.session.flush()
        if status == "pending":
            self.task_opened(task)
        elif status == "unread":
            self.tell([user_id], "flow_cc", N_("Copied to you: %(title)s"), task)
        return task

    def task_opened(self, task: FlowTask) -> None:
        """A task became someone's to act on: tell them, and arm its timeout."""
        kind = "flow_submit" if task.kind == "submit" else "flow_task"
        text = N_("Returned to you: %(title)s") if task.kind == "submit" else N_("To approve: %(title)s")
        self.tell([task.assignee_id], kind, text, task)
        if task.due_at is not None:
            jobs.enqueue("flow.timeout", {"task_id": task.id}, run_at=task.due_at, queue="default",
                         dedupe_key=f"flow-timeout:{task.id}", app_id=self.runtime.app_id)

    def tell(self, user_ids, kind: str, text: str, task: FlowTask | None = None) -> None:
        title = self.title()
        url = f"/tasks/{task.id}" if task is not None else (
            f"/a/{self.runtime.key}/f/{self.flow.form}/r/{self.record['id']}")
        # Kept as the message and its parameters: each reader reads it in their language.
        known = [u for u in user_ids if db.session.get(User, u) is not None]
        notify(known, kind, message(text, title=title), url=url, app_id=self.runtime.app_id)

    def title(self) -> dict:
        """The record's title after its form's name, in both languages ({"name", "name_en"})."""
        form = self.runtime.form(self.flow.form)
        value = self.record["fields"].get(form.title_field) if form.title_field else None
        tail = str(value) if value not in (None, "") else f"#{self.record['id']}"
        return {"name": f"{form.display_name('zh_CN')} {tail}", "name_en": f"{form.display_name('en')} {tail}"}

    # -- ends ----------------------------------------------------------------------------------
    def finish(self, outcome: str) -> None:
        """The flow ends: approved, rejected or withdrawn. Open tasks are cancelled."""
        self.cancel_open()
        self.state["tokens"] = {}
        self.instance.status = outcome
        self.instance.finished_at = self.now
        self.set_flow_status(outcome)
        self.log("finished", None, detail={"outcome": outcome})
        self.event("flow.finished", outcome=outcome)
        if self.instance.submitter_id and outcome != "withdrawn":
            text = N_("Approved: %(title)s") if outcome == "approved" else N_("Rejected: %(title)s")
            self.tell([self.instance.submitter_id], "flow_result", text)

    def cancel_open(self, where=None) -> None:
        stmt = sa.update(FlowTask).where(FlowTask.instance_id == self.instance.id, FlowTask.status.in_(OPEN))
        if where is not None:
            stmt = stmt.where(where)
        db.session.execute(stmt.values(status="cancelled", acted_at=self.now))

    def set_flow_status(self, status: str) -> None:
        ft = self.runtime.form_tables(self.flow.form)
        db.session.execute(sa.update(ft.table).where(ft.table.c.id == self.record["id"]).values(flow_status=status))
        self.record["flow_status"] = status

    def reload(self) -> None:
        ft = self.runtime.form_tables(self.flow.form)
        self.record = store.load_records(ft, [self.record["id"]], include_deleted=True)[self.record["id"]]

    # -- writing it down -------------------------------------------------------------------------
    def log(self, action: str, step: str | None, task: FlowTask | None = None, comment: str | None = None,
            detail: dict | None = None) -> None:
        db.session.add(FlowLog(instance_id=self.instance.id, task_id=task.id if task else None,
                               actor_id=self.actor.user_id, action=action, step_key=step, comment=comment or None,
                               detail=detail, at=self.now))

    def event(self, kind: str, **payload) -> None:
        self.events.append((kind, payload))

    def commit_state(self) -> None:
        """Write the new state if nobody moved the instance meanwhile; Conflict if they did."""
        rev = self.instance.rev
        values = {"state": self.state, "rev": rev + 1, "updated_at": self.now, "status": self.instance.status,
                  "finished_at": self.instance.finished_at}
        moved = db.session.execute(sa.update(FlowInstance).where(FlowInstance.id == self.instance.id,
                                                                 FlowInstance.rev == rev).values(**values)).rowcount
        if moved != 1:
            raise Conflict.of(msg.MOVED,
                           extra={"reason": "flow_moved"})
        self.instance.rev = rev + 1
        reqcache.clear()  # who sees which fields of the record may have changed with the step
        for kind, payload in self.events:
            db.session.add(OutboxEvent(app_id=self.runtime.app_id, form_key=self.flow.form,
                                       record_id=self.record["id"], type=kind, actor_id=self.actor.user_id,
                                       payload={"form": self.flow.form, "record_id": self.record["id"],
                                                "flow": self.flow.key, "instance_id": self.instance.id, **payload}))
        self.events = []


# -- who -------------------------------------------------------------------------------------------
def resolve(run: Run, spec) -> list[int]:
    """The active users a step's assignees name, in a stable order, each once."""
    ids: list[int] = []
    flat = run.flat
    for one in assignee_list(spec):
        if "users" in one:
            ids.extend(one["users"])
        elif "role" in one:
            ids.extend(db.session.execute(sa.select(user_roles.c.user_id).join(
                RoleRow, RoleRow.id == user_roles.c.role_id).where(RoleRow.key == one["role"])
                .order_by(user_roles.c.user_id)).scalars())
        elif "field" in one:
            ids.extend(_user_ids(flat.get(one["field"])))
        elif "manager_of" in one:
            whose = run.instance.submitter_id if one["manager_of"] == "submitter" else None
            people = [whose] if whose else _user_ids(flat.get(one["manager_of"]))
            for person in people:
                manager = manager_of(person, one.get("level", 1))
                if manager:
                    ids.append(manager)
        else:
            head = db.session.execute(sa.select(Department.head_id).where(
                Department.id == one["department_head"])).scalar()
            if head:
                ids.append(head)
    ids = list(dict.fromkeys(i for i in ids if i))
    if not ids:
        return []
    active = set(db.session.execute(sa.select(User.id).where(User.id.in_(ids), User.active.is_(True))).scalars())
    return [i for i in ids if i in active]


def _user_ids(value) -> list[int]:
    items = value if isinstance(value, list) else [value]
    return [v for v in items if isinstance(v, int) and not isinstance(v, bool)]


def manager_of(user_id: int, level: int = 1) -> int | None:
    """The head of the user's department (of the parent department when the user is its
    head), `level` times up the tree."""
    person = user_id
    for _level in range(level):
        dept_id = db.session.execute(sa.select(User.department_id).where(User.id == person)).scalar()
        manager = None
        while dept_id is not None and manager is None:
            head, parent = db.session.execute(sa.select(Department.head_id, Department.parent_id).where(
                Department.id == dept_id)).one()
            if head and head != person:
                manager = head
            dept_id = parent
        if manager is None:
            return None
        person = manager
    return person


def app_admins(app_id: int) -> list[int]:
    """The app's administrators (users named directly), else the organisation's."""
    ids = list(db.session.execute(sa.select(AppMember.user_id).where(
        AppMember.app_id == app_id, AppMember.is_admin.is_(True), AppMember.user_id.is_not(None))
        .order_by(AppMember.user_id)).scalars())
    if not ids:
        ids = list(db.session.execute(sa.select(User.id).where(User.is_admin.is_(True), User.active.is_(True))
                                      .order_by(User.id)).scalars())
    return ids
