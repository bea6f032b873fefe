"""A field computed from a hidden field is hidden with it (docs/definition-format.md, Permissions).

A shop: products with a cost hidden from reps and a margin computed from it; deals with a
discount hidden from reps, the product's cost looked up (and a line cost computed from that,
and a cost copied by data linkage), and on products a rollup of the deals' discounts. Each
test follows one way a value leaves the app and looks for the hidden values in what a rep
gets; the buyer, who may see everything, gets them (so each test can fail).
"""
from __future__ import annotations

import csv
import html
import io
import json
import re

import pytest
import sqlalchemy as sa
from openapi_spec_validator import validate

from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import FlowTask, Role
from formloom.runtime.records import service
from formloom.runtime.schema import validate_definition

from support_formloom import Api, browser, problem

APP = "shop"
API = f"/api/v1/apps/{APP}/forms"
PAGES = f"/a/{APP}/f"
PRODUCT = {"key": "product", "name": "Product", "title_field": "name", "fields": [
    {"key": "name", "type": "text", "label": "Name", "required": True},
    {"key": "price", "type": "number", "label": "Price"},
    {"key": "cost", "type": "number", "label": "Cost"},
    {"key": "margin", "type": "formula", "label": "Margin", "expr": "price - cost"},
    {"key": "discounts", "type": "rollup", "label": "Discounts given", "form": "deal", "link": "product",
     "agg": "sum", "field": "discount"}]}
DEAL = {"key": "deal", "name": "Deal", "title_field": "title", "fields": [
    {"key": "title", "type": "text", "label": "Title", "required": True},
    {"key": "product", "type": "link", "form": "product", "label": "Product"},
    {"key": "qty", "type": "number", "label": "Quantity"},
    {"key": "discount", "type": "number", "label": "Discount"},
    {"key": "product_cost", "type": "lookup", "label": "Product cost", "link": "product", "field": "cost"},
    {"key": "line_cost", "type": "formula", "label": "Line cost", "expr": "qty * product_cost"},
    {"key": "cost_copy", "type": "number", "label": "Cost when sold",
     "linkage": {"form": "product", "field": "cost",
                 "where": {"field": "$id", "op": "eq", "value": {"var": "record.product"}}}}]}
GRANTS = [
    {"form": "product", "to": {"role": "rep"}, "preset": "view_all", "fields": {"hidden": ["cost"]}},
    {"form": "product", "to": {"role": "buyer"}, "preset": "manage_all"},
    {"form": "product", "to": {"role": "checker"}, "preset": "view_all"},
    {"form": "deal", "to": {"role": "rep"}, "preset": "manage_all", "fields": {"hidden": ["discount"]}},
    {"form": "deal", "to": {"role": "buyer"}, "preset": "manage_all"},
    # Neither opens products; a grant that allows nothing keeps the cost from support.
    {"form": "deal", "to": {"role": "intern"}, "preset": "view_all"},
    {"form": "deal", "to": {"role": "support"}, "preset": "view_all"},
    {"form": "product", "to": {"role": "support"}, "actions": [], "fields": {"hidden": ["cost"]}},
]
ROLES = [{"key": k, "name": k.title()} for k in ("rep", "buyer", "checker", "intern", "support")]
# cost 13579, margin 90001 - 13579 = 76422, discount 24680, line cost 3 * 13579 = 40737
SECRETS = ("13579", "13,579", "76422", "76,422", "24680", "24,680", "40737", "40,737")
HIDDEN = {"product": {"cost", "margin", "discounts"},
          "deal": {"discount", "product_cost", "line_cost", "cost_copy"}}


def shop_definition(flows=()) -> dict:
    return {"key": APP, "name": "Shop", "roles": ROLES, "forms": [PRODUCT, DEAL], "permissions": GRANTS,
            "flows": list(flows)}


