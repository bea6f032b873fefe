"""The reference example installs and its records work end to end through the service."""
from formloom.runtime.records import query, service


def test_sales_mini_create_list_update(any_db, app, make):
    owner = make.user("Owner")
    rt = make.install("sales-mini", owner=owner)
    actor = make.actor(owner)
    company = service.create(actor, rt, "company", {"name": "Acme", "tags": ["vip"], "revenue": "1,234.5"})
    deal = service.create(actor, rt, "deal", {"title": "Big", "company": company["id"], "amount": 1000,
                                              "probability": 50})
    assert deal["fields"]["weighted"] == 500
    quote = service.create(actor, rt, "quote", {"deal": deal["id"], "items": [
        {"product": "A", "qty": 2, "price": 100, "discount": 10}, {"product": "B", "qty": 1, "price": 50}]})
    assert quote["fields"]["total"] == 230
    assert quote["fields"]["number"].endswith("-0001")
    page, cursor = query.list_records(actor, rt, "deal", condition={"field": "amount", "op": "gt", "value": 10})
    assert [r["id"] for r in page] == [deal["id"]] and cursor is None
    updated = service.update(actor, rt, "deal", deal["id"], {"probability": 20}, expected_version=1)
    assert updated["fields"]["weighted"] == 200 and updated["version"] == 2
