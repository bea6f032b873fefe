"""Random sequences of flow actions keep every instance consistent (a Hypothesis state machine).

Each example submits fresh records into three apps (the branched quote flow, a parallel flow,
a flow with sequential, all and any steps) and lets random people act on random tasks; after
every step the instances, tasks, logs and records must agree. Refused actions change nothing.
"""
from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from formloom.platform.extensions import db
from formloom.platform.models import FlowInstance, FlowLog, FlowTask
from formloom.runtime.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from formloom.runtime.flows import service as flows
from formloom.runtime.records import service as records

from support_flows import (
    FLOW,
    app_definition,
    build_org,
    definition,
    install,
    parallel_flow,
    staged_flow,
)

PEOPLE = ("ann", "dora", "max", "rita", "sam", "fay")
FINAL = ("approved", "rejected", "withdrawn")


class FlowMachine(RuleBasedStateMachine):
    """Set `org` and `runtimes` on a subclass (the test's app) before running it."""

    org = None
    runtimes: tuple = ()

    def __init__(self):
        super().__init__()
        db.session.rollback()
        # Instances of earlier examples stay in the database; this example checks its own.
        self.floor = db.session.execute(sa.select(sa.func.max(FlowInstance.id))).scalar() or 0
        self.made: list[tuple[object, int]] = []  # (runtime, record id)

    # -- reading the database ---------------------------------------------------------------
    def uid(self, name: str) -> int:
        return getattr(self.org, name).id

    def name_of(self, user_id: int) -> str:
        return next(n for n in PEOPLE if self.uid(n) == user_id)

    def tasks(self, *where) -> list[FlowTask]:
        db.session.rollback()
        return list(db.session.execute(sa.select(FlowTask).where(
            FlowTask.instance_id > self.floor, FlowTask.kind != "cc", *where).order_by(FlowTask.id)).scalars())

    def instances(self) -> list[FlowInstance]:
        db.session.rollback()
        return list(db.session.execute(sa.select(FlowInstance).where(FlowInstance.id > self.floor)
                                       .order_by(FlowInstance.id)).scalars())

    def runtime_of(self, app_id: int):
        return next(rt for rt in self.runtimes if rt.app_id == app_id)

    def record(self, rt, record_id: int) -> dict:
        return flows.load_record(rt, "quote", record_id)

    def pending(self, kind: str = "approval") -> list[FlowTask]:
        return self.tasks(FlowTask.status == "pending", FlowTask.kind == kind)

    def has_pending(self) -> bool:
        return bool(self.pending())

    def open_at_step(self, task: FlowTask, who: str) -> list[FlowTask]:
        return self.tasks(FlowTask.instance_id == task.instance_id, FlowTask.step_key == task.step_key,
                          FlowTask.assignee_id == self.uid(who), FlowTask.status.in_(("pending", "waiting")))

    def pick(self, data, kind: str = "approval"):
        """A pending task, its assignee and its step."""
        task = data.draw(st.sampled_from(self.pending(kind)), "task")
        flow = flows.pinned(db.session.get(FlowInstance, task.instance_id))[1]
        return task, self.org.actor(self.name_of(task.assignee_id)), flow.nodes.get(task.step_key), flow

    def snapshot(self) -> tuple:
        """Everything a refused action must leave as it was."""
        db.session.rollback()
        tasks = db.session.execute(sa.select(FlowTask.id, FlowTask.status, FlowTask.assignee_id)
                                   .order_by(FlowTask.id)).all()
        instances = db.session.execute(sa.select(FlowInstance.id, FlowInstance.status, FlowInstance.rev)
                                       .order_by(FlowInstance.id)).all()
        logs = db.session.execute(sa.select(sa.func.count()).select_from(FlowLog)).scalar()
        rows = [self.record(rt, rid) for rt, rid in self.made]
        return tasks, instances, logs, rows

    def refused(self, call, *allowed) -> None:
        """`call` must raise one of `allowed` and change nothing."""
        assert not self.attempt(call, *allowed), "an action that should be refused went through"

    def attempt(self, call, *allowed) -> bool:
        """Whether `call` went through; if it raised, it was one of `allowed` and changed nothing."""
        before = self.snapshot()
        try:
            call()
        except allowed:
            assert self.snapshot() == before, "a refused action changed something"
            return False
        return True

    # -- rules ------------------------------------------------------------------------------
    @rule(app=st.integers(0, 2), who=st.sampled_from(PEOPLE), discount=st.sampled_from([5, 15, 40]))
    def submit(self, app, who, discount):
        rt = self.runtimes[app]
        made = records.create(self.org.actor(who), rt, "quote", {
            "title": f"Q{len(self.made)}", "amount": 1000, "discount": discount, "owner": self.uid(who)})
        assert made["flow_status"] == "in_progress"
        self.made.append((rt, made["id"]))

    @precondition(has_pending)
    @rule(data=st.data(), fields=st.sampled_from([{}, {}, {"notes": "checked"}, {"amount": 900}]))
    def approve(self, data, fields):
        """Approving goes through, with changes only to the fields the step lets its approvers edit."""
        task, actor, node, _flow = self.pick(data)
        if set(fields) <= set((node.spec.get("fields") or {}).get("editable", [])):
            flows.act(actor, task.id, "approve", fields=fields)
            got = self.record(self.runtime_of(task.app_id), task.record_id)["fields"]
            assert {k: got[k] for k in fields} == fields
        else:
            self.refused(lambda: flows.act(actor, task.id, "approve", fields=fields), PermissionDenied)

    @precondition(has_pending)
    @rule(data=st.data())
    def approve_again(self, data):
        """(Approving is what approvers mostly do: a second rule doubles its share.)"""
        task, actor, _node, _flow = self.pick(data)
        flows.act(actor, task.id, "approve")

    @precondition(has_pending)
    @rule(data=st.data())
    def reject(self, data):
        task, actor, _node, _flow = self.pick(data)
        flows.act(actor, task.id, "reject", comment="no")
        assert flows.latest_instance(self.runtime_of(task.app_id), "quote", task.record_id).status == "rejected"

    @precondition(has_pending)
    @rule(data=st.data(), to_submitter=st.booleans())
    def return_(self, data, to_submitter):
        """Back to the submitter always works; back to a step only to an earlier one it may reach."""
        task, actor, _node, flow = self.pick(data)
        if to_submitter:
            flows.act(actor, task.id, "return")
            assert self.pending("submit")[-1].step_key == flows.SUBMITTER_STEP
            return
        to = data.draw(st.sampled_from([n.id for n in flow.approvals()]), "to")
        self.attempt(lambda: flows.act(actor, task.id, "return", to=to), ValidationFailed)

    @precondition(has_pending)
    @rule(data=st.data(), to=st.sampled_from(PEOPLE))
    def transfer(self, data, to):
        task, actor, _node, _flow = self.pick(data)
        if self.uid(to) == task.assignee_id or self.open_at_step(task, to):
            self.refused(lambda: flows.act(actor, task.id, "transfer", to=self.uid(to)), ValidationFailed)
        else:
            flows.act(actor, task.id, "transfer", to=self.uid(to))

    @precondition(has_pending)
    @rule(data=st.data(), to=st.sampled_from(PEOPLE), position=st.sampled_from(["before", "after"]))
    def add_signer(self, data, to, position):
        """A signer is added unless they approve at this step already."""
        task, actor, _node, _flow = self.pick(data)
        if self.open_at_step(task, to):
            self.refused(lambda: flows.act(actor, task.id, "add_signer", to=self.uid(to), position=position),
                         ValidationFailed)
        else:
            flows.act(actor, task.id, "add_signer", to=self.uid(to), position=position)

    @precondition(lambda self: bool(self.pending("submit")))
    @rule(data=st.data(), discount=st.sampled_from([5, 15, 40]))
    def resubmit(self, data, discount):
        """The submitter of a returned record changes it and sends it again."""
        task, actor, _node, _flow = self.pick(data, "submit")
        flows.act(actor, task.id, "submit", fields={"discount": discount})
        rt = self.runtime_of(task.app_id)
        assert self.record(rt, task.record_id)["fields"]["discount"] == discount
        assert flows.latest_instance(rt, "quote", task.record_id).status == "in_progress"

    @precondition(lambda self: bool(self.made))
    @rule(data=st.data(), by_submitter=st.booleans())
    def withdraw(self, data, by_submitter):
        rt, rid = self.made[data.draw(st.integers(0, len(self.made) - 1), "record")]
        instance = flows.latest_instance(rt, "quote", rid)
        who = self.name_of(instance.submitter_id) if by_submitter else data.draw(st.sampled_from(PEOPLE), "who")
        acted = db.session.execute(sa.select(FlowLog.id).where(FlowLog.instance_id == instance.id,
                                                               FlowLog.action.in_(flows.ACTED))).first()
        if instance.status in flows.LIVE and not acted and self.uid(who) == instance.submitter_id:
            assert flows.withdraw(self.org.actor(who), rt, "quote", rid)["status"] == "withdrawn"
        else:
            self.refused(lambda: flows.withdraw(self.org.actor(who), rt, "quote", rid), Conflict, PermissionDenied)

    @precondition(lambda self: bool(self.made))
    @rule(data=st.data())
    def submit_again(self, data):
        """A rejected or withdrawn record is submitted again by its owner."""
        ended = [(rt, rid) for rt, rid in self.made
                 if flows.latest_instance(rt, "quote", rid).status in ("rejected", "withdrawn")]
        if not ended:
            return
        rt, rid = ended[data.draw(st.integers(0, len(ended) - 1), "record")]
        owner = self.name_of(self.record(rt, rid)["fields"]["owner"])
        assert flows.submit_record(self.org.actor(owner), rt, "quote", rid).status == "in_progress"

    @precondition(lambda self: bool(self.made))
    @rule(data=st.data(), action=st.sampled_from(flows.ACTIONS), who=st.sampled_from(PEOPLE))
    def act_out_of_turn(self, data, action, who):
        """A task that is not pending, or someone else's, cannot be acted on."""
        tasks = self.tasks()
        task = data.draw(st.sampled_from(tasks), "task")
        if task.assignee_id == self.uid(who) and task.status == "pending":
            return  # that is `decide`
        to = self.uid(data.draw(st.sampled_from(PEOPLE), "to"))
        self.refused(lambda: flows.act(self.org.actor(who), task.id, action, to=to, position="after"),
                     Conflict, NotFound)

    @precondition(lambda self: bool(self.made))
    @rule(data=st.data(), who=st.sampled_from(PEOPLE))
    def edit_record(self, data, who):
        """Nobody changes a record in an approval except through their task."""
        rt, rid = self.made[data.draw(st.integers(0, len(self.made) - 1), "record")]
        if self.record(rt, rid)["flow_status"] != "in_progress":
            return
        field = data.draw(st.sampled_from([{"title": "Changed"}, {"notes": "edited"}, {"amount": 1}]), "field")
        self.refused(lambda: records.update(self.org.actor(who), rt, "quote", rid, field), PermissionDenied,
                     NotFound)

    # -- invariants -------------------------------------------------------------------------
    @invariant()
    def instances_end_once_and_close_their_tasks(self):
        instances = self.instances()
        finished = Counter(db.session.execute(sa.select(FlowLog.instance_id).where(
            FlowLog.instance_id > self.floor, FlowLog.action == "finished")).scalars())
        open_tasks = Counter(t.instance_id for t in self.tasks(FlowTask.status.in_(("pending", "waiting"))))
        pending = self.tasks(FlowTask.status == "pending")
        for instance in instances:
            assert finished[instance.id] <= 1, f"instance {instance.id} finished {finished[instance.id]} times"
            assert (instance.status in FINAL) == (finished[instance.id] == 1) == (instance.finished_at is not None)
            if instance.status in FINAL:
                assert open_tasks[instance.id] == 0, f"finished instance {instance.id} has open tasks"
            else:
                mine = [t for t in pending if t.instance_id == instance.id]
                assert mine, f"live instance {instance.id} ({instance.status}) waits for nobody"
                self.each_token_waits_for_someone(instance, mine)

    def each_token_waits_for_someone(self, instance, pending):
        flow = flows.pinned(instance)[1]
        for token, node_id in (instance.state or {}).get("tokens", {}).items():
            if flow.nodes[node_id].type == "approval":
                assert any(t.token == token and t.step_key == node_id for t in pending), \
                    f"instance {instance.id} waits at {node_id} ({token}) with no pending task there"

    @invariant()
    def records_show_their_flow(self):
        for rt, rid in self.made:
            instance = flows.latest_instance(rt, "quote", rid)
            expected = "in_progress" if instance.status in flows.LIVE else instance.status
            assert self.record(rt, rid)["flow_status"] == expected

    @invariant()
    def nobody_holds_two_pending_tasks_in_one_place(self):
        places = Counter((t.instance_id, t.step_key, t.token, t.assignee_id)
                         for t in self.tasks(FlowTask.status == "pending"))
        doubled = [place for place, n in places.items() if n > 1]
        assert not doubled, f"two pending tasks for one person at one step: {doubled}"