class Shop:
    def __init__(self, app, make, flows=()):
        with write_transaction():
            roles = {r["key"]: Role(key=r["key"], name=r["name"]) for r in ROLES}
            db.session.add_all(roles.values())
        self.app, self.make = app, make
        self.users = {k: make.user(k.title(), roles=[roles[k]]) for k in roles}
        self.owner = make.user("Owner")
        self.rt = make.install(shop_definition(flows), owner=self.owner)
        admin = make.actor(self.owner)
        self.product = service.create(admin, self.rt, "product", {"name": "Widget", "price": 90001, "cost": 13579})["id"]
        self.deal = service.create(admin, self.rt, "deal", {"title": "Big deal", "product": self.product, "qty": 3,
                                                            "discount": 24680})["id"]
        db.session.commit()

    def api(self, who: str) -> Api:
        return Api(self.app.test_client(), self.make.token(self.users[who]))

    def web(self, who: str):
        return browser(self.app, self.users[who])


@pytest.fixture
def shop(app, make):
    return Shop(app, make)


def leaked(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def test_the_buyer_sees_what_is_computed(shop):
    """The values the other tests look for are there for someone who may see them."""
    buyer = shop.api("buyer")
    product = buyer.get(f"{API}/product/records/{shop.product}").get_json()["fields"]
    deal = buyer.get(f"{API}/deal/records/{shop.deal}").get_json()["fields"]
    assert (product["cost"], product["margin"], product["discounts"]) == (13579, 76422, 24680)
    assert (deal["product_cost"], deal["line_cost"], deal["cost_copy"]) == (13579, 40737, 13579)


def test_api_reads_and_lists_leave_out_what_is_computed_from_hidden_fields(any_db, shop):
    rep = shop.api("rep")
    for form, rid in (("product", shop.product), ("deal", shop.deal)):
        one = rep.get(f"{API}/{form}/records/{rid}")
        listed = rep.get(f"{API}/{form}/records")
        assert one.status_code == listed.status_code == 200
        assert not HIDDEN[form] & set(one.get_json()["fields"]), form
        assert not HIDDEN[form] & set(listed.get_json()["items"][0]["fields"]), form
        assert leaked(one.get_data(as_text=True) + listed.get_data(as_text=True)) == [], form


def _unknown_like(rep, form: str, key: str, **query):
    """(the answer about `key`, the answer about a field no form has), the name left out."""
    def ask(name):
        args = {k: v.replace("KEY", name) for k, v in query.items()}
        body = problem(rep.get(f"{API}/{form}/records", query_string=args), 422)
        return json.loads(json.dumps(body).replace(name, "KEY"))

    return ask(key), ask("no_such_field")


def test_lookups_read_a_form_the_reader_cannot_open_unless_a_grant_there_hides_the_field(any_db, shop):
    """Lookups and rollups are reference data, read whatever the reader may open; what a grant
    of the source form hides from someone stays hidden from them."""
    intern, support = shop.api("intern"), shop.api("support")
    assert intern.get(f"{API}/product/records/{shop.product}").status_code == 404
    assert intern.get(f"{API}/deal/records/{shop.deal}").get_json()["fields"]["product_cost"] == 13579
    assert support.get(f"{API}/product/records/{shop.product}").status_code == 404
    fields = support.get(f"{API}/deal/records/{shop.deal}").get_json()["fields"]
    assert fields["discount"] == 24680 and not {"product_cost", "line_cost", "cost_copy"} & set(fields)


@pytest.mark.parametrize("form,key", [("product", "margin"), ("product", "discounts"),
                                      ("deal", "product_cost"), ("deal", "line_cost"), ("deal", "cost_copy")])
def test_filtering_or_sorting_on_a_derived_hidden_field_reads_as_an_unknown_field(any_db, shop, form, key):
    rep = shop.api("rep")
    condition = json.dumps({"field": "KEY", "op": "gt", "value": 1})
    hidden, unknown = _unknown_like(rep, form, key, filter=condition)
    assert hidden == unknown
    nested = json.dumps({"any": [{"field": "$id", "op": "gt", "value": 0}, {"field": "KEY", "op": "is_empty"}]})
    assert _unknown_like(rep, form, key, filter=nested)[0] == _unknown_like(rep, form, key, filter=nested)[1]
    hidden, unknown = _unknown_like(rep, form, key, sort="-KEY")
    assert hidden == unknown
    # The buyer filters and sorts by it.
    buyer = shop.api("buyer")
    resp = buyer.get(f"{API}/{form}/records", query_string={"filter": condition.replace("KEY", key), "sort": "-" + key})
    assert resp.status_code == 200 and len(resp.get_json()["items"]) == 1


def test_a_directly_hidden_field_reads_as_an_unknown_field_too(shop):
    hidden, unknown = _unknown_like(shop.api("rep"), "product", "cost",
                                    filter=json.dumps({"field": "KEY", "op": "eq", "value": 13579}))
    assert hidden == unknown


def test_history_leaves_out_changes_of_derived_hidden_fields(any_db, shop):
    buyer = shop.api("buyer")
    assert buyer.patch(f"{API}/product/records/{shop.product}", json={"fields": {"cost": 13580}}).status_code == 200
    db.session.commit()
    seen = buyer.get(f"{API}/product/records/{shop.product}/history").get_json()["items"]
    assert "margin" in seen[0]["changes"]
    rep = shop.api("rep")
    for form, rid in (("product", shop.product), ("deal", shop.deal)):
        resp = rep.get(f"{API}/{form}/records/{rid}/history")
        assert resp.status_code == 200
        assert not any(HIDDEN[form] & set(r["changes"]) for r in resp.get_json()["items"]), form
        assert leaked(resp.get_data(as_text=True)) == []


def test_schema_and_openapi_list_no_field_hidden_from_the_reader(any_db, shop):
    rep, buyer = shop.api("rep"), shop.api("buyer")
    doc = rep.get("/api/v1/openapi.json").get_json()
    validate(doc)
    schemas = doc["components"]["schemas"]
    for form in ("product", "deal"):
        listed = set(rep.get(f"{API}/{form}/schema").get_json()["properties"])
        assert not HIDDEN[form] & listed, form
        name = f"Shop{form.title()}"
        assert set(schemas[f"{name}Fields"]["properties"]) == listed, form
        assert not HIDDEN[form] & set(schemas[f"{name}WriteFields"]["properties"]), form
    full = buyer.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert HIDDEN["product"] <= set(full["ShopProductFields"]["properties"])
    assert HIDDEN["deal"] <= set(full["ShopDealFields"]["properties"])


def test_pages_show_no_value_computed_from_a_hidden_field(shop):
    rep = shop.web("rep")
    pages = {
        "product page (with its related deals)": f"{PAGES}/product/r/{shop.product}",
        "deal page": f"{PAGES}/deal/r/{shop.deal}",
        "product list": f"{PAGES}/product",
        "deal list": f"{PAGES}/deal",
        "deal edit page": f"{PAGES}/deal/r/{shop.deal}/edit",
        "new deal": f"{PAGES}/deal/new",
        "printed product": f"{PAGES}/product/r/{shop.product}/print",
    }
    for what, url in pages.items():
        resp = rep.get(url)
        body = resp.get_data(as_text=True)
        assert resp.status_code == 200, what
        assert leaked(body) == [], what
        assert not any(f'name="{k}"' in body for k in HIDDEN["deal"]), what
    buyer_page = shop.web("buyer").get(f"{PAGES}/product/r/{shop.product}").get_data(as_text=True)
    assert leaked(buyer_page)


def test_the_list_page_does_not_sort_by_a_derived_hidden_field(shop):
    page = shop.web("rep").get(f"{PAGES}/deal?sort=-line_cost").get_data(as_text=True)
    assert "That sort order or page link is no longer valid" in page
    assert ">Line cost<" not in page and "sort=line_cost" not in page


def test_exports_leave_out_what_is_computed_from_hidden_fields(shop):
    resp = shop.web("rep").get(f"{PAGES}/deal/export?format=csv")
    assert resp.status_code == 200
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert not {"Discount", "Product cost", "Line cost", "Cost when sold"} & set(rows[0])
    assert leaked(resp.get_data(as_text=True)) == []
    full = shop.web("buyer").get(f"{PAGES}/deal/export?format=csv").get_data(as_text=True)
    assert "Line cost" in full and leaked(full)


def test_linkage_does_not_fill_a_value_read_from_a_hidden_field(shop):
    rep = shop.web("rep")
    offered = rep.get(f"{PAGES}/deal/linkage").get_json()["fields"]
    assert "cost_copy" not in [f["field"] for f in offered]
    assert rep.get(f"{PAGES}/deal/linkage?field=cost_copy&product={shop.product}").status_code == 404
    buyer = shop.web("buyer").get(f"{PAGES}/deal/linkage?field=cost_copy&product={shop.product}")
    assert buyer.get_json() == {"value": 13579}


def test_an_approval_step_hiding_a_field_hides_what_is_computed_from_it(any_db, app, make):
    step = {"type": "approval", "key": "check", "name": "Check", "assignees": {"role": "checker"},
            "fields": {"hidden": ["cost"]}}
    shop = Shop(app, make, flows=[{"key": "product_check", "form": "product", "name": "Check", "steps": [step]}])
    task = db.session.execute(sa.select(FlowTask.id).where(FlowTask.record_id == shop.product,
                                                           FlowTask.form_key == "product")).scalar_one()
    checker = shop.api("checker")
    seen = checker.get(f"/api/v1/tasks/{task}").get_json()["record"]["fields"]
    assert "price" in seen and not {"cost", "margin"} & set(seen)
    read = checker.get(f"{API}/product/records/{shop.product}")
    assert not {"cost", "margin"} & set(read.get_json()["fields"])
    page = shop.web("checker").get(f"/tasks/{task}").get_data(as_text=True)
    assert ">90,001<" in page  # the price, shown (grouped digits)
    assert [s for s in leaked(read.get_data(as_text=True) + page) if s.replace(",", "") in ("13579", "76422")] == []


def test_publishing_refuses_to_hide_what_a_title_is_computed_from(app):
    product = {**PRODUCT, "title_field": "margin"}
    errors = validate_definition({**shop_definition(), "forms": [product, DEAL]})
    assert {"pointer": "/permissions/0/fields/hidden",
            "message": '"margin", the title field of form "product", is computed from cost: hiding it would hide '
                       "the title, which names the records everywhere"} in errors
    deal = {**DEAL, "title_field": "product_cost"}
    errors = validate_definition({**shop_definition(), "forms": [PRODUCT, deal]})
    assert [e["pointer"] for e in errors] == ["/permissions/0/fields/hidden", "/permissions/7/fields/hidden"]
    assert '"product_cost", the title field of form "deal"' in errors[0]["message"]


@pytest.mark.parametrize("lang,rule,computed", [
    ("en", "A field computed from a hidden field (a formula, a lookup, a rollup or a linked field) is hidden",
     "Hidden with them, computed from them: Margin, Deal · Product cost, Deal · Line cost, and Deal · Cost when sold"),
    ("zh_CN", "由隐藏字段计算而来的字段（公式、查找、汇总或联动字段）",
     "随之隐藏（由其计算而来）： Margin、Deal · Product cost、Deal · Line cost和Deal · Cost when sold"),
])
def test_the_permissions_page_says_what_is_hidden_with_a_field(shop, lang, rule, computed):
    web = browser(shop.app, shop.owner)
    web.post("/language", data={"lang": lang})
    page = web.get(f"/a/{APP}/permissions").get_data(as_text=True)
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))
    assert rule in text
    assert computed in text
    assert "Product · Discounts given" in text  # the reps' deal grant hides discount
