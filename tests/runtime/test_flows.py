"""The approval flow engine: steps, assignees, modes and actions, through the service."""
from __future__ import annotations

import copy

import pytest
import sqlalchemy as sa

from formloom.platform.extensions import db
from formloom.platform.models import FlowInstance, FlowLog, FlowTask, Notification, OutboxEvent
from formloom.runtime.exceptions import (
    Conflict,
    DefinitionError,
    PermissionDenied,
    ValidationFailed,
)
from formloom.runtime.flows import service as flows
from formloom.runtime.records import service as records
from formloom.runtime.schema import compile_app

from support_flows import FLOW, build_org, definition, install


@pytest.fixture
def org(make):
    return build_org(make)


@pytest.fixture
def rt(make, org):
    return install(make, org)


def quote(rt, org, who="rita", draft=False, **fields):
    data = {"title": "Q1", "amount": 1000, "discount": 15, "owner": getattr(org, who).id, **fields}
    return records.create(org.actor(who), rt, "quote", data, draft=draft)


def pending(user, record_id=None) -> list[FlowTask]:
    db.session.rollback()
    stmt = sa.select(FlowTask).where(FlowTask.assignee_id == user.id, FlowTask.status == "pending")
    if record_id:
        stmt = stmt.where(FlowTask.record_id == record_id)
    return list(db.session.execute(stmt.order_by(FlowTask.id)).scalars())


def status_of(rt, record_id) -> str:
    return records.get(flows.Actor.system(), rt, "quote", record_id)["flow_status"]


def one(user, record_id=None) -> FlowTask:
    [task] = pending(user, record_id)
    return task


def errors_of(defn) -> dict:
    with pytest.raises(DefinitionError) as info:
        compile_app(defn)
    return {e["pointer"]: e["message"] for e in info.value.errors}


# -- publish --------------------------------------------------------------------------------------
def test_publish_says_which_step_is_wrong_and_why():
    bad = copy.deepcopy(FLOW)
    bad["steps"][0]["default"][0]["fields"]["editable"] = ["notes", "colour"]
    bad["steps"][0]["cases"][0]["when"] = {"field": "discount", "op": "contains", "value": 1}
    bad["steps"][1]["assignees"] = {"manager_of": "title"}
    bad["steps"].append({"type": "approval", "key": "director", "assignees": {"role": "finance"}})
    bad["steps"].append({"type": "vote", "key": "x"})
    bad["steps"].append({"type": "approval", "assignees": {"users": [1]}})
    bad["steps"].append({"type": "approval", "key": "late", "assignees": {"users": [1]},
                         "timeout": {"after": "two days", "do": "remind"}})
    errs = errors_of(definition(bad))
    assert errs["/flows/0/steps/0/default/0/fields/editable/1"] == '"colour" is not a field of form "quote"'
    assert "/flows/0/steps/0/cases/0/when/op" in errs
    assert errs["/flows/0/steps/1/assignees/manager_of"] == '"title" is not a user field of form "quote"'
    assert errs["/flows/0/steps/3/key"] == 'step key "director" is used twice in this flow'
    assert errs["/flows/0/steps/4/type"].startswith('"vote" is not a step')
    assert errs["/flows/0/steps/5"] == '"key" is required'
    assert errs["/flows/0/steps/6/timeout/after"].startswith('"two days" is not an ISO 8601 duration')
    second = copy.deepcopy(FLOW)
    second["key"] = "another"
    assert errors_of(definition(flows=[copy.deepcopy(FLOW), second]))["/flows/1/form"].startswith(
        'form "quote" has a flow already')


