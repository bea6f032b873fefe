"""The CRM's process run by its roles: a quote's discount approval, a won opportunity's
contract draft, the contract's approval with finance and legal in parallel, the order it
creates, and a follow-up touching its customer."""
from __future__ import annotations

from datetime import UTC, date, timedelta

import pytest
import sqlalchemy as sa

from formloom.app_templates import people
from formloom.builder.demo_org import ensure_people
from formloom.builder.templates import install_template
from formloom.platform import outbox
from formloom.platform.actor import Actor
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import FlowTask, Notification, User
from formloom.runtime.apps import get_runtime
from formloom.runtime.flows import service as flows
from formloom.runtime.records import query
from formloom.runtime.records import service as records


@pytest.fixture
def app(app_with):
    return app_with(FORMLOOM_JOBS_EAGER=True)


@pytest.fixture
def crm(app, make):
    admin = make.user("Admin", admin=True)
    install_template("crm", Actor.from_user(admin), language="en")
    ids = ensure_people(people("crm", "en"), "demo-pass-123")
    users = {k: db.session.get(User, ids[k]) for k in ("director", "manager1", "manager2", "rep1", "finance", "legal")}
    return get_runtime("crm"), users


def as_(user) -> Actor:
    return Actor.from_user(user)


def pending(user) -> list[FlowTask]:
    db.session.rollback()
    return list(db.session.execute(sa.select(FlowTask).where(FlowTask.assignee_id == user.id,
                                                             FlowTask.status == "pending")).scalars())


def settle() -> None:
    """Dispatch outbox events until none are left (jobs run eagerly after each commit)."""
    for _ in range(20):
        if not outbox.dispatch():
            return
    raise AssertionError("events keep coming")


def read(rt, form: str, record_id: int) -> dict:
    db.session.rollback()
    return records.get(Actor.system(), rt, form, record_id)


def test_a_quote_with_25_percent_off_needs_the_manager_then_the_director(crm):
    rt, u = crm
    product = records.create(as_(u["director"]), rt, "product", {"name": "Seats", "unit_price": 1000})
    customer = records.create(as_(u["rep1"]), rt, "customer", {"name": "Acme"})

    def quote(discount):
        return records.create(as_(u["rep1"]), rt, "quote", {"customer": customer["id"], "items": [
            {"product": product["id"], "quantity": 10, "discount": discount}]})

    small = quote(5)
    assert read(rt, "quote", small["id"])["flow_status"] == "approved"  # 10% or less: approved at once
    middle = quote(15)
    [task] = pending(u["manager1"])
    flows.act(as_(u["manager1"]), task.id, "approve")
    assert read(rt, "quote", middle["id"])["flow_status"] == "approved" and not pending(u["director"])
    big = quote(25)
    assert read(rt, "quote", big["id"])["fields"]["total"] == 7500  # the unit price came from the product
    assert pending(u["director"]) == [] and not pending(u["manager2"])  # the other team's manager is not asked
    [task] = pending(u["manager1"])
    flows.act(as_(u["manager1"]), task.id, "approve")
    assert read(rt, "quote", big["id"])["flow_status"] == "in_progress"
    [task] = pending(u["director"])
    flows.act(as_(u["director"]), task.id, "approve")
    assert read(rt, "quote", big["id"])["flow_status"] == "approved"


def test_won_deal_drafts_a_contract_whose_approval_creates_the_order(crm):
    rt, u = crm
    rep = as_(u["rep1"])
    customer = records.create(rep, rt, "customer", {"name": "Globex"})
    target = records.create(as_(u["manager1"]), rt, "sales_target", {
        "name": "Rep 1", "period_type": "month", "start_date": "2026-01-01", "end_date": "2099-12-31",
        "dimension": "person", "owner": u["rep1"].id, "baseline_target": 200000, "challenge_target": 500000})
    opp = records.create(rep, rt, "opportunity", {"title": "Globex rollout", "customer": customer["id"],
                                                  "stage": "negotiation", "amount": 250000})
    records.create(rep, rt, "follow_up", {"subject": "Call", "customer": customer["id"], "opportunity": opp["id"],
                                          "follow_up_at": "2026-03-02", "next_follow_up_at": "2026-03-09"})
    settle()
    assert read(rt, "customer", customer["id"])["fields"]["last_contact_at"] == date(2026, 3, 2)
    assert read(rt, "opportunity", opp["id"])["fields"]["next_follow_up_at"] == date(2026, 3, 9)

    records.update(rep, rt, "opportunity", opp["id"], {"stage": "won"})
    settle()
    won = read(rt, "customer", customer["id"])["fields"]
    assert won["won_amount"] == 250000 and won["tier"] == "B" and won["status"] == "active"
    assert read(rt, "opportunity", opp["id"])["fields"]["closed_date"]  # set when it was won
    reached = read(rt, "sales_target", target["id"])["fields"]
    assert (reached["actual_won"], reached["baseline_completion"], reached["challenge_completion"]) == (250000, 125, 50)
    [contract], _ = query.list_records(Actor.system(), rt, "contract", limit=10)
    assert contract["flow_status"] == "draft" and contract["owner"] == u["rep1"].id
    assert contract["fields"]["amount"] == 250000 and contract["fields"]["opportunity"] == opp["id"]
    assert any("Globex rollout" in n.title for n in db.session.execute(
        sa.select(Notification).where(Notification.user_id == u["rep1"].id)).scalars())

    records.update(rep, rt, "contract", contract["id"], {"sign_date": "2026-03-10"}, draft=False)
    [task] = pending(u["manager1"])
    flows.act(as_(u["manager1"]), task.id, "approve")
    [fin], [legal] = pending(u["finance"]), pending(u["legal"])  # both at once (会签)
    flows.act(as_(u["finance"]), fin.id, "approve", fields={"payment_terms": "30% on signing, 70% on delivery"})
    assert read(rt, "contract", contract["id"])["flow_status"] == "in_progress"
    flows.act(as_(u["legal"]), legal.id, "approve")
    settle()
    done = read(rt, "contract", contract["id"])
    assert done["flow_status"] == "approved" and done["fields"]["status"] == "signed"
    assert done["fields"]["payment_terms"] == "30% on signing, 70% on delivery"
    assert not pending(u["director"])  # 250,000 is under the director's 500,000
    [order], _ = query.list_records(Actor.system(), rt, "order", limit=10)
    assert order["fields"]["contract"] == contract["id"] and order["fields"]["amount"] == 250000
    assert order["owner"] == u["rep1"].id and order["fields"]["delivery_status"] == "pending"


