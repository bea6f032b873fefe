"""An app with lookups and rollups for the relations pages and API tests, and helpers to
corrupt a value or fake a refresh in progress."""
from __future__ import annotations

import sqlalchemy as sa

from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import RelationPending, RelationRefresh
from formloom.runtime.records import service as records

SYSTEM = Actor.system()
KEY = "crm"
WON = {"field": "stage", "op": "eq", "value": "won"}
DEFINITION = {"key": KEY, "name": "CRM", "forms": [
    {"key": "customer", "name": "Customer", "title_field": "name", "fields": [
        {"key": "name", "type": "text", "label": "Name"},
        {"key": "tier", "type": "select", "label": "Tier", "options": ["A", "B", "C"]},
        {"key": "won_total", "type": "rollup", "label": "Won total", "form": "deal", "link": "customer",
         "agg": "sum", "field": "amount", "where": WON},
        {"key": "deals", "type": "rollup", "label": "Deals", "form": "deal", "link": "customer", "agg": "count"}]},
    {"key": "deal", "name": "Deal", "title_field": "title", "fields": [
        {"key": "title", "type": "text", "label": "Title"},
        {"key": "customer", "type": "link", "form": "customer", "label": "Customer"},
        {"key": "amount", "type": "number", "label": "Amount", "precision": 2},
        {"key": "stage", "type": "select", "label": "Stage", "options": ["open", "won", "lost"]},
        {"key": "tier", "type": "lookup", "label": "Customer tier", "link": "customer", "field": "tier"}]},
    {"key": "note", "name": "Note", "fields": [{"key": "text", "type": "text", "label": "Text"}]}]}

def sales(rt):
    """A customer with a won and an open deal."""
    acme = records.create(SYSTEM, rt, "customer", {"name": "Acme", "tier": "A"})["id"]
    records.create(SYSTEM, rt, "deal", {"title": "Big", "customer": acme, "amount": 100, "stage": "won"})
    records.create(SYSTEM, rt, "deal", {"title": "Small", "customer": acme, "amount": 5, "stage": "open"})
    db.session.commit()
    return acme


def won_total(rt, rid):
    db.session.rollback()
    return records.get(SYSTEM, rt, "customer", rid)["fields"]["won_total"]


def corrupt(rt, rid, value=999):
    """Write a wrong rollup value behind the app's back."""
    ft = rt.form_tables("customer")
    db.session.execute(sa.update(ft.table).where(ft.table.c.id == rid).values({ft.columns["won_total"]: value}))
    db.session.commit()
    assert won_total(rt, rid) == value


def in_progress(rt, ids, done=0) -> int:
    """A refresh waiting on `ids` (of which `done` are through), with no job to run it."""
    refresh = RelationRefresh(app_id=rt.app_id, form_key="customer", cause={"kind": "source", "form": "deal"},
                              status="running", total=len(ids), done=done, changed=0)
    db.session.add(refresh)
    db.session.flush()
    db.session.execute(sa.insert(RelationPending), [
        {"refresh_id": refresh.id, "record_id": rid, "app_id": rt.app_id, "form_key": "customer"}
        for rid in ids[done:]])
    db.session.commit()
    return refresh.id


# --- the page ---------------------------------------------------------------------------------
