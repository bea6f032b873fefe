"""Every error an API client can provoke comes back as problem+json saying what is wrong."""
import base64
import json
from urllib.parse import quote

from support_formloom import problem

BASE = "/api/v1/apps/sales_mini/forms"


def field_errors(body: dict) -> dict:
    return {e["field"]: e["message"] for e in body["errors"]}


def test_bad_bodies_and_field_values(api):
    not_json = api.client.post(f"{BASE}/company/records", data="{not json",
                               headers={**api._headers(None), "Content-Type": "application/json"})
    body = problem(not_json, 422)
    assert "JSON" in body["detail"] and body["errors"][0]["pointer"] == ""
    problem(api.post(f"{BASE}/company/records", json=[1, 2]), 422)
    problem(api.post(f"{BASE}/company/records", json={"fields": "name"}), 422)
    body = problem(api.post(f"{BASE}/company/records", json={"fields": {
        "nickname": "x", "revenue": "a lot", "tier": "Z", "tags": "vip,gold", "since": "yesterday",
        "active": "maybe", "email": "not-an-email"}}), 422)
    errors = field_errors(body)
    assert set(errors) == {"nickname", "revenue", "tier", "tags", "since", "active", "email", "name"}
    assert "not a field" in errors["nickname"] and "number" in errors["revenue"]
    body = problem(api.post(f"{BASE}/company/records", json={"fields": {"revenue": -1}}), 422)
    assert field_errors(body) == {"revenue": "must be at least 0", "name": "is required"}
    assert api.get(f"{BASE}/company/records").get_json()["items"] == []


def test_required_rules_links_and_unique(api):
    body = problem(api.post(f"{BASE}/deal/records", json={"fields": {"title": "T", "company": 999}}), 422)
    assert field_errors(body) == {"company": "no record with id 999"}
    company = api.post(f"{BASE}/company/records", json={"fields": {"name": "Acme"}}).get_json()
    lost = {"title": "T", "company": company["id"], "stage": "lost"}
    body = problem(api.post(f"{BASE}/deal/records", json={"fields": lost}), 422)
    assert field_errors(body) == {"lost_reason": "is required"}
    deal = api.post(f"{BASE}/deal/records", json={"fields": {**lost, "stage": "new"}}).get_json()
    body = problem(api.patch(f"{BASE}/deal/records/{deal['id']}", json={"fields": {"stage": "lost"}}), 422)
    assert field_errors(body) == {"lost_reason": "is required"}
    body = problem(api.patch(f"{BASE}/deal/records/{deal['id']}", json={"fields": {"weighted": 5}}), 422)
    assert "computed" in field_errors(body)["weighted"]
    body = problem(api.post(f"{BASE}/quote/records", json={"fields": {
        "deal": deal["id"], "items": [{"product": "A", "qty": 0}, {"price": 3}]}}), 422)
    assert {(e["field"], e.get("row"), e.get("column")) for e in body["errors"]} == {
        ("items", 0, "qty"), ("items", 1, "product")}
    got = api.get(f"{BASE}/deal/records/{deal['id']}").get_json()
    assert got["version"] == 1 and got["fields"]["stage"] == "new"
    problem(api.patch(f"{BASE}/deal/records/{deal['id']}", json={"fields": {}, "draft": "yes"}), 422)
    # Unique values.
    body = problem(api.post(f"{BASE}/company/records", json={"fields": {"name": "Acme"}}), 422)
    assert field_errors(body)["name"] == f"must be unique; record {company['id']} already has this value"
    other = api.post(f"{BASE}/company/records", json={"fields": {"name": "Globex"}}).get_json()
    body = problem(api.patch(f"{BASE}/company/records/{other['id']}", json={"fields": {"name": "Acme"}}), 422)
    assert "name" in field_errors(body)
    # Renaming a record to its own name is no clash.
    assert api.patch(f"{BASE}/company/records/{company['id']}", json={"fields": {"name": "Acme"}}).status_code == 200