def test_a_ticket_gets_its_sla_and_goes_to_its_assignee(crm, make):
    rt, u = crm
    service = db.session.execute(sa.select(User).where(User.email == "service@example.com")).scalar_one()
    ticket = records.create(as_(u["rep1"]), rt, "ticket", {
        "subject": "Cannot sign in", "customer": records.create(as_(u["rep1"]), rt, "customer", {"name": "Initech"})["id"],
        "priority": "high", "assignee": service.id})
    settle()
    done = read(rt, "ticket", ticket["id"])
    assert done["fields"]["status"] == "in_progress" and done["flow_status"] == "in_progress"
    assert done["fields"]["sla_hours"] == 24
    assert done["fields"]["sla_due_at"] - done["fields"]["opened_at"] == timedelta(hours=24)
    [task] = pending(service)
    assert task.due_at == done["fields"]["sla_due_at"].astimezone(UTC).replace(tzinfo=None)  # the SLA arms the timeout
    flows.act(as_(service), task.id, "approve")
    [confirm] = pending(u["rep1"])
    flows.act(as_(u["rep1"]), confirm.id, "approve", fields={"satisfaction": 5})
    closed = read(rt, "ticket", ticket["id"])
    assert closed["fields"]["status"] == "closed" and closed["fields"]["satisfaction"] == 5
    assert closed["fields"]["resolved_at"] is not None


def test_a_payment_past_its_date_turns_overdue_and_its_owner_hears_of_it(crm):
    from datetime import timedelta

    from formloom.platform.models import utcnow
    from formloom.runtime.automations import schedule

    rt, u = crm
    rep = as_(u["rep1"])
    customer = records.create(rep, rt, "customer", {"name": "Umbrella"})
    contract = records.create(rep, rt, "contract", {"customer": customer["id"], "amount": 90000}, draft=True)
    due = records.create(as_(u["finance"]), rt, "payment", {
        "contract": contract["id"], "customer": customer["id"], "plan_date": "2026-01-15", "planned_amount": 30000,
        "owner": u["rep1"].id})
    later = records.create(as_(u["finance"]), rt, "payment", {
        "contract": contract["id"], "customer": customer["id"], "plan_date": "2099-01-15", "planned_amount": 60000,
        "owner": u["rep1"].id})
    start = utcnow()
    for hours in range(0, 26):  # the daily 08:30 (Asia/Shanghai) comes within a day
        if schedule.scan(start + timedelta(hours=hours))["scheduled"]:
            break
    settle()
    assert read(rt, "payment", due["id"])["fields"]["status"] == "overdue"
    assert read(rt, "payment", later["id"])["fields"]["status"] == "unpaid"
    titles = [n.title for n in db.session.execute(sa.select(Notification).where(
        Notification.user_id == u["rep1"].id)).scalars()]
    assert titles == [f"Payment {due['fields']['number']} is overdue"]


def test_a_ticket_past_its_sla_goes_to_the_service_manager(crm):
    from formloom.platform import jobs
    from formloom.platform.models import Job, utcnow

    rt, u = crm
    service, boss = (db.session.execute(sa.select(User).where(User.email == e)).scalar_one()
                     for e in ("service@example.com", "service.manager@example.com"))
    customer = records.create(as_(u["rep1"]), rt, "customer", {"name": "Hooli"})
    ticket = records.create(as_(u["rep1"]), rt, "ticket", {"subject": "Down", "customer": customer["id"],
                                                            "priority": "urgent", "assignee": service.id})
    [task] = pending(service)
    opened = read(rt, "ticket", ticket["id"])["fields"]["opened_at"]
    assert task.due_at == (opened + timedelta(hours=4)).astimezone(UTC).replace(tzinfo=None)  # urgent: 4 hours
    job = db.session.execute(sa.select(Job).where(Job.dedupe_key == f"flow-timeout:{task.id}")).scalar_one()
    past = utcnow() - timedelta(minutes=1)  # the clock moved on past the SLA
    with write_transaction():
        db.session.execute(sa.update(FlowTask).where(FlowTask.id == task.id).values(due_at=past))
        db.session.execute(sa.update(Job).where(Job.id == job.id).values(run_at=past))
    assert jobs.run_job(job.id) == "done"
    assert not pending(service) and [t.step_key for t in pending(boss)] == ["handle"]
