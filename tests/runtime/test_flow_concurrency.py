"""Approvals racing on one task or one step: exactly one transition, the others refused.

Each thread works as a separate request would: its own app context, its own session and
connection; a barrier releases them together.
"""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from formloom.platform.extensions import db
from formloom.platform.models import FlowInstance, FlowLog, FlowTask
from formloom.runtime.exceptions import Conflict
from formloom.runtime.flows import service as flows
from formloom.runtime.records import service as records

from support_flows import build_org, definition, install


@pytest.fixture
def org(make):
    return build_org(make)


def race(app, calls) -> list:
    """Run each call on its own thread, released at once; what each returned or raised."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def work(i, call):
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                results[i] = call()
            except Exception as exc:  # noqa: BLE001 - the outcome is what the test checks
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "an approval hung"
    return results


def log(action: str, step: str, record_id: int) -> list[FlowLog]:
    db.session.rollback()
    return list(db.session.execute(sa.select(FlowLog).join(FlowInstance, FlowInstance.id == FlowLog.instance_id)
                                   .where(FlowLog.action == action, FlowLog.step_key == step,
                                          FlowInstance.record_id == record_id)).scalars())


def open_tasks(step: str, record_id: int) -> list[FlowTask]:
    db.session.rollback()
    return list(db.session.execute(sa.select(FlowTask).where(
        FlowTask.step_key == step, FlowTask.record_id == record_id,
        FlowTask.status.in_(("pending", "waiting")))).scalars())


def test_fifty_approvals_of_one_task_make_one_transition(any_db, app, make, org):
    rt = install(make, org)
    made = records.create(org.actor("rita"), rt, "quote", {"title": "Q", "discount": 15, "owner": org.rita.id})
    [task] = open_tasks("manager", made["id"])
    max_ = org.actor("max")
    results = race(app, [lambda: flows.act(max_, task.id, "approve") for _ in range(50)])
    won = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(won) == 1 and won[0]["status"] == "approved"
    assert len(refused) == 49, [r for r in results if not isinstance(r, (dict, Conflict))][:3]
    assert len(log("approved", "manager", made["id"])) == 1 and len(log("step_done", "manager", made["id"])) == 1
    assert [t.assignee_id for t in open_tasks("director", made["id"])] == [org.dora.id]


ROUNDS = 10  # a race is won by chance: enough rounds that each interleaving is met


def test_two_approvers_of_an_any_step_at_once_move_it_once(any_db, app, make, org):
    flow = {"key": "pair", "form": "quote", "steps": [
        {"type": "approval", "key": "pair", "mode": "any", "assignees": {"users": [org.max.id, org.dora.id]}},
        {"type": "approval", "key": "last", "assignees": {"role": "finance"}}]}
    rt = install(make, org, definition(flow))
    max_, dora = org.actor("max"), org.actor("dora")
    for n in range(ROUNDS):
        made = records.create(org.actor("rita"), rt, "quote", {"title": f"Q{n}", "discount": 15,
                                                                "owner": org.rita.id})
        tasks = {t.assignee_id: t.id for t in open_tasks("pair", made["id"])}
        results = race(app, [lambda mine=tasks[org.max.id]: flows.act(max_, mine, "approve"),
                             lambda mine=tasks[org.dora.id]: flows.act(dora, mine, "approve")])
        won = [r for r in results if isinstance(r, dict)]
        assert len(won) == 1, results
        assert isinstance(next(r for r in results if not isinstance(r, dict)), Conflict), results
        assert len(log("approved", "pair", made["id"])) == 1 and len(log("step_done", "pair", made["id"])) == 1
        assert open_tasks("pair", made["id"]) == []  # the other approver's task is closed with the step
        assert [t.assignee_id for t in open_tasks("last", made["id"])] == [org.fay.id]
