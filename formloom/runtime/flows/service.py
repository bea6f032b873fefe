"""What people do with approval flows: submit, approve, reject, return, transfer, add a
signer, withdraw, urge, comment; and what they see: tasks, instances, the timeline.

Each action is one transaction: the task is claimed with a conditional UPDATE (pending ->
its outcome) and the instance moves with `Run.commit_state` (a conditional UPDATE on its
`rev`), so a double click or two approvers racing give exactly one transition; the other
gets Conflict (409) and changes nothing. Raises NotFound, PermissionDenied,
ValidationFailed and Conflict. The submitter's actions are in `submitter.py`, reading
(pinned versions, JSON, field rules) in `reading.py`; this module re-exports them for callers.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from formloom.platform.actor import Actor
from formloom.platform.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import FlowInstance, FlowTask, User, utcnow
from formloom.runtime import access
from formloom.runtime.automations.values import as_input
from formloom.runtime.flows import messages as msg
from formloom.runtime.flows.engine import OPEN, ROOT, Run, engine_writes
from formloom.runtime.flows.model import Flow, Node, flow_node_types
from formloom.runtime.flows.reading import (
    ACTED,
    LIVE,
    _status_word,
    flow_field_rules,
    instance_json,
    latest_instance,
    load_record,
    lock,
    pinned,
    task_json,
)
from formloom.runtime.flows.submitter import comment, urge, withdraw
from formloom.runtime.records import service as records

# Read and used by the pages and the API through this module.
__all__ = ["ACTED", "ACTIONS", "LIVE", "SUBMITTER_STEP", "act", "comment", "flow_field_rules", "init", "instance_json",
           "latest_instance", "load_record", "lock", "on_submit", "pinned", "start", "submit_record", "task_json",
           "urge", "withdraw"]

ACTIONS = ("approve", "reject", "return", "transfer", "add_signer", "submit")
SUBMITTER_STEP = "submitter"


# -- starting --------------------------------------------------------------------------------------
def start(actor: Actor, runtime, form_key: str, record: dict) -> FlowInstance | None:
    """Submit a record into its form's flow (inside the caller's transaction), if it has one."""
    flow = runtime.definition.flow_for(form_key)
    if flow is None:
        return None
    if db.session.execute(sa.select(FlowInstance.id).where(
            FlowInstance.app_id == runtime.app_id, FlowInstance.form_key == form_key,
            FlowInstance.record_id == record["id"], FlowInstance.status.in_(LIVE))).first():
        raise Conflict.of(msg.IN_FLOW, extra={"reason": "in_flow"})
    submitter = actor.user_id or record.get("owner")
    instance = FlowInstance(app_id=runtime.app_id, flow_key=flow.key, form_key=form_key, record_id=record["id"],
                            app_version=runtime.version, status="in_progress", submitter_id=submitter,
                            state={"tokens": {}, "joins": {}}, rev=0, started_at=utcnow(), updated_at=utcnow())
    db.session.add(instance)
    db.session.flush()
    run = Run(runtime, flow, instance, actor, record)
    run.set_flow_status("in_progress")
    run.log("submitted", None)
    run.advance(ROOT, flow.first)
    run.commit_state()
    return instance


def on_submit(actor: Actor, runtime, form_key: str, record: dict) -> None:
    """The records service's hook: a record created (or completed from a draft) is submitted."""
    if runtime.definition.flow_for(form_key) is not None:
        start(actor, runtime, form_key, record)


on_submit.wants = lambda runtime, form_key: runtime.definition.flow_for(form_key) is not None


def submit_record(actor: Actor, runtime, form_key: str, record_id: int) -> FlowInstance:
    """Submit again a record whose approval was rejected or withdrawn (its owner or submitter)."""
    with write_transaction():
        record = load_record(runtime, form_key, record_id)
        fa = access.form_access(actor, runtime, form_key)
        if not (fa.permits("edit", record) or record.get("owner") == actor.user_id):
            raise PermissionDenied.of(msg.SUBMIT_DENIED)
        if record.get("flow_status") in ("in_progress",):
            raise Conflict.of(msg.IN_FLOW, extra={"reason": "in_flow"})
        if runtime.definition.flow_for(form_key) is None:
            raise ValidationFailed.of(msg.NO_FLOW, [{"field": "form", "message": _("has no flow")}])
        return start(actor, runtime, form_key, record)


