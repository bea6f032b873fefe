"""Data linkage: fields filled from another form by a condition, checked at publish, filled
on every write (API, bulk, subform rows), and overwritable only where the definition says."""
from __future__ import annotations

import copy

import pytest

from formloom.platform.actor import Actor
from formloom.runtime.exceptions import DefinitionError, ValidationFailed
from formloom.runtime.records import service as records
from formloom.runtime.schema import compile_app

SYSTEM = Actor.system()
BY_ID = {"field": "$id", "op": "eq", "value": {"var": "record.customer"}}
DEFINITION = {"key": "shop", "name": "Shop", "forms": [
    {"key": "customer", "name": "Customer", "title_field": "name", "fields": [
        {"key": "name", "type": "text", "label": "Name"},
        {"key": "region", "type": "select", "label": "Region", "options": ["north", "south"]},
        {"key": "discount", "type": "number", "label": "Discount"}]},
    {"key": "product", "name": "Product", "title_field": "name", "fields": [
        {"key": "name", "type": "text", "label": "Name"},
        {"key": "code", "type": "text", "label": "Code"},
        {"key": "price", "type": "number", "label": "Price", "precision": 2}]},
    {"key": "quote", "name": "Quote", "fields": [
        {"key": "customer", "type": "link", "form": "customer", "label": "Customer"},
        {"key": "region", "type": "select", "label": "Region", "options": ["north", "south"],
         "linkage": {"form": "customer", "where": BY_ID, "field": "region"}},
        {"key": "discount", "type": "number", "label": "Discount",
         "linkage": {"form": "customer", "where": BY_ID, "field": "discount", "overwrite": True}},
        {"key": "sku", "type": "text", "label": "SKU"},
        {"key": "sku_price", "type": "number", "label": "SKU price", "linkage": {
            "form": "product", "where": {"field": "code", "op": "eq", "value": {"var": "record.sku"}},
            "field": "price"}},
        {"key": "lines", "type": "subform", "label": "Lines", "fields": [
            {"key": "product", "type": "link", "form": "product", "label": "Product"},
            {"key": "unit_price", "type": "number", "label": "Unit price", "precision": 2, "linkage": {
                "form": "product", "where": {"field": "$id", "op": "eq", "value": {"var": "record.product"}},
                "field": "price", "overwrite": True}},
            {"key": "qty", "type": "number", "label": "Qty"},
            {"key": "amount", "type": "formula", "label": "Amount", "expr": "unit_price * qty"}]}]}]}


@pytest.fixture
def rt(make, any_db):
    return make.install(copy.deepcopy(DEFINITION))


def new(rt, form, **fields):
    return records.create(SYSTEM, rt, form, fields)


def errors_of(defn) -> dict:
    with pytest.raises(DefinitionError) as info:
        compile_app(defn)
    return {e["pointer"]: e["message"] for e in info.value.errors}


def quote_field(defn, key):
    return next(f for f in defn["forms"][2]["fields"] if f["key"] == key)


def test_publish_refuses_linkages_that_cannot_be_filled():
    bad = copy.deepcopy(DEFINITION)
    quote_field(bad, "region")["linkage"]["form"] = "supplier"
    quote_field(bad, "discount")["linkage"]["field"] = "name"  # text into a number
    quote_field(bad, "sku_price")["linkage"]["where"] = {"field": "code", "op": "eq", "value": {"var": "record.nope"}}
    quote_field(bad, "sku")["linkage"] = {"form": "product", "where": {}, "field": "nope", "colour": 1}
    line = quote_field(bad, "lines")["fields"]
    # record. means the row: the quote's own customer is not a column of a line
    line[1]["linkage"]["where"] = {"field": "$id", "op": "eq", "value": {"var": "record.customer"}}
    line[3]["linkage"] = {"form": "product", "where": {}, "field": "price"}
    quote_field(bad, "lines")["linkage"] = {"form": "product", "where": {}, "field": "price"}
    errs = errors_of(bad)
    assert errs["/forms/2/fields/1/linkage/form"] == 'form "supplier" is not a form of this app'
    assert errs["/forms/2/fields/2/linkage/field"] == '"name" gives text values; this number field holds number'
    assert errs["/forms/2/fields/4/linkage/where/value/var"] == 'unknown field "nope" in variable "record.nope"'
    assert errs["/forms/2/fields/3/linkage/colour"].startswith('unknown setting "colour"')
    assert errs["/forms/2/fields/5/fields/1/linkage/where/value/var"] == (
        'unknown field "customer" in variable "record.customer"')
    assert errs["/forms/2/fields/5/fields/3/linkage"] == (
        "a formula field is filled by the system and cannot take a linked value")
    assert errs["/forms/2/fields/5/linkage"] == (
        "a subform holds rows; linkage fills a field with one value (put it on a column)")
    compile_app(copy.deepcopy(DEFINITION))  # the good definition publishes