# -- the happy path -------------------------------------------------------------------------------
def test_a_submitted_quote_goes_to_the_manager_then_the_director_then_is_approved(rt, org):
    q = quote(rt, org)
    assert q["flow_status"] == "in_progress"
    task = one(org.max)
    assert (task.step_key, task.record_id) == ("manager", q["id"])
    # In the user's language: Max has none set, so the default (Chinese).
    assert db.session.execute(sa.select(Notification.title).where(Notification.user_id == org.max.id)).scalar() \
        == "待审批：Quote Q1"
    flows.act(org.actor("max"), task.id, "approve", comment="ok", fields={"notes": "checked"})
    assert records.get(flows.Actor.system(), rt, "quote", q["id"])["fields"]["notes"] == "checked"
    flows.act(org.actor("dora"), one(org.dora).id, "approve")
    assert status_of(rt, q["id"]) == "approved"
    cc = db.session.execute(sa.select(FlowTask).where(FlowTask.kind == "cc")).scalar()
    assert (cc.assignee_id, cc.status) == (org.rita.id, "unread")
    kinds = [e.type for e in db.session.execute(sa.select(OutboxEvent).where(
        OutboxEvent.type.like("flow.%")).order_by(OutboxEvent.id)).scalars()]
    assert kinds == ["flow.step", "flow.step", "flow.finished"]
    log = [r.action for r in db.session.execute(sa.select(FlowLog).order_by(FlowLog.id)).scalars()]
    assert log == ["submitted", "approved", "step_done", "approved", "step_done", "finished"]


def test_a_small_discount_skips_the_manager(rt, org):
    q = quote(rt, org, discount=5)
    assert pending(org.max) == [] and one(org.dora).record_id == q["id"]


def test_a_draft_is_not_submitted_until_completed(rt, org):
    q = quote(rt, org, draft=True)
    assert q["flow_status"] == "draft" and pending(org.max) == []
    records.update(org.actor("rita"), rt, "quote", q["id"], {}, draft=False)
    assert one(org.max).record_id == q["id"] and status_of(rt, q["id"]) == "in_progress"


# -- the record while in a flow ------------------------------------------------------------------
def test_the_record_is_locked_except_through_the_steps_editable_fields(rt, org):
    q = quote(rt, org)
    with pytest.raises(PermissionDenied):
        records.update(org.actor("rita"), rt, "quote", q["id"], {"title": "Changed"})
    with pytest.raises(Conflict):
        records.delete(org.actor("rita"), rt, "quote", q["id"])
    task = one(org.max)
    with pytest.raises(PermissionDenied) as refused:
        flows.act(org.actor("max"), task.id, "approve", fields={"amount": 1})
    assert "amount" in refused.value.message
    assert one(org.max).status == "pending"  # nothing happened
    seen = records.get(org.actor("max"), rt, "quote", q["id"])
    assert "cost" not in seen["fields"]  # the manager's step hides it
    assert "cost" in records.get(org.actor("ann"), rt, "quote", q["id"])["fields"]


# -- the other actions ----------------------------------------------------------------------------
def test_reject_ends_the_flow_and_closes_every_open_task(rt, org):
    q = quote(rt, org)
    flows.act(org.actor("max"), one(org.max).id, "reject", comment="too much")
    assert status_of(rt, q["id"]) == "rejected"
    assert pending(org.dora) == []
    assert db.session.execute(sa.select(FlowInstance.status)).scalar() == "rejected"
    # The owner may submit it again.
    flows.submit_record(org.actor("rita"), rt, "quote", q["id"])
    assert status_of(rt, q["id"]) == "in_progress" and one(org.max)


def test_return_to_the_submitter_who_edits_and_resubmits_continuing_at_that_step(rt, org):
    q = quote(rt, org)
    flows.act(org.actor("max"), one(org.max).id, "approve")
    flows.act(org.actor("dora"), one(org.dora).id, "return", comment="lower the discount")
    submit = one(org.rita)
    assert submit.kind == "submit" and status_of(rt, q["id"]) == "in_progress"
    with pytest.raises(ValidationFailed):
        flows.act(org.actor("rita"), submit.id, "approve")
    flows.act(org.actor("rita"), submit.id, "submit", fields={"discount": 12}, comment="done")
    assert records.get(flows.Actor.system(), rt, "quote", q["id"])["fields"]["discount"] == 12
    assert pending(org.max) == [] and one(org.dora).step_key == "director"  # continues at the director


def test_return_to_an_earlier_step(rt, org):
    quote(rt, org)
    flows.act(org.actor("max"), one(org.max).id, "approve")
    with pytest.raises(ValidationFailed):
        flows.act(org.actor("dora"), one(org.dora).id, "return", to="director")
    flows.act(org.actor("dora"), one(org.dora).id, "return", to="manager")
    assert one(org.max).step_key == "manager" and pending(org.dora) == []