# -- acting on a task ------------------------------------------------------------------------------
@dataclass
class Acting:
    """A claimed task and its run."""

    task: FlowTask
    run: Run
    node: Node | None


def act(actor: Actor, task_id: int, action: str, comment: str | None = None, fields: dict | None = None,
        to=None, position: str | None = None) -> dict:
    """Do `action` on the actor's task; the task afterwards, as `task_json` gives it."""
    if action not in ACTIONS:
        raise ValidationFailed.of(msg.UNKNOWN_ACTION, [{"field": "action", "message": _(
            "must be one of: %(values)s", values=", ".join(ACTIONS))}])
    if actor.read_only:
        raise PermissionDenied.of(msg.READ_ONLY)
    comment = (comment or "").strip()[:5000] or None
    with write_transaction():
        acting = _claim(actor, task_id, action)
        handler = {"approve": _approve, "reject": _reject, "return": _return, "transfer": _transfer,
                   "add_signer": _add_signer, "submit": _resubmit}[action]
        handler(acting, comment=comment, fields=fields or {}, to=to, position=position)
        acting.run.commit_state()
        task = acting.task
    return task_json(task)


def _claim(actor: Actor, task_id: int, action: str) -> Acting:
    task = db.session.get(FlowTask, task_id)
    if task is None or task.assignee_id != actor.user_id or actor.user_id is None or (
            actor.app_id is not None and task.app_id != actor.app_id):
        raise NotFound.of(msg.NO_TASK)
    lock(task.instance_id)
    db.session.refresh(task)
    wanted_kind = "submit" if action == "submit" else "approval"
    if task.status != "pending":
        raise Conflict(_("This task is no longer waiting for you (it is %(status)s)", status=_status_word(task.status)),
                       reason="not_pending")
    if task.kind != wanted_kind:
        raise ValidationFailed.of(msg.WRONG_WAY, [{"field": "action", "message": _(
            "a returned record is submitted again; an approval is approved, rejected or returned")}])
    instance = db.session.get(FlowInstance, task.instance_id)
    runtime, flow = pinned(instance)
    record = load_record(runtime, instance.form_key, instance.record_id, include_deleted=True)
    run = Run(runtime, flow, instance, actor, record)
    node = flow.nodes.get(task.step_key)
    return Acting(task, run, node)


def close_task(acting: Acting, status: str, comment: str | None) -> None:
    """Claim the task: pending -> `status`, or Conflict if someone was faster."""
    now = acting.run.now
    done = db.session.execute(sa.update(FlowTask).where(FlowTask.id == acting.task.id, FlowTask.status == "pending")
                              .values(status=status, acted_at=now, comment=comment)).rowcount
    if done != 1:
        raise Conflict.of(msg.ACTED_JUST_NOW, extra={"reason": "not_pending"})
    db.session.refresh(acting.task)


def _approve(acting: Acting, comment, fields, **_ignored) -> None:
    run, task, node = acting.run, acting.task, acting.node
    changes = _apply_fields(acting, fields)
    close_task(acting, "approved", comment)
    run.log("approved", node.id, task, comment, {"changes": changes} if changes else None)
    step_moves(run, task, node)


def _apply_fields(acting: Acting, fields: dict) -> dict:
    """Write the approver's changes to the fields their step lets them edit; the changes."""
    if not fields:
        return {}
    node, run = acting.node, acting.run
    editable = set((node.spec.get("fields") or {}).get("editable", []))
    refused = sorted(set(fields) - editable)
    if refused:
        raise PermissionDenied.of(msg.NOT_EDITABLE,
                               [{"field": k, "message": _("is not editable at this step")} for k in refused], fields=", ".join(refused))

    before = run.record["fields"]
    with engine_writes(run.record["id"]):
        records.update(Actor.automation((f"flow:{run.flow.key}",)), run.runtime, run.flow.form, run.record["id"],
                       fields)
    run.reload()
    return {k: [store_json(before.get(k)), store_json(run.record["fields"].get(k))] for k in fields
            if before.get(k) != run.record["fields"].get(k)}


def store_json(value):

    return as_input(value)


