"""The endpoint the form page asks while someone fills a linked field: what the form links,
the value saving would fill, and nothing for those who may not fill the form."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from formloom.platform.actor import Actor
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import Role
from formloom.runtime.records import service

from support_acl import login

APP = "shop_live"
URL = f"/a/{APP}/f/quote/linkage"
BY_ID = {"field": "$id", "op": "eq", "value": {"var": "record.customer"}}
DEFINITION = {
    "key": APP, "name": "Shop", "roles": [{"key": "rep", "name": "Rep"}],
    "forms": [
        {"key": "customer", "name": "Customer", "title_field": "name", "fields": [
            {"key": "name", "type": "text", "label": "Name"},
            {"key": "region", "type": "select", "label": "Region", "options": ["north", "south"]},
            {"key": "discount", "type": "number", "label": "Discount"}]},
        {"key": "product", "name": "Product", "title_field": "name", "fields": [
            {"key": "name", "type": "text", "label": "Name"},
            {"key": "price", "type": "number", "label": "Price", "precision": 2}]},
        {"key": "quote", "name": "Quote", "fields": [
            {"key": "customer", "type": "link", "form": "customer", "label": "Customer"},
            {"key": "region", "type": "select", "label": "Region", "options": ["north", "south"],
             "linkage": {"form": "customer", "where": BY_ID, "field": "region"}},
            {"key": "discount", "type": "number", "label": "Discount",
             "linkage": {"form": "customer", "where": BY_ID, "field": "discount", "overwrite": True}},
            {"key": "lines", "type": "subform", "label": "Lines", "fields": [
                {"key": "product", "type": "link", "form": "product", "label": "Product"},
                {"key": "unit_price", "type": "number", "label": "Unit price", "precision": 2, "linkage": {
                    "form": "product", "where": {"field": "$id", "op": "eq", "value": {"var": "record.product"}},
                    "field": "price", "overwrite": True}}]}]}],
    # The rep may not open customers or products, and may not see the quote's discount.
    "permissions": [{"form": "quote", "to": {"role": "rep"}, "preset": "add_view_all",
                     "fields": {"hidden": ["discount"]}}],
}


@pytest.fixture
def shop(make):
    owner = make.user("Olga Owner")
    rep = make.user("Rex Rep")
    with write_transaction():
        role = Role(key="rep", name="Rep")
        db.session.add(role)
        db.session.merge(rep).roles = [role]
    rt = make.install(DEFINITION, owner=owner, members=[rep])
    actor = Actor.from_user(owner)
    acme = service.create(actor, rt, "customer", {"name": "Acme", "region": "south", "discount": 5})["id"]
    pen = service.create(actor, rt, "product", {"name": "Pen", "price": 2.5})["id"]
    return {"owner": owner, "rep": rep, "acme": acme, "pen": pen}


def test_the_page_learns_which_fields_are_linked_and_what_they_read(app, shop):
    body = login(app, shop["owner"]).get(URL).json
    assert body["fields"] == [
        {"field": "region", "subform": None, "key": "region", "reads": ["customer"], "overwrite": False,
         "note": "Filled in from Customer."},
        {"field": "discount", "subform": None, "key": "discount", "reads": ["customer"], "overwrite": True,
         "note": "Filled in from Customer; you may change it."},
        {"field": "lines.unit_price", "subform": "lines", "key": "unit_price", "reads": ["product"],
         "overwrite": True, "note": "Filled in from Product; you may change it."}]


def test_the_endpoint_answers_what_saving_would_fill(app, shop):
    client = login(app, shop["owner"])
    assert client.get(URL, query_string={"field": "region", "customer": shop["acme"]}).json == {"value": "south"}
    assert client.get(URL, query_string={"field": "lines.unit_price", "product": shop["pen"]}).json == {"value": 2.5}
    # no match, nothing chosen, or half-typed input: empty
    assert client.get(URL, query_string={"field": "region", "customer": 999}).json == {"value": None}
    assert client.get(URL, query_string={"field": "region"}).json == {"value": None}
    assert client.get(URL, query_string={"field": "region", "customer": "ab"}).json == {"value": None}
    assert client.get(URL, query_string={"field": "customer"}).status_code == 404


def test_a_member_gets_reference_values_but_not_fields_hidden_from_them(app, shop):
    client = login(app, shop["rep"])
    assert [f["field"] for f in client.get(URL).json["fields"]] == ["region", "lines.unit_price"]
    # the customer form is closed to the rep, yet the linked region is reference data
    assert client.get(URL, query_string={"field": "region", "customer": shop["acme"]}).json == {"value": "south"}
    assert client.get(URL, query_string={"field": "discount", "customer": shop["acme"]}).status_code == 404


def test_a_user_without_access_to_the_app_gets_404(app, shop, make):
    stranger = make.user("Sam Stranger")
    client = login(app, stranger)
    assert client.get(URL).status_code == 404
    assert client.get(URL, query_string={"field": "region", "customer": shop["acme"]}).status_code == 404
    assert app.test_client().get(URL).status_code in (302, 401)  # signed out: to the sign-in page


# -- on an approver's task page -------------------------------------------------------------------

CHECK = {"key": "check", "form": "quote", "name": "Quote check", "steps": [
    {"type": "approval", "key": "review", "name": "Review", "assignees": {"users": []},
     "fields": {"editable": ["customer", "discount"]}}]}


@pytest.fixture
def approval(make):
    """A quote in approval: Mia reviews it and may change its customer and discount, although
    her grants give her nothing on quotes."""
    import copy

    owner, rep, mia = make.user("Olga Owner"), make.user("Rex Rep"), make.user("Mia Manager")
    with write_transaction():
        role = Role(key="rep", name="Rep")
        db.session.add(role)
        db.session.merge(rep).roles = [role]
    defn = copy.deepcopy(DEFINITION)
    flow = copy.deepcopy(CHECK)
    flow["steps"][0]["assignees"] = {"users": [mia.id]}
    defn["flows"] = [flow]
    rt = make.install(defn, owner=owner, members=[rep, mia])
    acme = service.create(Actor.from_user(owner), rt, "customer", {"name": "Acme", "region": "south",
                                                                   "discount": 5})["id"]
    service.create(Actor.from_user(rep), rt, "quote", {"customer": acme})
    from formloom.platform.models import FlowTask

    task = db.session.execute(sa.select(FlowTask).where(FlowTask.assignee_id == mia.id)).scalar_one()
    return {"owner": owner, "rep": rep, "mia": mia, "acme": acme, "task": task.id}


def test_an_approver_gets_linkage_for_the_fields_open_to_her_at_the_step(app, approval):
    mia = login(app, approval["mia"])
    page = mia.get(f"/tasks/{approval['task']}").get_data(as_text=True)
    assert f'data-linkage-url="{URL}?_task={approval["task"]}"' in page
    assert mia.get(URL).status_code == 404  # without her task: nothing, as before
    body = mia.get(f"{URL}?_task={approval['task']}").json
    assert [f["field"] for f in body["fields"]] == ["discount"]  # region is not hers to change
    got = mia.get(f"{URL}?_task={approval['task']}&field=discount&customer={approval['acme']}").json
    assert got == {"value": 5}
    assert mia.get(f"{URL}?_task={approval['task']}&field=region&customer={approval['acme']}").status_code == 404


def test_someone_elses_task_or_a_decided_one_gives_nothing(app, approval):
    rep = login(app, approval["rep"])
    assert rep.get(f"{URL}?_task={approval['task']}").status_code == 404
    from formloom.runtime.flows import service as flows

    flows.act(Actor.from_user(approval["mia"]), approval["task"], "approve")
    assert login(app, approval["mia"]).get(f"{URL}?_task={approval['task']}").status_code == 404
