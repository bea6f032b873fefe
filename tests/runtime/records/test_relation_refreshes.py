"""Large fan-out in the background: a change reaching more records than the inline limit
marks them "updating" and a job brings them up to date, with progress; rebuilds on demand,
lookups and rollups a publish adds, and rollups whose condition reads the date re-evaluated
each day."""
from __future__ import annotations

import copy
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from formloom.builder import apps as builder
from formloom.platform import jobs
from formloom.platform.actor import Actor
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import (
    Job,
    OutboxEvent,
    RecordRevision,
    RelationPending,
    RelationRefresh,
)
from formloom.runtime.apps import get_runtime
from formloom.runtime.records import refreshes
from formloom.runtime.records import service as records

SYSTEM = Actor.system()
WON = {"field": "stage", "op": "eq", "value": "won"}
DEFINITION = {"key": "crm", "name": "CRM", "forms": [
    {"key": "customer", "name": "Customer", "title_field": "name", "fields": [
        {"key": "name", "type": "text", "label": "Name"},
        {"key": "tier", "type": "select", "label": "Tier", "options": ["A", "B", "C"]},
        {"key": "won_total", "type": "rollup", "label": "Won", "form": "deal", "link": "customer", "agg": "sum",
         "field": "amount", "where": WON},
        {"key": "deals", "type": "rollup", "label": "Deals", "form": "deal", "link": "customer", "agg": "count"}]},
    {"key": "deal", "name": "Deal", "title_field": "title", "fields": [
        {"key": "title", "type": "text", "label": "Title"},
        {"key": "customer", "type": "link", "form": "customer", "label": "Customer"},
        {"key": "amount", "type": "number", "label": "Amount"},
        {"key": "stage", "type": "select", "label": "Stage", "options": ["open", "won", "lost"]},
        {"key": "tier", "type": "lookup", "label": "Customer tier", "link": "customer", "field": "tier"},
        {"key": "score", "type": "formula", "label": "Score", "expr": 'IF(tier = "A", amount * 2, amount)'}]}]}
LIMIT = 3


def new(rt, form, **fields):
    return records.create(SYSTEM, rt, form, fields)["id"]


def get(rt, form, rid):
    return records.get(SYSTEM, rt, form, rid, include_deleted=True)["fields"]


def tiers(rt, ids):
    return [get(rt, "deal", d)["tier"] for d in ids]


def seed(make, owner, n=6):
    rt = make.install(copy.deepcopy(DEFINITION), owner=owner)
    acme = new(rt, "customer", name="Acme", tier="B")
    deals = [row for row in records.bulk_create(SYSTEM, rt, "deal", [
        {"title": f"D{i}", "customer": acme, "amount": 10, "stage": "won"} for i in range(n)])]
    return rt, acme, deals


@pytest.fixture
def app(app_with, request):
    """Jobs run at each commit (`eager`), or go to a Redis no worker reads (`held`), so the
    test runs them when it wants to."""
    if "held" in request.fixturenames:
        redis = request.getfixturevalue("redis_server")
        return app_with(REDIS_URL=redis["url"], FORMLOOM_RELATIONS_INLINE=LIMIT)
    return app_with(FORMLOOM_JOBS_EAGER=True, FORMLOOM_RELATIONS_INLINE=LIMIT)


@pytest.fixture
def eager(app, any_db):
    return app


@pytest.fixture
def held(app):
    return app


def only_refresh() -> RelationRefresh:
    return db.session.execute(sa.select(RelationRefresh).order_by(RelationRefresh.id.desc())).scalars().first()


