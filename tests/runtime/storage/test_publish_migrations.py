"""Publishing a changed definition: the plan, DDL and data conversion, on both databases."""
import copy
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from formloom.builder import apps
from formloom.platform.exceptions import DefinitionError, MigrationRefused
from formloom.platform.extensions import db
from formloom.platform.models import AppVersion
from formloom.runtime.apps import get_runtime
from formloom.runtime.records import service

DATA = Path(__file__).parents[2] / "data"


def sales_mini() -> dict:
    return json.loads((DATA / "sales-mini.json").read_text("utf-8"))


def field(definition: dict, form: str, key: str) -> dict:
    f = next(f for f in definition["forms"] if f["key"] == form)
    return next(x for x in f["fields"] if x["key"] == key)


def fields_of(definition: dict, form: str) -> list:
    return next(f for f in definition["forms"] if f["key"] == form)["fields"]


@pytest.fixture
def env(any_db, app, make):
    owner = make.user("Owner", password=None)
    make.install("sales-mini", owner=owner)
    actor = make.actor(owner)
    return actor


def publish(actor, definition, **kw) -> dict:
    saved = apps.save_draft(actor, "sales_mini", definition)
    assert saved["valid"], saved["errors"]
    return apps.publish(actor, "sales_mini", **kw)


def records(actor, form):
    rt = get_runtime("sales_mini")
    from formloom.runtime.records import query

    page, _ = query.list_records(actor, rt, form, limit=500, sort="$id")
    return page


def ops(result) -> set:
    return {(s["op"], s.get("form"), s.get("field")) for s in result["plan"]}


def test_add_relabel_option_and_hide_then_bring_back(env):
    actor = env
    rt = get_runtime("sales_mini")
    acme = service.create(actor, rt, "company", {"name": "Acme", "industry": "Finance"})
    new = sales_mini()
    fields_of(new, "company").append({"key": "score", "type": "number", "label": "Score", "default": 7})
    fields_of(new, "company").append({"key": "region", "type": "select", "options": ["east", "west"],
                                      "default": "east"})
    fields_of(new, "company").append({"key": "notes", "type": "text"})
    field(new, "company", "name")["label"] = "Company name"
    field(new, "company", "tier")["options"].append({"value": "D", "label": "Dormant"})
    fields_of(new, "company").remove(field(new, "company", "industry"))
    preview = publish(actor, new, dry_run=True)
    assert preview["dry_run"] and preview["refused"] is None and get_runtime("sales_mini").version == 1
    assert all(s.get("summary") for s in preview["plan"])
    assert {"op": "add_field", "form": "company", "field": "score", "type": "number",
            "summary": 'Add field "score" (number) to "company"'} in preview["plan"]
    table = rt.form_tables("company").table.name
    columns = {c["name"] for c in sa.inspect(db.session.connection()).get_columns(table)}
    assert "f_score" not in columns and "f_industry" in columns
    done = publish(actor, new)
    assert done["version"] == 2
    assert ops(done) == ops(preview) == {
        ("add_field", "company", "score"), ("add_field", "company", "region"), ("add_field", "company", "notes"),
        ("relabel", "company", "name"), ("add_option", "company", "tier"), ("hide_field", "company", "industry")}
    [rec] = records(actor, "company")
    assert rec["fields"]["score"] == 7 and rec["fields"]["region"] == "east" and rec["fields"]["notes"] is None
    assert "industry" not in rec["fields"] and rec["fields"]["name"] == "Acme"
    rt = get_runtime("sales_mini")
    assert rt.form("company").label("name") == "Company name"
    service.update(actor, rt, "company", acme["id"], {"tier": "D"})
    # The hidden field's data stays in its table...
    table = rt.form_tables("company").table.name
    kept = db.session.execute(sa.text(f"SELECT f_industry FROM {table} WHERE id = :id"), {"id": acme["id"]}).scalar()
    assert kept == "Finance"
    # ...and comes back when the field is added again.
    back = copy.deepcopy(new)
    fields_of(back, "company").append(field(sales_mini(), "company", "industry"))
    again = publish(actor, back)
    assert ("restore_field", "company", "industry") in ops(again)
    [rec] = records(actor, "company")
    assert rec["fields"]["industry"] == "Finance" and rec["fields"]["tier"] == "D"
    numbers = db.session.execute(sa.select(AppVersion.number).order_by(AppVersion.number)).scalars().all()
    assert numbers == [1, 2, 3]


