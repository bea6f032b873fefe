"""Lookups and rollups: checked at publish, stored, and never stale after any change."""
from __future__ import annotations

import copy

import pytest
import sqlalchemy as sa

from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import OutboxEvent, RecordRevision
from formloom.runtime.exceptions import DefinitionError
from formloom.runtime.records import query
from formloom.runtime.records import service as records
from formloom.runtime.schema import compile_app

SYSTEM = Actor.system()
WON = {"field": "stage", "op": "eq", "value": "won"}
DEFINITION = {"key": "crm", "name": "CRM", "forms": [
    {"key": "customer", "name": "Customer", "title_field": "name", "fields": [
        {"key": "name", "type": "text", "label": "Name"},
        {"key": "tier", "type": "select", "label": "Tier", "options": ["A", "B", "C"]},
        {"key": "won_total", "type": "rollup", "label": "Won", "form": "deal", "link": "customer", "agg": "sum",
         "field": "amount", "where": WON},
        {"key": "deals", "type": "rollup", "label": "Deals", "form": "deal", "link": "customer", "agg": "count"},
        {"key": "biggest", "type": "rollup", "label": "Biggest", "form": "deal", "link": "customer", "agg": "max",
         "field": "amount"},
        {"key": "last_close", "type": "rollup", "label": "Last close", "form": "deal", "link": "customer",
         "agg": "max", "field": "close"},
        {"key": "mentions", "type": "rollup", "label": "Mentions", "form": "note", "link": "about", "agg": "count"},
        {"key": "label", "type": "formula", "label": "Label", "expr": 'name & " (" & deals & ")"'}]},
    {"key": "deal", "name": "Deal", "title_field": "title", "fields": [
        {"key": "title", "type": "text", "label": "Title"},
        {"key": "customer", "type": "link", "form": "customer", "label": "Customer"},
        {"key": "amount", "type": "number", "label": "Amount", "precision": 2},
        {"key": "stage", "type": "select", "label": "Stage", "options": ["open", "won", "lost"]},
        {"key": "close", "type": "date", "label": "Close"},
        {"key": "tier", "type": "lookup", "label": "Customer tier", "link": "customer", "field": "tier"},
        {"key": "customer_won", "type": "lookup", "label": "Customer won", "link": "customer", "field": "won_total"},
        {"key": "score", "type": "formula", "label": "Score", "expr": 'IF(tier = "A", amount * 2, amount)'}]},
    {"key": "note", "name": "Note", "fields": [
        {"key": "text", "type": "text", "label": "Text"},
        {"key": "about", "type": "link", "form": "customer", "multiple": True, "label": "About"}]}]}


@pytest.fixture
def rt(make, any_db):
    return make.install(copy.deepcopy(DEFINITION))


def new(rt, form, **fields):
    return records.create(SYSTEM, rt, form, fields)["id"]


def get(rt, form, rid):
    return records.get(SYSTEM, rt, form, rid, include_deleted=True)["fields"]


def errors_of(defn) -> dict:
    with pytest.raises(DefinitionError) as info:
        compile_app(defn)
    return {e["pointer"]: e["message"] for e in info.value.errors}


def test_publish_refuses_what_cannot_be_computed_and_spells_out_cycles():
    bad = copy.deepcopy(DEFINITION)
    deal = bad["forms"][1]["fields"]
    deal[5]["link"] = "title"
    deal[6]["field"] = "nope"
    cust = bad["forms"][0]["fields"]
    cust[2]["field"] = "title"  # sum of text
    cust[3]["link"] = "amount"
    errs = errors_of(bad)
    assert errs["/forms/1/fields/5/link"] == '"title" is not a link field of this form'
    assert errs["/forms/1/fields/6/field"] == '"nope" is not a field of form "customer"'
    assert errs["/forms/0/fields/2/field"] == '"title" gives text values; sum needs number values'
    assert errs["/forms/0/fields/3/link"] == '"amount" is not a link field of form "deal" pointing at form "customer"'
    cyclic = copy.deepcopy(DEFINITION)
    cyclic["forms"][0]["fields"][2]["field"] = "customer_won_x"
    cyclic["forms"][1]["fields"].append({"key": "customer_won_x", "type": "formula", "label": "x",
                                         "expr": "customer_won + 1"})
    [message] = [m for m in errors_of(cyclic).values() if m.startswith("fields depend on each other in a cycle: ")]
    assert "customer.won_total" in message and "deal.customer_won" in message


