"""Step timeouts: remind, escalate, approve or reject when a task is overdue.

Opening a task with a timeout arms a "flow.timeout" job for its due time. The tests move the
task's due time and the job's run time into the past and run the job, as the scheduler would.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from formloom.platform import jobs
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import (
    FlowInstance,
    FlowLog,
    FlowTask,
    Job,
    Notification,
    User,
    utcnow,
)
from formloom.runtime.flows import service as flows
from formloom.runtime.records import service as records

from support_flows import build_org, definition, install
from support_formloom import Factory


@pytest.fixture
def make(app_with, any_db):
    return Factory(app_with(FORMLOOM_JOBS_EAGER=True))


@pytest.fixture
def org(make):
    """The organisation, reading their notifications in English."""
    org = build_org(make)
    with write_transaction():
        db.session.execute(sa.update(User).values(locale="en"))
    return org


def timed(make, org, do: str, approver="rita", after="PT48H"):
    """An app whose first step (one approver) times out `after`, then Fay (finance) approves."""
    flow = {"key": "timed", "form": "quote", "steps": [
        {"type": "approval", "key": "check", "name": "Check", "assignees": {"users": [getattr(org, approver).id]},
         "timeout": {"after": after, "do": do}},
        {"type": "approval", "key": "final", "assignees": {"role": "finance"}}]}
    return install(make, org, definition(flow))


def submit(rt, org, **fields) -> dict:
    return records.create(org.actor("sam"), rt, "quote", {"title": "Q7", "discount": 15, "owner": org.sam.id,
                                                          **fields})


def tasks(step: str, *statuses) -> list[FlowTask]:
    db.session.rollback()
    stmt = sa.select(FlowTask).where(FlowTask.step_key == step)
    if statuses:
        stmt = stmt.where(FlowTask.status.in_(statuses))
    return list(db.session.execute(stmt.order_by(FlowTask.id)).scalars())


def timeout_job(task: FlowTask) -> Job | None:
    db.session.rollback()
    return db.session.execute(sa.select(Job).where(Job.dedupe_key == f"flow-timeout:{task.id}")).scalar()


def run_overdue(task: FlowTask) -> dict:
    """Make the task overdue and its job due, run the job; what the job did."""
    past = utcnow() - timedelta(minutes=1)
    job_id = timeout_job(task).id
    with write_transaction():
        db.session.execute(sa.update(FlowTask).where(FlowTask.id == task.id).values(due_at=past))
        db.session.execute(sa.update(Job).where(Job.id == job_id).values(run_at=past))
    assert jobs.run_job(job_id) == "done"
    return timeout_job(task).result


def actions() -> list[tuple[str, str | None, int | None]]:
    db.session.rollback()
    return [(log.action, log.step_key, log.actor_id) for log in db.session.execute(
        sa.select(FlowLog).order_by(FlowLog.id)).scalars()]


def notes(user) -> list[str]:
    db.session.rollback()
    return list(db.session.execute(sa.select(Notification.title).where(Notification.user_id == user.id)
                                   .order_by(Notification.id)).scalars())


def test_a_step_with_a_timeout_arms_a_job_for_its_due_time_which_waits_for_it(make, org):
    rt = timed(make, org, "approve")
    submit(rt, org)
    [task] = tasks("check")
    assert task.due_at - task.created_at == timedelta(hours=48)
    job = timeout_job(task)
    assert (job.kind, job.status, job.run_at) == ("flow.timeout", "queued", task.due_at)
    assert jobs.run_job(job.id) == "skipped"  # not due yet: nothing happens
    assert [t.status for t in tasks("check")] == ["pending"] and tasks("final") == []


def test_remind_tells_the_approver_again_and_leaves_the_task_theirs(make, org):
    rt = timed(make, org, "remind")
    submit(rt, org)
    [task] = tasks("check")
    assert run_overdue(task) == {"status": "remind"}
    assert notes(org.rita)[-1] == "Overdue: Quote Q7 is waiting for you"
    assert [t.status for t in tasks("check")] == ["pending"]
    assert actions()[-1] == ("reminded", "check", None)


def test_escalate_hands_the_task_to_the_approvers_manager(make, org):
    rt = timed(make, org, "escalate")
    submit(rt, org)
    [task] = tasks("check")
    assert run_overdue(task) == {"status": "escalate"}
    assert [(t.assignee_id, t.status) for t in tasks("check")] == [(org.rita.id, "transferred"),
                                                                  (org.max.id, "pending")]
    assert notes(org.max)[-1] == "To approve: Quote Q7"
    assert actions()[-1] == ("escalated", "check", None)
    [maxs] = tasks("check", "pending")
    flows.act(org.actor("max"), maxs.id, "approve")  # the manager decides in the approver's place
    assert [t.assignee_id for t in tasks("final", "pending")] == [org.fay.id]


def test_escalate_without_a_manager_reminds_the_approver_instead(make, org):
    rt = timed(make, org, "escalate", approver="dora")  # Dora heads the company: nobody above her
    submit(rt, org)
    [task] = tasks("check")
    assert run_overdue(task) == {"status": "escalate"}
    assert [(t.assignee_id, t.status) for t in tasks("check")] == [(org.dora.id, "pending")]
    assert notes(org.dora)[-1] == "Overdue: Quote Q7 is waiting for you"
    assert actions()[-1] == ("reminded", "check", None)


def test_approve_on_timeout_decides_the_task_and_the_flow_goes_on(make, org):
    rt = timed(make, org, "approve")
    submit(rt, org)
    [task] = tasks("check")
    assert run_overdue(task) == {"status": "approve"}
    assert [t.status for t in tasks("check")] == ["approved"]
    assert actions()[-2:] == [("approved", "check", None), ("step_done", "check", None)]
    assert [t.assignee_id for t in tasks("final", "pending")] == [org.fay.id]


def test_reject_on_timeout_ends_the_flow_and_tells_the_submitter(make, org):
    rt = timed(make, org, "reject")
    q = submit(rt, org)
    [task] = tasks("check")
    assert run_overdue(task) == {"status": "reject"}
    assert [t.status for t in tasks("check")] == ["rejected"] and tasks("final") == []
    assert records.get(flows.Actor.system(), rt, "quote", q["id"])["flow_status"] == "rejected"
    assert db.session.execute(sa.select(FlowInstance.status)).scalar() == "rejected"
    assert notes(org.sam)[-1] == "Rejected: Quote Q7"


def test_a_timeout_after_a_date_field_falls_due_at_the_start_of_that_day(make, org):
    rt = timed(make, org, "approve", after={"field": "valid_until"})
    submit(rt, org, valid_until="2030-01-10")
    [task] = tasks("check")
    # Midnight in the app's time zone (Asia/Shanghai, UTC+8), stored in UTC.
    assert task.due_at == datetime(2030, 1, 9, 16, 0)
    assert timeout_job(task).run_at == task.due_at
    assert run_overdue(task) == {"status": "approve"}
    assert [t.assignee_id for t in tasks("final", "pending")] == [org.fay.id]


def test_an_empty_date_field_sets_no_timeout(make, org):
    rt = timed(make, org, "reject", after={"field": "valid_until"})
    submit(rt, org)
    [task] = tasks("check")
    assert task.due_at is None and timeout_job(task) is None


@pytest.mark.parametrize("do", ["remind", "escalate", "approve", "reject"])
def test_a_task_decided_before_its_time_makes_the_job_do_nothing(make, org, do):
    rt = timed(make, org, do)
    q = submit(rt, org)
    [task] = tasks("check")
    flows.act(org.actor("rita"), task.id, "approve")
    before = (actions(), notes(org.rita), [(t.id, t.status) for t in tasks("final")])
    assert run_overdue(task) == {"status": "skipped"}
    assert (actions(), notes(org.rita), [(t.id, t.status) for t in tasks("final")]) == before
    assert records.get(flows.Actor.system(), rt, "quote", q["id"])["flow_status"] == "in_progress"


def test_a_signer_added_after_an_escalated_approver_still_gets_a_turn(make, org):
    rt = timed(make, org, "escalate")
    submit(rt, org)
    [task] = tasks("check")
    flows.act(org.actor("rita"), task.id, "add_signer", to=org.ann.id, position="after")
    run_overdue(task)
    [maxs] = tasks("check", "pending")
    flows.act(org.actor("max"), maxs.id, "approve")
    assert [t.assignee_id for t in tasks("check", "pending")] == [org.ann.id]