def test_a_large_fan_out_is_finished_by_a_job_with_revisions_and_events(eager, make):
    owner = make.user("Owner")
    rt, acme, deals = seed(make, owner)
    records.update(Actor.from_user(owner), rt, "customer", acme, {"tier": "A"})
    assert tiers(rt, deals) == ["A"] * 6
    assert [get(rt, "deal", d)["score"] for d in deals] == [20] * 6  # formulas over the lookup follow
    refresh = only_refresh()
    assert (refresh.status, refresh.total, refresh.done, refresh.changed, refresh.form_key) == ("done", 6, 6, 6, "deal")
    assert refresh.cause == {"kind": "source", "form": "customer", "fields": ["tier"], "records": 1, "record": acme}
    assert db.session.execute(sa.select(sa.func.count()).select_from(RelationPending)).scalar() == 0
    revs = db.session.execute(sa.select(RecordRevision).where(
        RecordRevision.form_key == "deal", RecordRevision.action == "updated")).scalars().all()
    assert sorted(r.record_id for r in revs) == sorted(deals) and all(r.changes["tier"] == ["B", "A"] for r in revs)
    assert db.session.execute(sa.select(sa.func.count()).select_from(OutboxEvent).where(
        OutboxEvent.form_key == "deal", OutboxEvent.type == "record.updated")).scalar() == 6


def test_a_small_fan_out_stays_in_the_transaction(eager, make):
    rt, acme, deals = seed(make, make.user("Owner"), n=LIMIT)
    records.update(SYSTEM, rt, "customer", acme, {"tier": "C"})
    assert tiers(rt, deals) == ["C"] * LIMIT
    assert only_refresh() is None


def test_a_bulk_create_reaching_many_parents_defers_their_rollups(eager, make):
    rt = make.install(copy.deepcopy(DEFINITION), owner=make.user("Owner"))
    customers = [new(rt, "customer", name=f"C{i}") for i in range(5)]
    records.bulk_create(SYSTEM, rt, "deal", [{"customer": c, "amount": 5, "stage": "won"} for c in customers * 2])
    assert [get(rt, "customer", c)["won_total"] for c in customers] == [10] * 5
    assert only_refresh().cause["kind"] == "source" and only_refresh().total == 5


def test_records_say_updating_until_the_job_reaches_them(held, make, client, auth, api_as):
    owner = make.user("Owner", locale="en")
    rt, acme, deals = seed(make, owner)
    records.update(Actor.from_user(owner), rt, "customer", acme, {"tier": "A"})
    # The change is saved; its 6 dependents wait for the job.
    assert get(rt, "customer", acme)["tier"] == "A" and tiers(rt, deals) == ["B"] * 6
    assert refreshes.updating(rt.app_id, "deal", deals) == set(deals)
    refresh = only_refresh()
    assert (refresh.status, refresh.total) == ("queued", 6)

    auth.login(owner.email)
    page = client.get(f"/a/crm/f/deal/r/{deals[0]}").get_data(as_text=True)
    assert "are being brought up to date" in page and "data-refresh-poll=" in page
    assert "<span data-refresh-done>0</span> of 6 related records done" in page
    listing = client.get("/a/crm/f/deal").get_data(as_text=True)
    assert listing.count("fl-updating-badge") == 6
    state = client.get(f"/a/crm/f/deal/r/{deals[0]}/updating").get_json()
    assert state == {"status": "running", "done": 0, "total": 6, "percent": 0}
    api = api_as(owner)
    assert api.get(f"/api/v1/apps/crm/forms/deal/records/{deals[0]}").json["updating"] is True
    assert {i["updating"] for i in api.get("/api/v1/apps/crm/forms/deal/records").json["items"]} == {True}
    assert "updating" not in api.get(f"/api/v1/apps/crm/forms/customer/records/{acme}").json or \
        api.get(f"/api/v1/apps/crm/forms/customer/records/{acme}").json["updating"] is False

    # A user saving a waiting record meanwhile gets the current lookup, and keeps their change.
    records.update(Actor.from_user(owner), rt, "deal", deals[0], {"amount": 50})
    assert get(rt, "deal", deals[0])["tier"] == "A"

    refreshes.BATCH, saved = 4, refreshes.BATCH
    try:
        assert jobs.run_job(refresh.job_id) == "done"
    finally:
        refreshes.BATCH = saved
    assert tiers(rt, deals) == ["A"] * 6
    assert get(rt, "deal", deals[0])["amount"] == 50 and get(rt, "deal", deals[0])["score"] == 100
    db.session.refresh(refresh)
    assert (refresh.status, refresh.done, refresh.changed) == ("done", 6, 5)  # one was current already
    assert refreshes.updating(rt.app_id, "deal", deals) == set()
    page = client.get(f"/a/crm/f/deal/r/{deals[0]}").get_data(as_text=True)
    assert "are being brought up to date" not in page
    assert client.get(f"/a/crm/f/deal/r/{deals[0]}/updating").get_json()["status"] == "done"


