"""What the submitter of a record in a flow does: withdraw it, urge the approvers, comment."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from formloom.platform.actor import Actor
from formloom.platform.exceptions import Conflict, PermissionDenied, ValidationFailed
from formloom.platform.extensions import db, write_transaction
from formloom.platform.i18n import N_
from formloom.platform.models import FlowInstance, FlowLog, FlowTask, utcnow
from formloom.runtime import access
from formloom.runtime.flows import messages as msg
from formloom.runtime.flows.engine import Run
from formloom.runtime.flows.reading import (
    ACTED,
    LIVE,
    instance_json,
    latest_instance,
    load_record,
    lock,
    pinned,
)

URGE_EVERY = timedelta(minutes=10)


# -- the submitter's actions -------------------------------------------------------------------------
def _live_instance(actor: Actor, runtime, form_key: str, record_id: int) -> FlowInstance:
    instance = db.session.execute(sa.select(FlowInstance).where(
        FlowInstance.app_id == runtime.app_id, FlowInstance.form_key == form_key,
        FlowInstance.record_id == record_id, FlowInstance.status.in_(LIVE))).scalar()
    if instance is None:
        raise Conflict.of(msg.NOT_IN_FLOW, extra={"reason": "not_in_flow"})
    lock(instance.id)
    db.session.refresh(instance)
    if instance.status not in LIVE:
        raise Conflict.of(msg.NOT_IN_FLOW, extra={"reason": "not_in_flow"})
    return instance


def withdraw(actor: Actor, runtime, form_key: str, record_id: int, comment: str | None = None) -> dict:
    """The submitter takes the record back, while nobody has acted on it."""
    with write_transaction():
        load_record(runtime, form_key, record_id)
        instance = _live_instance(actor, runtime, form_key, record_id)
        if instance.submitter_id != actor.user_id or actor.user_id is None:
            raise PermissionDenied.of(msg.WITHDRAW_DENIED)
        if db.session.execute(sa.select(FlowLog.id).where(FlowLog.instance_id == instance.id,
                                                          FlowLog.action.in_(ACTED))).first():
            raise Conflict.of(msg.WITHDRAW_TOO_LATE,
                           extra={"reason": "acted"})
        runtime_pinned, flow = pinned(instance)
        run = Run(runtime_pinned, flow, instance, actor, load_record(runtime, form_key, record_id))
        run.log("withdrawn", None, comment=comment)
        run.finish("withdrawn")
        run.commit_state()
        return instance_json(instance)


def urge(actor: Actor, runtime, form_key: str, record_id: int) -> int:
    """Remind the people whose turn it is (the submitter, at most every 10 minutes); how many."""
    with write_transaction():
        instance = _live_instance(actor, runtime, form_key, record_id)
        if instance.submitter_id != actor.user_id and access.app_role(actor, runtime.app_id) != "admin":
            raise PermissionDenied.of(msg.URGE_DENIED)
        now = utcnow()
        pending = list(db.session.execute(sa.select(FlowTask).where(
            FlowTask.instance_id == instance.id, FlowTask.status == "pending")).scalars())
        if any(t.urged_at and now - t.urged_at < URGE_EVERY for t in pending):
            raise Conflict.of(msg.URGED_JUST_NOW, extra={"reason": "urged"})
        _runtime, flow = pinned(instance)
        run = Run(_runtime, flow, instance, actor, load_record(runtime, form_key, record_id))
        for task in pending:
            task.urged_at = now
            run.tell([task.assignee_id], "flow_task", N_("Reminder: %(title)s is waiting for you"), task)
        run.log("urged", None, detail={"told": len(pending)})
        return len(pending)


def comment(actor: Actor, runtime, form_key: str, record_id: int, text: str) -> None:
    """A comment in the flow's timeline, by anyone taking part (or an app administrator)."""
    text = (text or "").strip()
    if not text:
        raise ValidationFailed.of(msg.EMPTY_COMMENT, [{"field": "comment", "message": _("is empty")}])
    with write_transaction():
        instance = latest_instance(runtime, form_key, record_id)
        if instance is None:
            raise Conflict.of(msg.NOTHING_TO_COMMENT, extra={"reason": "not_in_flow"})
        takes_part = instance.submitter_id == actor.user_id or db.session.execute(sa.select(FlowTask.id).where(
            FlowTask.instance_id == instance.id, FlowTask.assignee_id == actor.user_id)).first()
        if not takes_part and access.app_role(actor, runtime.app_id) != "admin":
            raise PermissionDenied.of(msg.COMMENT_DENIED)
        db.session.add(FlowLog(instance_id=instance.id, actor_id=actor.user_id, action="commented",
                               comment=text[:5000], at=utcnow()))


