"""An organisation and an app with an approval flow, for the flow tests.

    Company (head: Dora, director)
    └── Sales (head: Max, manager): Rita (rep), Sam (rep)
    Fay: finance (role "finance"); Ann: the app's owner and administrator.

The "quote" form's flow `quote_approval`: discounts up to 10 % need nobody; above, the
submitter's manager approves (may edit `notes`, does not see `cost`); then the director
(a department head), then a copy to the record's `owner`.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

from formloom.platform.actor import Actor
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import Department, Role, User

APP = "deals"
QUOTE_FIELDS = [
    {"key": "title", "type": "text", "label": "Title", "required": True},
    {"key": "amount", "type": "number", "label": "Amount", "precision": 2},
    {"key": "discount", "type": "number", "label": "Discount %", "min": 0, "max": 100},
    {"key": "notes", "type": "textarea", "label": "Notes"},
    {"key": "cost", "type": "number", "label": "Cost"},
    {"key": "owner", "type": "user", "label": "Owner"},
    {"key": "reviewer", "type": "user", "label": "Reviewer"},
    {"key": "valid_until", "type": "date", "label": "Valid until"},
    {"key": "stage", "type": "select", "label": "Stage", "options": ["draft", "sent", "won"]},
]
FLOW = {"key": "quote_approval", "form": "quote", "name": "Quote approval",
        "steps": [
            {"type": "branch", "cases": [{"name": "Small discount",
                                          "when": {"field": "discount", "op": "lte", "value": 10}, "steps": []}],
             "default": [{"type": "approval", "key": "manager", "name": "Manager",
                          "assignees": {"manager_of": "submitter"},
                          "fields": {"editable": ["notes"], "hidden": ["cost"]}}]},
            {"type": "approval", "key": "director", "name": "Director", "assignees": {"manager_of": "submitter",
                                                                                     "level": 2}},
            {"type": "cc", "assignees": {"field": "owner"}}]}


def definition(flow=None, flows=None, **extra) -> dict:
    flows = flows if flows is not None else [copy.deepcopy(flow or FLOW)]
    return {"key": APP, "name": "Deals", "forms": [
        {"key": "quote", "name": "Quote", "title_field": "title", "owner_field": "owner", "fields": QUOTE_FIELDS},
        {"key": "order", "name": "Order", "title_field": "ref",
         "fields": [{"key": "ref", "type": "text", "label": "Ref"}, {"key": "amount", "type": "number",
                                                                       "label": "Amount"}]}],
        "flows": flows, **extra}


@dataclass
class Org:
    ann: User
    dora: User
    max: User
    rita: User
    sam: User
    fay: User

    def actor(self, name: str) -> Actor:
        return Actor.from_user(db.session.get(User, getattr(self, name).id))


def build_org(make) -> Org:
    ann, dora, max_, rita, sam, fay = (make.user(n) for n in ("Ann", "Dora", "Max", "Rita", "Sam", "Fay"))
    with write_transaction():
        company = Department(name="Company", head_id=dora.id)
        db.session.add(company)
        db.session.flush()
        sales = Department(name="Sales", parent_id=company.id, head_id=max_.id)
        db.session.add(sales)
        db.session.flush()
        for user, dept in ((dora, company), (max_, sales), (rita, sales), (sam, sales), (fay, company)):
            db.session.get(User, user.id).department_id = dept.id
        finance = Role(key="finance", name="Finance")
        db.session.add(finance)
        db.session.get(User, fay.id).roles = [finance]
    return Org(*(db.session.get(User, u.id) for u in (ann, dora, max_, rita, sam, fay)))


def install(make, org: Org, defn: dict | None = None):
    """The app, owned by Ann, with the whole organisation as members."""
    return make.install(defn or definition(), owner=org.ann, members=[org.dora, org.max, org.rita, org.sam, org.fay])


def app_definition(key: str, flow: dict) -> dict:
    """The deals app under another key, with `flow` on its quote form (several apps side by side)."""
    return {**definition(flow), "key": key, "name": f"Deals {key}"}


def parallel_flow(org: Org) -> dict:
    """Finance and the sales line (manager, then director) side by side, then Ann."""
    return {"key": "quote_parallel", "form": "quote", "name": "Quote, in parallel", "steps": [
        {"type": "parallel", "cases": [
            {"name": "Finance", "steps": [{"type": "approval", "key": "fin", "assignees": {"role": "finance"}}]},
            {"name": "Sales", "steps": [
                {"type": "approval", "key": "mgr", "assignees": {"manager_of": "submitter"}},
                {"type": "approval", "key": "dir", "assignees": {"manager_of": "submitter", "level": 2}}]}]},
        {"type": "approval", "key": "final", "assignees": {"users": [org.ann.id]}}]}


def staged_flow(org: Org) -> dict:
    """A board in turn (Max, then Dora), a panel where all must approve (Fay and Sam), then
    a desk where either Rita or Ann is enough."""
    return {"key": "quote_staged", "form": "quote", "name": "Quote, in stages", "steps": [
        {"type": "approval", "key": "board", "mode": "sequential", "assignees": {"users": [org.max.id, org.dora.id]}},
        {"type": "approval", "key": "panel", "mode": "all", "assignees": {"users": [org.fay.id, org.sam.id]},
         "fields": {"editable": ["amount"]}},
        {"type": "approval", "key": "desk", "mode": "any", "assignees": {"users": [org.rita.id, org.ann.id]}}]}