def step_moves(run: Run, task: FlowTask, node: Node) -> None:
    """After an approval: wake whoever is next in this step, or end the step."""
    if _next_signer(run, task):
        return
    mode = node.spec.get("mode", "any")
    same_step = (FlowTask.step_key == node.id, FlowTask.token == task.token, FlowTask.kind == "approval")
    if mode == "sequential":
        waiting = _tasks(run, *same_step, FlowTask.status == "waiting", FlowTask.added_by.is_(None))
        if waiting:
            _wake(run, waiting[0])
            return
    still = _tasks(run, *same_step, FlowTask.status.in_(OPEN))
    if mode == "any" and not any(t.added_by for t in still):
        run.cancel_open(sa.and_(*same_step))
        still = []
    if not still:
        run.log("step_done", node.id)
        run.advance(task.token, node.next)


def _next_signer(run: Run, task: FlowTask) -> bool:
    """Wake the next person of the added-signer order after `task`; whether there was one.

    Signers added after a task come first (in the order added); then, up the chain of who
    added whom, the next signer added after the same person, or the person a signer was
    added before, whose turn it is again.
    """
    current = task
    while current is not None:
        followers = _tasks(run, FlowTask.added_by == current.id, FlowTask.status == "waiting")
        if followers:
            _wake(run, followers[0])
            return True
        if not current.added_by:
            return False
        origin = db.session.get(FlowTask, current.added_by)
        if origin is not None and origin.status == "waiting":
            _wake(run, origin)
            return True
        current = origin
    return False


def _tasks(run: Run, *where) -> list[FlowTask]:
    return list(db.session.execute(sa.select(FlowTask).where(FlowTask.instance_id == run.instance.id, *where)
                                   .order_by(FlowTask.seq, FlowTask.id)).scalars())


def _wake(run: Run, task: FlowTask) -> None:
    task.status = "pending"
    db.session.flush()
    run.task_opened(task)


def _reject(acting: Acting, comment, **_ignored) -> None:
    close_task(acting, "rejected", comment)
    acting.run.log("rejected", acting.node.id, acting.task, comment)
    acting.run.finish("rejected")


def _return(acting: Acting, comment, to=None, **_ignored) -> None:
    run, task, node = acting.run, acting.task, acting.node
    if to in (None, "", SUBMITTER_STEP):
        close_task(acting, "returned", comment)
        run.log("returned", node.id, task, comment, {"to": SUBMITTER_STEP})
        run.cancel_open()
        run.state = {"tokens": {}, "joins": {}, "returned": {"token": task.token, "node": node.id}}
        run.instance.status = "returned"
        submitter = run.instance.submitter_id
        if submitter is None:
            raise ValidationFailed.of(msg.NO_SUBMITTER,
                                   [{"field": "to", "message": _("there is no submitter")}])
        run.add_task(ROOT, Node(SUBMITTER_STEP, "submit", {}), submitter, "pending", kind="submit")
        run.event("flow.step", step=SUBMITTER_STEP)
        return
    target = run.flow.nodes.get(to)
    if target is None or not flow_node_types.get(target.type).decides or not _visited(run, to) or to == node.id:
        raise ValidationFailed.of(msg.RETURN_TARGET,
                               [{"field": "to", "message": _("is not an earlier approval step of this record")}])
    close_task(acting, "returned", comment)
    run.log("returned", node.id, task, comment, {"to": to})
    if target.lane == node.lane and target.lane:
        run.cancel_open(FlowTask.token == task.token)
        run.advance(task.token, to)
    elif not target.lane:
        run.cancel_open()
        run.state = {"tokens": {}, "joins": {}}
        run.advance(ROOT, to)
    else:
        raise ValidationFailed.of(msg.OTHER_BRANCH,
                               [{"field": "to", "message": _("is in another parallel branch")}])


def _visited(run: Run, step: str) -> bool:
    return db.session.execute(sa.select(FlowTask.id).where(
        FlowTask.instance_id == run.instance.id, FlowTask.step_key == step,
        FlowTask.status == "approved")).first() is not None