@pytest.fixture
def org(make):
    return build_org(make)


def test_random_actions_keep_every_flow_consistent(any_db, make, org):
    runtimes = (install(make, org, app_definition("deals", FLOW)),
                install(make, org, app_definition("deals_par", parallel_flow(org))),
                install(make, org, app_definition("deals_staged", staged_flow(org))))
    machine = type("FlowMachineHere", (FlowMachine,), {"org": org, "runtimes": runtimes})
    run_state_machine_as_test(machine, settings=settings(
        max_examples=25, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]))


# -- what the machine found, as plain tests -------------------------------------------------------
def _pending(user) -> list[FlowTask]:
    db.session.rollback()
    return list(db.session.execute(sa.select(FlowTask).where(FlowTask.assignee_id == user.id,
                                                             FlowTask.status == "pending")).scalars())


def test_a_signer_added_after_an_approver_who_then_transfers_still_gets_a_turn(make, org):
    rt = install(make, org)
    records.create(org.actor("rita"), rt, "quote", {"title": "Q", "discount": 15, "owner": org.rita.id})
    [task] = _pending(org.max)
    flows.act(org.actor("max"), task.id, "add_signer", to=org.ann.id, position="after")
    flows.act(org.actor("max"), task.id, "transfer", to=org.sam.id)
    [sams] = _pending(org.sam)
    flows.act(org.actor("sam"), sams.id, "approve")
    assert [t.step_key for t in _pending(org.ann)] == ["manager"]  # Ann's turn, as she was added after