def test_type_change_converts_or_refuses_with_report(env):
    actor = env
    rt = get_runtime("sales_mini")
    acme = service.create(actor, rt, "company", {"name": "123"})
    globex = service.create(actor, rt, "company", {"name": "abc"})
    initech = service.create(actor, rt, "company", {"name": "45.5"})
    new = sales_mini()
    field(new, "company", "name").update(type="number", unique=False)
    field(new, "company", "name").pop("max_length")
    preview = publish(actor, new, dry_run=True)
    assert preview["refused"]["errors"][0]["record_id"] == globex["id"]
    with pytest.raises(MigrationRefused) as err:
        publish(actor, new)
    assert [(e["record_id"], e["value"]) for e in err.value.errors] == [(globex["id"], "abc")]
    assert err.value.errors[0]["field"] == "name" and err.value.errors[0]["message"]
    assert get_runtime("sales_mini").version == 1
    assert [r["fields"]["name"] for r in records(actor, "company")] == ["123", "abc", "45.5"]
    done = publish(actor, new, accept_loss=True)
    assert done["version"] == 2 and ("change_type", "company", "name") in ops(done)
    assert {r["id"]: r["fields"]["name"] for r in records(actor, "company")} == {
        acme["id"]: 123, globex["id"]: None, initech["id"]: 45.5}
    rt = get_runtime("sales_mini")
    ok = service.create(actor, rt, "company", {"name": "77"})
    assert ok["fields"]["name"] == 77


def test_type_change_inside_a_subform_keeps_the_values(env):
    actor = env
    rt = get_runtime("sales_mini")
    company = service.create(actor, rt, "company", {"name": "Acme"})
    deal = service.create(actor, rt, "deal", {"title": "D", "company": company["id"]})
    service.create(actor, rt, "quote", {"deal": deal["id"], "items": [{"product": "42", "qty": 2, "price": 5}]})
    new = sales_mini()
    product = field(new, "quote", "items")["fields"][0]
    product["type"] = "number"
    result = publish(actor, new)
    assert ("change_type", "quote.items", "product") in ops(result)
    [quote] = records(actor, "quote")
    assert quote["fields"]["items"][0]["product"] == 42 and quote["fields"]["total"] == 10


def test_unique_with_duplicates_is_refused_and_index_added(env, any_db):
    actor = env
    rt = get_runtime("sales_mini")
    for name, email in [("A", "x@example.com"), ("B", "x@example.com"), ("C", "y@example.com")]:
        service.create(actor, rt, "company", {"name": name, "email": email})
    new = sales_mini()
    field(new, "company", "email")["unique"] = True
    field(new, "company", "since")["indexed"] = True
    with pytest.raises(MigrationRefused) as err:
        publish(actor, new)
    assert [(e["field"], e["value"]) for e in err.value.errors] == [("email", "x@example.com")]
    assert "2" in err.value.errors[0]["message"]
    assert get_runtime("sales_mini").version == 1
    field(new, "company", "email")["unique"] = False
    done = publish(actor, new)
    assert ("add_index", "company", "since") in ops(done)
    table = get_runtime("sales_mini").form_tables("company").table.name
    indexes = sa.inspect(db.session.connection()).get_indexes(table)
    assert any(ix["column_names"] == ["f_since"] for ix in indexes)


def test_formula_change_recomputes_and_versions_are_kept(env):
    actor = env
    rt = get_runtime("sales_mini")
    company = service.create(actor, rt, "company", {"name": "Acme"})
    deal = service.create(actor, rt, "deal", {"title": "D", "company": company["id"], "amount": 1000,
                                              "probability": 50})
    service.create(actor, rt, "quote", {"deal": deal["id"], "items": [{"product": "A", "qty": 2, "price": 5}]})
    new = sales_mini()
    field(new, "deal", "weighted")["expr"] = "amount * probability / 10"
    field(new, "quote", "items")["fields"][4]["expr"] = "qty * price * 10"
    result = publish(actor, new)
    assert ("recompute", "deal", "weighted") in ops(result)
    [deal] = records(actor, "deal")
    assert deal["fields"]["weighted"] == 5000
    [quote] = records(actor, "quote")
    assert quote["fields"]["items"][0]["subtotal"] == 100 and quote["fields"]["total"] == 100
    new = sales_mini()
    new["key"] = "renamed"
    saved = apps.save_draft(actor, "sales_mini", new)
    assert not saved["valid"] and saved["errors"][0]["pointer"] == "/key"
    with pytest.raises(DefinitionError):
        apps.publish(actor, "sales_mini")
    new = sales_mini()
    new["name"] = "Sales v3"
    assert publish(actor, new)["version"] == 3
    rows = db.session.execute(sa.select(AppVersion.number, AppVersion.definition).order_by(AppVersion.number)).all()
    assert [(n, d["name"]) for n, d in rows] == [(1, "Sales (mini)"), (2, "Sales (mini)"), (3, "Sales v3")]
    assert field(rows[1].definition, "deal", "weighted")["expr"] == "amount * probability / 10"
    assert get_runtime("sales_mini").raw == new and get_runtime("sales_mini").key == "sales_mini"
    [deal] = records(actor, "deal")
    assert deal["fields"]["weighted"] == 500