def test_create_fills_linked_fields_and_refuses_nothing_the_user_may_not_change(rt):
    north = new(rt, "customer", name="Acme", region="north", discount=7)
    quote = new(rt, "quote", customer=north["id"], region="south")
    # overwrite false: the linked value wins over what was sent
    assert quote["fields"]["region"] == "north"
    assert quote["fields"]["discount"] == 7
    bare = new(rt, "quote")
    assert bare["fields"]["region"] is None and bare["fields"]["discount"] is None


def test_overwrite_true_keeps_a_typed_value_until_the_condition_moves(rt):
    acme = new(rt, "customer", name="Acme", region="north", discount=7)
    bolt = new(rt, "customer", name="Bolt", region="south", discount=3)
    quote = new(rt, "quote", customer=acme["id"], discount=10)
    assert quote["fields"]["discount"] == 10
    kept = records.update(SYSTEM, rt, "quote", quote["id"], {"sku": "X"})
    assert kept["fields"]["discount"] == 10
    moved = records.update(SYSTEM, rt, "quote", quote["id"], {"customer": bolt["id"]})
    assert moved["fields"]["discount"] == 3 and moved["fields"]["region"] == "south"
    typed = records.update(SYSTEM, rt, "quote", quote["id"], {"customer": acme["id"], "discount": 1})
    assert typed["fields"]["discount"] == 1 and typed["fields"]["region"] == "north"


def test_subform_rows_fill_from_their_own_product(rt):
    pen = new(rt, "product", name="Pen", code="P1", price=2.5)
    ink = new(rt, "product", name="Ink", code="I1", price=4)
    quote = new(rt, "quote", lines=[{"product": pen["id"], "qty": 2}, {"product": ink["id"], "qty": 1},
                                    {"product": ink["id"], "qty": 1, "unit_price": 3.5}])
    rows = quote["fields"]["lines"]
    assert [r["unit_price"] for r in rows] == [2.5, 4, 3.5]
    assert [r["amount"] for r in rows] == [5, 4, 3.5]
    kept = [{k: v for k, v in r.items() if k != "amount"} for r in rows[1:]]
    again = records.update(SYSTEM, rt, "quote", quote["id"], {"lines": [{"product": ink["id"], "qty": 3}, *kept]})
    assert [r["unit_price"] for r in again["fields"]["lines"]] == [4, 4, 3.5]


def test_the_first_matching_record_by_id_gives_the_value_and_no_match_leaves_it_empty(rt):
    new(rt, "product", name="Old", code="P1", price=1)
    new(rt, "product", name="New", code="P1", price=9)
    assert new(rt, "quote", sku="P1")["fields"]["sku_price"] == 1
    assert new(rt, "quote", sku="none", sku_price=5)["fields"]["sku_price"] is None


def test_bulk_create_fills_every_record(rt):
    a = new(rt, "customer", name="A", region="north", discount=1)
    b = new(rt, "customer", name="B", region="south", discount=2)
    pen = new(rt, "product", name="Pen", code="P1", price=2.5)
    ids = records.bulk_create(SYSTEM, rt, "quote", [
        {"customer": a["id"], "lines": [{"product": pen["id"], "qty": 1}]},
        {"customer": b["id"]}, {"customer": a["id"], "discount": 50}])
    got = [records.get(SYSTEM, rt, "quote", i)["fields"] for i in ids]
    assert [(g["region"], g["discount"]) for g in got] == [("north", 1), ("south", 2), ("north", 50)]
    assert got[0]["lines"][0]["unit_price"] == 2.5