def test_a_task_cannot_be_transferred_to_someone_who_approves_at_the_step_already(make, org):
    flow = {"key": "pair", "form": "quote", "steps": [
        {"type": "approval", "key": "pair", "mode": "all", "assignees": {"users": [org.max.id, org.dora.id]}}]}
    rt = install(make, org, definition(flow))
    records.create(org.actor("rita"), rt, "quote", {"title": "Q", "discount": 15, "owner": org.rita.id})
    [task] = _pending(org.max)
    with pytest.raises(ValidationFailed):  # else Dora alone approves a step meant for two people
        flows.act(org.actor("max"), task.id, "transfer", to=org.dora.id)


def test_a_signer_added_after_a_signer_added_before_gets_a_turn(make, org):
    rt = install(make, org)
    records.create(org.actor("rita"), rt, "quote", {"title": "Q", "discount": 15, "owner": org.rita.id})
    [task] = _pending(org.max)
    flows.act(org.actor("max"), task.id, "add_signer", to=org.fay.id, position="before")
    [fays] = _pending(org.fay)
    flows.act(org.actor("fay"), fays.id, "add_signer", to=org.dora.id, position="after")
    flows.act(org.actor("fay"), fays.id, "approve")
    if not _pending(org.dora):  # Max's turn came back first (the engine today) ...
        flows.act(org.actor("max"), task.id, "approve")
    assert [t.step_key for t in _pending(org.dora)] == ["manager"]  # ... but Dora, added after Fay, gets hers


def test_every_signer_added_after_an_approver_gets_a_turn(make, org):
    rt = install(make, org)
    records.create(org.actor("rita"), rt, "quote", {"title": "Q", "discount": 15, "owner": org.rita.id})
    [task] = _pending(org.max)
    flows.act(org.actor("max"), task.id, "add_signer", to=org.sam.id, position="after")
    flows.act(org.actor("max"), task.id, "add_signer", to=org.ann.id, position="after")
    flows.act(org.actor("max"), task.id, "approve")
    [sams] = _pending(org.sam)
    flows.act(org.actor("sam"), sams.id, "approve")
    assert [t.step_key for t in _pending(org.ann)] == ["manager"]  # today: Ann waits, and so does the record