def _resubmit(acting: Acting, comment, fields, **_ignored) -> None:
    run, task = acting.run, acting.task
    changes = {}
    if fields:

        before = run.record["fields"]
        with engine_writes(run.record["id"]):
            records.update(run.actor, run.runtime, run.flow.form, run.record["id"], fields)
        run.reload()
        changes = {k: [store_json(before.get(k)), store_json(run.record["fields"].get(k))] for k in fields
                   if before.get(k) != run.record["fields"].get(k)}
    close_task(acting, "submitted", comment)
    run.log("resubmitted", SUBMITTER_STEP, task, comment, {"changes": changes} if changes else None)
    returned = run.state.pop("returned", None) or {}
    run.instance.status = "in_progress"
    run.state["tokens"], run.state["joins"] = {}, {}
    node_id = returned.get("node")
    if run.flow.resubmit == "restart" or node_id not in run.flow.nodes:
        run.advance(ROOT, run.flow.first)
        return
    node = run.flow.node(node_id)
    outermost = _outermost_parallel(run.flow, node)
    run.advance(ROOT, outermost or node_id)


def _outermost_parallel(flow: Flow, node: Node) -> str | None:
    found = None
    while node.parallel is not None:
        found = node.parallel
        node = flow.node(node.parallel)
    return found


def _transfer(acting: Acting, comment, to=None, **_ignored) -> None:
    run, task, node = acting.run, acting.task, acting.node
    user = _active_user(to, "to")
    if user.id == task.assignee_id:
        raise ValidationFailed.of(msg.YOURS_ALREADY, [{"field": "to", "message": _("is you")}])
    _refuse_second_task(run, node, user)
    hand_over(acting, user, "transferred", comment, {"to": user.id, "to_name": user.name})


def hand_over(acting: Acting, user: User, action: str, comment: str | None, detail: dict,
              due: bool = True) -> FlowTask:
    """Give the task to `user` (a transfer, an escalation); signers added after it follow."""
    run, task, node = acting.run, acting.task, acting.node
    close_task(acting, "transferred", comment)
    run.log(action, node.id, task, comment, detail)
    new = run.add_task(task.token, node, user.id, "pending", seq=task.seq, due=task.due_at if due else None,
                       added_by=task.added_by)
    db.session.execute(sa.update(FlowTask).where(FlowTask.added_by == task.id, FlowTask.status.in_(OPEN))
                       .values(added_by=new.id))
    return new


def approves_here(run: Run, node: Node, user_id: int) -> bool:
    return bool(_tasks(run, FlowTask.step_key == node.id, FlowTask.assignee_id == user_id,
                       FlowTask.status.in_(OPEN)))


def _refuse_second_task(run: Run, node: Node, user: User) -> None:
    if approves_here(run, node, user.id):
        raise ValidationFailed.of(msg.APPROVER_ALREADY,
                               [{"field": "to", "message": _("is already an approver of this step")}], name=user.name)


def _add_signer(acting: Acting, comment, to=None, position=None, **_ignored) -> None:
    run, task, node = acting.run, acting.task, acting.node
    user = _active_user(to, "to")
    if position not in ("before", "after"):
        raise ValidationFailed.of(msg.SIGNER_POSITION,
                               [{"field": "position", "message": _('must be "before" or "after"')}])
    _refuse_second_task(run, node, user)
    # The task stays the actor's: it is not closed, only (for "before") put to wait.
    moved = db.session.execute(sa.update(FlowTask).where(FlowTask.id == task.id, FlowTask.status == "pending")
                               .values(status="waiting" if position == "before" else "pending")).rowcount
    if moved != 1:
        raise Conflict.of(msg.ACTED_JUST_NOW, extra={"reason": "not_pending"})
    db.session.refresh(task)
    run.log("signer_added", node.id, task, comment, {"user": user.id, "name": user.name, "position": position})
    run.add_task(task.token, node, user.id, "pending" if position == "before" else "waiting", seq=task.seq,
                 due=task.due_at, added_by=task.id)


def _active_user(value, field: str) -> User:
    user = db.session.get(User, value) if isinstance(value, int) and not isinstance(value, bool) else None
    if user is None or not user.active:
        raise ValidationFailed.of(msg.INACTIVE_USER, [{"field": field, "message": _("is not an active user")}])
    return user


def init() -> None:
    """Hook the flows into access and the records service (once)."""

    access.FIELD_RULE_SOURCES.register(flow_field_rules)
    records.ON_SUBMIT.register(on_submit)