def test_withdraw_only_while_nobody_has_acted(rt, org):
    q1, q2 = quote(rt, org), quote(rt, org, title="Q2")
    with pytest.raises(PermissionDenied):
        flows.withdraw(org.actor("sam"), rt, "quote", q1["id"])
    flows.withdraw(org.actor("rita"), rt, "quote", q1["id"])
    assert status_of(rt, q1["id"]) == "withdrawn" and pending(org.max, q1["id"]) == []
    flows.act(org.actor("max"), one(org.max, q2["id"]).id, "approve")
    with pytest.raises(Conflict):
        flows.withdraw(org.actor("rita"), rt, "quote", q2["id"])


def test_a_task_acted_on_twice_gives_one_transition_and_a_conflict(rt, org):
    quote(rt, org)
    task = one(org.max)
    flows.act(org.actor("max"), task.id, "approve")
    with pytest.raises(Conflict):
        flows.act(org.actor("max"), task.id, "approve")
    assert len(pending(org.dora)) == 1


def test_only_the_assignee_acts_on_a_task(rt, org):
    quote(rt, org)
    task = one(org.max)
    from formloom.runtime.exceptions import NotFound
    with pytest.raises(NotFound):
        flows.act(org.actor("sam"), task.id, "approve")


def test_transfer_and_add_signer_before_and_after(rt, org):
    quote(rt, org)
    flows.act(org.actor("max"), one(org.max).id, "transfer", to=org.sam.id, comment="you take it")
    sam_task = one(org.sam)
    flows.act(org.actor("sam"), sam_task.id, "add_signer", to=org.fay.id, position="before")
    assert db.session.get(FlowTask, sam_task.id).status == "waiting"
    flows.act(org.actor("fay"), one(org.fay).id, "approve")
    assert one(org.sam).id == sam_task.id and pending(org.dora) == []  # Sam's turn again
    flows.act(org.actor("sam"), sam_task.id, "add_signer", to=org.ann.id, position="after")
    flows.act(org.actor("sam"), sam_task.id, "approve")
    assert pending(org.dora) == [] and one(org.ann)  # the signer after Sam comes first
    flows.act(org.actor("ann"), one(org.ann).id, "approve")
    assert one(org.dora).step_key == "director"


def modes_flow(mode: str) -> dict:
    return {"key": "m", "form": "quote", "steps": [
        {"type": "approval", "key": "board", "mode": mode, "assignees": {"users": []}},
        {"type": "approval", "key": "last", "assignees": {"role": "finance"}}]}


@pytest.mark.parametrize("mode", ["any", "all", "sequential"])
def test_modes(make, org, mode):
    flow = modes_flow(mode)
    flow["steps"][0]["assignees"]["users"] = [org.max.id, org.dora.id]
    rt = install(make, org, definition(flow))
    quote(rt, org)
    if mode == "sequential":
        assert pending(org.dora) == []
        flows.act(org.actor("max"), one(org.max).id, "approve")
        flows.act(org.actor("dora"), one(org.dora).id, "approve")
    elif mode == "all":
        flows.act(org.actor("dora"), one(org.dora).id, "approve")
        assert pending(org.fay) == []
        flows.act(org.actor("max"), one(org.max).id, "approve")
    else:
        flows.act(org.actor("dora"), one(org.dora).id, "approve")
        assert pending(org.max) == []  # closed: one approval is enough
    assert one(org.fay).step_key == "last"


@pytest.mark.parametrize("policy", ["auto_approve", "admin"])
def test_a_step_nobody_can_take(make, org, policy):
    flow = {"key": "e", "form": "quote", "empty_assignee": policy, "steps": [
        {"type": "approval", "key": "nobody", "assignees": {"field": "reviewer"}}]}
    rt = install(make, org, definition(flow))
    q = quote(rt, org)
    if policy == "auto_approve":
        assert status_of(rt, q["id"]) == "approved"
    else:
        assert one(org.ann).step_key == "nobody"


