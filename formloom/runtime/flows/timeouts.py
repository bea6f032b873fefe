"""Step timeouts: a job per task that has a due time, run by the scheduler when it comes.

`{"after": "PT48H" | {"field": "<date field>"}, "do": "remind" | "escalate" | "approve" | "reject"}`:
remind the approver, hand the task to the approver's manager, or decide it as the system.
A task decided or handed on before its time makes the job do nothing.
"""
from __future__ import annotations

from formloom.platform import jobs
from formloom.platform.actor import Actor
from formloom.platform.extensions import db, write_transaction
from formloom.platform.i18n import N_
from formloom.platform.models import FlowInstance, FlowTask, User, utcnow
from formloom.runtime.flows import service
from formloom.runtime.flows.engine import Run, manager_of


@jobs.handler("flow.timeout")
def on_timeout(payload: dict) -> dict:
    task = db.session.get(FlowTask, payload["task_id"])
    if task is None or task.status != "pending" or task.due_at is None or task.due_at > utcnow():
        return {"status": "skipped"}
    instance = db.session.get(FlowInstance, task.instance_id)
    runtime, flow = service.pinned(instance)
    node = flow.nodes.get(task.step_key)
    what = ((node.spec.get("timeout") or {}).get("do") if node else None) or "remind"
    system = Actor.automation((f"flow:{flow.key}",))
    with write_transaction():
        service.lock(instance.id)  # then read again: an approver may have acted meanwhile
        db.session.refresh(task)
        db.session.refresh(instance)
        if task.status != "pending":
            return {"status": "skipped"}
        run = Run(runtime, flow, instance, system, service.load_record(runtime, instance.form_key, instance.record_id,
                                                                   include_deleted=True))
        acting = service.Acting(task, run, node)
        if what == "remind":
            task.urged_at = run.now
            run.tell([task.assignee_id], "flow_task", N_("Overdue: %(title)s is waiting for you"), task)
            run.log("reminded", node.id, task, detail={"reason": "timeout"})
        elif what == "escalate":
            boss = manager_of(task.assignee_id) if task.assignee_id else None
            user = db.session.get(User, boss) if boss else None
            if user is None or not user.active or service.approves_here(run, node, user.id):
                # Nobody above, or they approve at this step already: the approver is reminded.
                run.tell([task.assignee_id], "flow_task", N_("Overdue: %(title)s is waiting for you"), task)
                run.log("reminded", node.id, task, detail={"reason": "timeout", "no_manager": user is None})
            else:
                service.hand_over(acting, user, "escalated", None, {"to": user.id, "to_name": user.name,
                                                                    "reason": "timeout"}, due=False)
        elif what == "approve":
            service.close_task(acting, "approved", None)
            run.log("approved", node.id, task, detail={"reason": "timeout"})
            service.step_moves(run, task, node)
        else:
            service.close_task(acting, "rejected", None)
            run.log("rejected", node.id, task, detail={"reason": "timeout"})
            run.finish("rejected")
        run.commit_state()
    return {"status": what}