def test_bad_filter_sort_and_cursor(api):
    def get(**params):
        query = "&".join(f"{k}={quote(v)}" for k, v in params.items())
        return api.get(f"{BASE}/deal/records?{query}")

    body = problem(get(filter="{oops"), 422)
    assert body["errors"][0]["field"] == "filter"
    bad = {"all": [{"field": "amount", "op": "gt", "value": 1}, {"field": "nope", "op": "eq", "value": 1}]}
    body = problem(get(filter=json.dumps(bad)), 422)
    assert body["errors"][0]["pointer"] == "/all/1/field"
    body = problem(get(filter=json.dumps({"field": "amount", "op": "contains", "value": "x"})), 422)
    assert body["errors"][0]["pointer"].startswith("/")
    for sort in ("nope", "-items", "amount,,-", "$deleted_at"):
        body = problem(get(sort=sort), 422)
        assert body["errors"][0]["field"]
    company = api.post(f"{BASE}/company/records", json={"fields": {"name": "Acme"}}).get_json()
    for i in range(3):
        api.post(f"{BASE}/deal/records", json={"fields": {"title": f"D{i}", "company": company["id"], "amount": i}})
    by_amount = api.get(f"{BASE}/deal/records?sort=amount&limit=1").get_json()["next_cursor"]
    forged = base64.urlsafe_b64encode(json.dumps({"s": ["amount", "$id"], "v": ["x", 1]}).encode()).decode()
    for cursor, sort in (("garbage", "amount"), ("W10", "amount"), ("WzEsMiwzLDQsNV0", "amount"),
                         (by_amount, "-$created_at"), (by_amount, "title"), (forged, "amount")):
        body = problem(get(cursor=cursor, sort=sort), 422)
        assert field_errors(body) == {"cursor": "is not valid"}
    assert get(cursor=by_amount, sort="amount").status_code == 200
    problem(api.get(f"{BASE}/deal/records/abc"), 404)


def test_unknown_app_form_outsiders_and_tokens(api, make, api_as, owner, client):
    problem(api.get("/api/v1/apps/nope/forms/deal/records"), 404)
    problem(api.get(f"{BASE}/nope/records"), 404)
    problem(api.get(f"{BASE}/nope/schema"), 404)
    problem(api.post(f"{BASE}/nope/records", json={"fields": {}}), 404)
    outsider = api_as(make.user("Outsider", password=None))
    company = api.post(f"{BASE}/company/records", json={"fields": {"name": "Acme"}}).get_json()
    body = problem(outsider.get(f"{BASE}/company/records"), 404)
    assert body == problem(outsider.get("/api/v1/apps/nope/forms/company/records"), 404) | {
        "detail": body["detail"]}
    problem(outsider.get(f"{BASE}/company/records/{company['id']}"), 404)
    problem(outsider.patch(f"{BASE}/company/records/{company['id']}", json={"fields": {"name": "x"}}), 404)
    problem(outsider.get(f"{BASE}/company/schema"), 404)
    # Tokens: read-only ones cannot write; missing or invalid ones are 401.
    reader = api_as(owner, read_only=True)
    assert reader.get(f"{BASE}/company/records").status_code == 200
    problem(reader.post(f"{BASE}/company/records", json={"fields": {"name": "B"}}), 403)
    problem(reader.patch(f"{BASE}/company/records/{company['id']}", json={"fields": {"name": "B"}}), 403)
    problem(reader.delete(f"{BASE}/company/records/{company['id']}"), 403)
    problem(client.get(f"{BASE}/company/records"), 401)
    problem(client.get(f"{BASE}/company/records", headers={"Authorization": "Bearer flt_forged"}), 401)
    problem(client.get(f"{BASE}/company/records", headers={"Authorization": "Basic abc"}), 401)
    assert api.get(f"{BASE}/company/records/{company['id']}").get_json()["fields"]["name"] == "Acme"