def test_parallel_cases_join_before_going_on(make, org):
    flow = {"key": "p", "form": "quote", "steps": [
        {"type": "parallel", "cases": [
            {"name": "Finance", "steps": [{"type": "approval", "key": "fin", "assignees": {"role": "finance"}}]},
            {"name": "Sales", "steps": [{"type": "approval", "key": "mgr", "assignees": {"manager_of": "submitter"}},
                                        {"type": "approval", "key": "dir",
                                         "assignees": {"manager_of": "submitter", "level": 2}}]}]},
        {"type": "approval", "key": "final", "assignees": {"users": []}}]}
    flow["steps"][1]["assignees"]["users"] = [org.ann.id]
    rt = install(make, org, definition(flow))
    q = quote(rt, org)
    flows.act(org.actor("fay"), one(org.fay).id, "approve")
    assert pending(org.ann) == []
    flows.act(org.actor("max"), one(org.max).id, "approve")
    flows.act(org.actor("dora"), one(org.dora).id, "return", to="mgr")  # within its own branch
    flows.act(org.actor("max"), one(org.max).id, "approve")
    flows.act(org.actor("dora"), one(org.dora).id, "approve")
    flows.act(org.actor("ann"), one(org.ann).id, "approve")
    assert status_of(rt, q["id"]) == "approved"


def test_an_action_step_sets_fields_and_creates_a_record(make, org):
    flow = {"key": "a", "form": "quote", "steps": [
        {"type": "approval", "key": "mgr", "assignees": {"manager_of": "submitter"}},
        {"type": "action", "set": {"stage": "sent"},
         "actions": [{"type": "create_record", "form": "order",
                      "values": {"ref": {"var": "record.title"}, "amount": {"formula": "amount * 2"}}}]}]}
    rt = install(make, org, definition(flow))
    q = quote(rt, org)
    flows.act(org.actor("max"), one(org.max).id, "approve")
    got = records.get(flows.Actor.system(), rt, "quote", q["id"])
    assert (got["flow_status"], got["fields"]["stage"]) == ("approved", "sent")
    order = db.session.execute(sa.select(rt.form_tables("order").table)).one()
    assert order.id


def test_instances_keep_the_version_they_started_on(make, org, rt):
    from formloom.builder.apps import publish, save_draft
    q = quote(rt, org)
    changed = definition()
    changed["flows"][0]["steps"] = [{"type": "approval", "key": "fin", "assignees": {"role": "finance"}}]
    save_draft(org.actor("ann"), "deals", changed)
    publish(org.actor("ann"), "deals")
    flows.act(org.actor("max"), one(org.max).id, "approve")
    assert one(org.dora).step_key == "director"  # the old flow goes on
    from formloom.runtime.apps import get_runtime
    quote(get_runtime("deals"), org, title="Q2")
    assert one(org.fay).step_key == "fin"  # new records take the new flow
    assert status_of(rt, q["id"]) == "in_progress"


def test_inbox_lists_and_counts(rt, org):
    from formloom.runtime.flows import queries

    q1, q2 = quote(rt, org), quote(rt, org, title="Q2")
    assert queries.counts(org.actor("max")) == {"pending": 2, "cc": 0, "submitted": 0}
    assert queries.counts(org.actor("rita"))["submitted"] == 2
    items, more = queries.inbox(org.actor("max"), "pending", limit=1)
    assert [i.record_id for i in items] == [q2["id"]] and more
    items, more = queries.inbox(org.actor("max"), "pending", before=more)
    assert [(i.record_id, i.title, i.step_name, i.submitter) for i in items] == [(q1["id"], "Q1", "Manager", "Rita")]
    assert more is None
    flows.act(org.actor("max"), one(org.max, q1["id"]).id, "approve")
    assert [i.record_id for i in queries.inbox(org.actor("max"), "done")[0]] == [q1["id"]]
    view = queries.task_view(org.actor("dora"), one(org.dora).id, "en")
    assert view.actions[0] == "approve" and view.returnable == [("manager", "Manager")]
    assert [e.log.action for e in view.timeline] == ["submitted", "approved", "step_done"]
    from formloom.runtime.exceptions import NotFound
    with pytest.raises(NotFound):
        queries.task_view(org.actor("sam"), one(org.dora).id)