def test_a_linked_value_the_field_cannot_take_is_a_clear_error(rt, make):
    defn = copy.deepcopy(DEFINITION)
    defn["key"] = "shop2"
    quote_field(defn, "region")["options"] = ["east"]
    rt2 = make.install(defn)
    north = new(rt2, "customer", name="Acme", region="north")
    with pytest.raises(ValidationFailed) as info:
        new(rt2, "quote", customer=north["id"])
    assert info.value.errors[0]["field"] == "region"
    assert info.value.errors[0]["message"].startswith('the linked value from "customer"')


def test_api_writes_get_the_linked_values(make, api_as, rt):
    owner = make.user("Seller")
    make_rt = make.install({**copy.deepcopy(DEFINITION), "key": "shop_api"}, owner=owner)
    api = api_as(owner)
    base = f"/api/v1/apps/{make_rt.key}/forms"
    cust = api.post(f"{base}/customer/records", json={"fields": {"name": "Acme", "region": "south", "discount": 4}})
    assert cust.status_code == 201, cust.json
    resp = api.post(f"{base}/quote/records", json={"fields": {"customer": cust.json["id"], "region": "north"}})
    assert resp.status_code == 201, resp.json
    assert resp.json["fields"]["region"] == "south" and resp.json["fields"]["discount"] == 4


def test_a_client_sending_back_a_read_only_linked_field_unchanged_is_not_refused(make):
    defn = copy.deepcopy(DEFINITION)
    defn["permissions"] = [{"form": "quote", "to": {"members": True}, "preset": "manage_all",
                            "fields": {"readonly": ["region"]}},
                           {"form": "customer", "to": {"members": True}, "preset": "view_all"}]
    owner, rep = make.user("Owner"), make.user("Rep")
    rt = make.install(defn, owner=owner, members=[rep])
    north = new(rt, "customer", name="N", region="north")["id"]
    south = new(rt, "customer", name="S", region="south")["id"]
    q = records.create(make.actor(rep), rt, "quote", {"customer": north})
    assert q["fields"]["region"] == "north"
    # The whole record back, the read-only region as it was, the customer changed: the fill moves region.
    after = records.update(make.actor(rep), rt, "quote", q["id"], {"customer": south, "region": "north"})
    assert after["fields"]["region"] == "south"
    # Another value for it does not stick either: the field holds the linked value.
    assert records.update(make.actor(rep), rt, "quote", q["id"], {"region": "north"})["fields"]["region"] == "south"


def test_a_link_field_picks_the_matching_record_itself_with_id(make):
    defn = copy.deepcopy(DEFINITION)
    defn["forms"][2]["fields"].append({"key": "price_list", "type": "link", "form": "product", "label": "Price list",
                                       "linkage": {"form": "product", "field": "$id", "where": {
                                           "field": "code", "op": "eq", "value": {"var": "record.sku"}}}})
    rt = make.install(defn)
    new(rt, "product", name="Other", code="P2", price=1)
    wanted = new(rt, "product", name="Wanted", code="P1", price=9)
    quote = new(rt, "quote", sku="P1")
    assert quote["fields"]["price_list"] == wanted["id"]
    moved = records.update(SYSTEM, rt, "quote", quote["id"], {"sku": "nothing"})
    assert moved["fields"]["price_list"] is None  # follows the condition, like any linked field
    wrong = copy.deepcopy(DEFINITION)
    quote_field(wrong, "sku")["linkage"] = {"form": "product", "field": "$id", "where": BY_ID}
    assert errors_of(wrong)["/forms/2/fields/3/linkage/field"] == \
        '"$id" gives a record of form "product"; only a link to that form can hold it'