def test_a_newer_refresh_satisfies_an_older_one_and_a_failed_one_says_so(held, make, client, auth):
    owner = make.user("Owner", locale="en")
    rt, acme, deals = seed(make, owner)
    records.update(SYSTEM, rt, "customer", acme, {"tier": "A"})
    records.update(SYSTEM, rt, "customer", acme, {"tier": "C"})
    first, second = db.session.execute(sa.select(RelationRefresh).order_by(RelationRefresh.id)).scalars().all()
    assert jobs.run_job(second.job_id) == "done"
    assert tiers(rt, deals) == ["C"] * 6
    assert refreshes.describe(first)["done"] == 6  # its records were brought up to date by the newer one
    assert jobs.run_job(first.job_id) == "done"
    db.session.refresh(first)
    assert (first.status, first.changed) == ("done", 0)

    # A refresh whose job ran out of attempts: the record says its values may be behind.
    records.update(SYSTEM, rt, "customer", acme, {"tier": "B"})
    stuck = only_refresh()
    with write_transaction():
        db.session.execute(sa.update(Job).where(Job.id == stuck.job_id).values(status="failed", error="boom"))
    auth.login(owner.email)
    page = client.get(f"/a/crm/f/deal/r/{deals[1]}").get_data(as_text=True)
    assert "could not be brought up to date" in page and "data-refresh-poll=" not in page
    assert 'href="/a/crm/relations"' in page  # the owner, an app admin, is shown where to rebuild