def test_a_lookup_follows_its_link_and_its_source(rt):
    acme, other = new(rt, "customer", name="Acme", tier="A"), new(rt, "customer", name="Other", tier="C")
    d = new(rt, "deal", title="D", customer=acme, amount=10)
    assert (get(rt, "deal", d)["tier"], get(rt, "deal", d)["score"]) == ("A", 20)
    records.update(SYSTEM, rt, "deal", d, {"customer": other})
    assert (get(rt, "deal", d)["tier"], get(rt, "deal", d)["score"]) == ("C", 10)
    records.update(SYSTEM, rt, "customer", other, {"tier": "A"})
    assert (get(rt, "deal", d)["tier"], get(rt, "deal", d)["score"]) == ("A", 20)
    # A stored value: the list filters on it, and the change is a revision and an event like any.
    items, _ = query.list_records(SYSTEM, rt, "deal", condition={"field": "tier", "op": "eq", "value": "A"})
    assert [i["id"] for i in items] == [d]
    rev = db.session.execute(sa.select(RecordRevision).where(RecordRevision.form_key == "deal")
                             .order_by(RecordRevision.id.desc())).scalars().first()
    assert rev.changes["tier"] == ["C", "A"] and rev.actor_id is None
    assert db.session.execute(sa.select(sa.func.count()).select_from(OutboxEvent).where(
        OutboxEvent.record_id == d, OutboxEvent.form_key == "deal")).scalar() == 3  # created, relinked, tier


def test_rollups_follow_creates_changes_relinks_deletes_and_restores(rt):
    acme, other = new(rt, "customer", name="Acme"), new(rt, "customer", name="Other")
    assert (get(rt, "customer", acme)["won_total"], get(rt, "customer", acme)["deals"]) == (0, 0)
    d1 = new(rt, "deal", customer=acme, amount=100, stage="won", close="2026-03-01")
    d2 = new(rt, "deal", customer=acme, amount=50, stage="open", close="2026-05-01")
    c = get(rt, "customer", acme)
    assert (c["won_total"], c["deals"], c["biggest"], str(c["last_close"]), c["label"]) == \
        (100, 2, 100, "2026-05-01", "Acme (2)")
    records.update(SYSTEM, rt, "deal", d2, {"stage": "won", "amount": 70})
    assert get(rt, "customer", acme)["won_total"] == 170
    assert get(rt, "deal", d1)["customer_won"] == 170  # a lookup of a rollup follows it
    records.update(SYSTEM, rt, "deal", d2, {"customer": other})
    assert (get(rt, "customer", acme)["won_total"], get(rt, "customer", other)["won_total"]) == (100, 70)
    records.delete(SYSTEM, rt, "deal", d1)
    assert (get(rt, "customer", acme)["won_total"], get(rt, "customer", acme)["deals"]) == (0, 0)
    assert get(rt, "customer", acme)["biggest"] is None
    records.restore(SYSTEM, rt, "deal", d1)
    assert (get(rt, "customer", acme)["won_total"], get(rt, "customer", acme)["label"]) == (100, "Acme (1)")


def test_a_rollup_over_a_multiple_link_and_a_bulk_create(rt):
    a, b = new(rt, "customer", name="A"), new(rt, "customer", name="B")
    records.bulk_create(SYSTEM, rt, "note", [{"text": str(i), "about": [a, b] if i % 2 else [a]} for i in range(9)])
    assert (get(rt, "customer", a)["mentions"], get(rt, "customer", b)["mentions"]) == (9, 4)
    records.bulk_create(SYSTEM, rt, "deal", [{"customer": a, "amount": 1, "stage": "won"} for _ in range(5)])
    assert (get(rt, "customer", a)["won_total"], get(rt, "customer", a)["deals"]) == (5, 5)