@pytest.mark.parametrize("any_db", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_job_does_a_batch_again_when_a_user_saved_one_of_its_records_at_that_moment(any_db, held, make,
                                                                                       monkeypatch):
    """A user's save landing between the job's read and its write: the batch's versioned UPDATE
    matches fewer rows, the batch is rolled back and done again; the user's change stays."""
    rt, acme, deals = seed(make, make.user("Owner"))
    records.update(SYSTEM, rt, "customer", acme, {"tier": "A"})
    from formloom.runtime.records import relations
    from formloom.runtime.storage import store

    real_load, raced = store.load_records, []

    def load_then_someone_saves(ft, ids, **kw):
        found = real_load(ft, ids, **kw)
        if not raced and ft.form.key == "deal":
            raced.append(ids[0])
            other = db.engine.connect()  # another user's transaction, committed in between
            t = ft.table
            other.execute(sa.update(t).where(t.c.id == ids[0]).values(
                {ft.columns["amount"].name: 99, "version": t.c.version + 1}))
            other.commit()
            other.close()
        return found

    monkeypatch.setattr(relations.store, "load_records", load_then_someone_saves)
    assert jobs.run_job(only_refresh().job_id) == "done"
    assert tiers(rt, deals) == ["A"] * 6
    assert get(rt, "deal", raced[0])["amount"] == 99  # not overwritten by the job's stale copy
    assert get(rt, "deal", raced[0])["score"] == 198  # and computed from the saved amount, not the stale one


def test_publishing_new_lookups_and_rollups_fills_them_for_existing_records(eager, make):
    owner = make.user("Owner")
    plain = copy.deepcopy(DEFINITION)
    plain["forms"][0]["fields"] = plain["forms"][0]["fields"][:2]
    plain["forms"][1]["fields"] = plain["forms"][1]["fields"][:4]
    rt = make.install(plain, owner=owner)
    small = new(rt, "customer", name="Small", tier="C")
    big = new(rt, "customer", name="Big", tier="A")
    ids = records.bulk_create(SYSTEM, rt, "deal", [{"customer": small, "amount": 3, "stage": "won"},
                                                   {"customer": big, "amount": 4, "stage": "won"},
                                                   {"customer": big, "amount": 5, "stage": "lost"},
                                                   {"customer": small, "amount": 1, "stage": "won"}])
    actor = Actor.from_user(owner)
    builder.save_draft(actor, "crm", copy.deepcopy(DEFINITION))
    preview = builder.publish(actor, "crm", dry_run=True)
    relate = {(s["form"], s["field"]): s["summary"] for s in preview["plan"] if s["op"] == "relate"}
    assert set(relate) == {("deal", "tier"), ("customer", "won_total"), ("customer", "deals")}
    assert relate["deal", "tier"] == 'Compute "tier" of "deal" for every record from the records it relates to'
    result = builder.publish(actor, "crm")
    # 2 customers are filled in the publish's transaction, 4 deals (over the limit) by a job.
    assert result["report"]["related"] == {"customer": 2, "deal": "background"}
    rt = get_runtime("crm")
    assert [get(rt, "deal", d)["tier"] for d in ids] == ["C", "A", "A", "C"]
    assert [get(rt, "deal", d)["score"] for d in ids] == [3, 8, 10, 1]
    assert [(get(rt, "customer", c)["won_total"], get(rt, "customer", c)["deals"]) for c in (small, big)] == \
        [(4, 2), (4, 2)]
    # Filling new fields is not a change anyone made: no revisions, no events.
    assert db.session.execute(sa.select(sa.func.count()).select_from(RecordRevision).where(
        RecordRevision.action == "updated")).scalar() == 0


def test_rebuild_recomputes_a_form_from_its_sources(eager, make):
    owner = make.user("Owner")
    rt, acme, deals = seed(make, owner)
    ft = rt.form_tables("customer")
    with write_transaction():  # a value gone wrong behind the application's back
        db.session.execute(sa.update(ft.table).values({ft.columns["won_total"].name: 12345}))
    refresh = refreshes.rebuild(Actor.from_user(owner), rt, "customer")
    assert get(rt, "customer", acme)["won_total"] == 60
    assert refreshes.describe(db.session.get(RelationRefresh, refresh.id))["status"] == "done"
    from formloom.runtime.exceptions import FormloomError, PermissionDenied

    member = make.user("Member")
    builder.add_member(Actor.from_user(owner), "crm", member.id)
    with pytest.raises(PermissionDenied):
        refreshes.rebuild(Actor.from_user(member), rt, "customer")
    plain = copy.deepcopy(DEFINITION)
    plain["key"] = "bare"
    plain["forms"] = [plain["forms"][0]]
    plain["forms"][0]["fields"] = plain["forms"][0]["fields"][:2]
    bare = make.install(plain, owner=owner)
    with pytest.raises(FormloomError, match="no lookup, rollup or formula"):
        refreshes.rebuild(Actor.from_user(owner), bare, "customer")


def test_rollups_and_formulas_reading_the_date_are_evaluated_again_each_day(eager, make):
    defn = copy.deepcopy(DEFINITION)
    defn["forms"][1]["fields"].append({"key": "due", "type": "date", "label": "Due"})
    defn["forms"][0]["fields"].append({"key": "overdue", "type": "rollup", "label": "Overdue", "form": "deal",
                                       "link": "customer", "agg": "count",
                                       "where": {"field": "due", "op": "lt", "value": {"today": 0}}})
    defn["forms"][1]["fields"].append({"key": "late", "type": "formula", "label": "Late",
                                       "expr": 'IF(due < TODAY(), "late", "on time")'})
    rt = make.install(defn, owner=make.user("Owner"))
    assert refreshes.clock_forms(rt) == {"customer": "today", "deal": "today"}
    acme = new(rt, "customer", name="Acme")
    today = datetime.now().date()  # noqa: DTZ005 - compared through the app's zone below
    deal = new(rt, "deal", customer=acme, due=(today + timedelta(days=3)).isoformat())
    assert (get(rt, "customer", acme)["overdue"], get(rt, "deal", deal)["late"]) == (0, "on time")
    later = datetime.utcnow() + timedelta(days=5)  # noqa: DTZ003 - naive UTC, as stored
    assert refreshes.scan(later) == 2
    assert (get(rt, "customer", acme)["overdue"], get(rt, "deal", deal)["late"]) == (1, "late")
    assert refreshes.scan(later) == 0  # once per day however many look
    assert only_refresh().cause["kind"] == "clock"
    assert refreshes.scan(later + timedelta(days=1)) == 2


def test_the_history_says_which_change_brought_a_value_up_to_date(eager, make, client, auth):
    owner = make.user("Owner", locale="en")
    rt, acme, deals = seed(make, owner, n=2)  # inline
    records.update(Actor.from_user(owner), rt, "customer", acme, {"tier": "A"})
    auth.login(owner.email)
    page = client.get(f"/a/crm/f/deal/r/{deals[0]}").get_data(as_text=True)
    assert "brought lookups and totals up to date after Customer “Acme” changed" in page
    # The same through a background refresh (5 deals: over the limit).
    other = new(rt, "customer", name="Secret", tier="B")
    more = records.bulk_create(SYSTEM, rt, "deal", [{"title": f"S{i}", "customer": other} for i in range(5)])
    records.update(SYSTEM, rt, "customer", other, {"tier": "C"})
    assert only_refresh().status == "done"
    page = client.get(f"/a/crm/f/deal/r/{more[0]}").get_data(as_text=True)
    assert "brought lookups and totals up to date after Customer “Secret” changed" in page


def test_records_down_the_chain_say_updating_too(held, make):
    """A customer's rollup over its deals' score (a formula over the tier lookup) follows from
    the deals a tier change sends to the background: the customer says "updating" as well,
    until the job ends, and is current then."""
    defn = copy.deepcopy(DEFINITION)
    defn["forms"][0]["fields"].append({"key": "score_total", "type": "rollup", "label": "Score", "form": "deal",
                                       "link": "customer", "agg": "sum", "field": "score"})
    rt = make.install(defn, owner=make.user("Owner"))
    acme = new(rt, "customer", name="Acme", tier="B")
    other = new(rt, "customer", name="Other", tier="B")
    deals = records.bulk_create(SYSTEM, rt, "deal", [{"customer": acme, "amount": 10} for _ in range(4)])
    records.bulk_create(SYSTEM, rt, "deal", [{"customer": other, "amount": 1}])
    assert get(rt, "customer", acme)["score_total"] == 40
    records.update(SYSTEM, rt, "customer", acme, {"tier": "A"})
    assert refreshes.updating(rt.app_id, "deal", deals) == set(deals)
    assert refreshes.updating(rt.app_id, "customer", [acme, other]) == {acme}
    assert get(rt, "customer", acme)["score_total"] == 40  # behind, and saying so
    assert jobs.run_job(only_refresh().job_id) == "done"
    assert get(rt, "customer", acme)["score_total"] == 80
    assert refreshes.updating(rt.app_id, "customer", [acme]) == set()
    assert refreshes.describe(only_refresh())["total"] == 4  # its own records; the customer came along


def test_a_daily_pass_marks_the_records_down_its_chain_when_it_starts(held, make):
    """The daily pass over customers (a rollup of overdue deals) reaches the deals' lookup of
    that rollup: once the job starts, those deals say "updating" until it ends."""
    defn = copy.deepcopy(DEFINITION)
    defn["forms"][1]["fields"] += [
        {"key": "due", "type": "date", "label": "Due"},
        {"key": "customer_overdue", "type": "lookup", "label": "Customer overdue", "link": "customer",
         "field": "overdue"}]
    defn["forms"][0]["fields"].append({"key": "overdue", "type": "rollup", "label": "Overdue", "form": "deal",
                                       "link": "customer", "agg": "count",
                                       "where": {"field": "due", "op": "lt", "value": {"today": 0}}})
    rt = make.install(defn, owner=make.user("Owner"))
    acme = new(rt, "customer", name="Acme")
    soon = (datetime.now().date() + timedelta(days=2)).isoformat()  # noqa: DTZ005
    deals = [new(rt, "deal", customer=acme, due=soon) for _ in range(2)]
    assert refreshes.scan(datetime.utcnow() + timedelta(days=4)) == 1  # noqa: DTZ003
    refresh = only_refresh()
    assert refreshes.updating(rt.app_id, "customer", [acme]) == {acme}
    refreshes._mark_chain(refresh.id)
    assert refreshes.updating(rt.app_id, "deal", deals) == set(deals)
    assert jobs.run_job(refresh.job_id) == "done"
    assert [get(rt, "deal", d)["customer_overdue"] for d in deals] == [2, 2]
    assert refreshes.updating(rt.app_id, "deal", deals) == set()
