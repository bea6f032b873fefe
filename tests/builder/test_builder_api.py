"""The app routes of DESIGN.md section 11: create, from template, definition, draft, publish."""
import copy
import json
from pathlib import Path

import jsonschema

DATA = Path(__file__).parents[1] / "data"


def sales_mini() -> dict:
    return json.loads((DATA / "sales-mini.json").read_text("utf-8"))


def is_problem(resp, status: int) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["status"] == status and body["title"]
    return body


def test_create_app_publishes_v1_or_lists_definition_errors(any_db, app, make, api_as):
    api = api_as(make.user("Builder", password=None))
    resp = api.post("/api/v1/apps", json=sales_mini())
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["version"] == 1
    got = api.get("/api/v1/apps/sales_mini/definition")
    assert got.status_code == 200
    assert got.get_json() == sales_mini()
    again = api.post("/api/v1/apps", json=sales_mini())
    assert is_problem(again, 409)
    listed = api.get("/api/v1/apps").get_json()["items"]
    assert [a["key"] for a in listed] == ["sales_mini"]
    bad = sales_mini()
    bad["key"] = "other"
    bad["forms"][1]["fields"][1]["form"] = "nowhere"
    bad["forms"][0]["fields"][0]["type"] = "no_such_type"
    body = is_problem(api.post("/api/v1/apps", json=bad), 422)
    pointers = {e["pointer"] for e in body["errors"]}
    assert "/forms/1/fields/1/form" in pointers
    assert "/forms/0/fields/0/type" in pointers
    assert all(e["message"] for e in body["errors"])
    assert api.get("/api/v1/apps/other/definition").status_code == 404


def test_create_from_template(any_db, app, make, api_as):
    api = api_as(make.user("Builder", password=None))
    resp = api.post("/api/v1/apps/from-template", json={"template": "sales_mini", "key": "crm2",
                                                         "name": "My sales", "sample_data": True})
    assert resp.status_code == 201, resp.get_json()
    definition = api.get("/api/v1/apps/crm2/definition").get_json()
    assert definition["key"] == "crm2" and definition["name"] == "My sales"
    deals = api.get("/api/v1/apps/crm2/forms/deal/records?limit=5").get_json()
    assert len(deals["items"]) == 5 and deals["next_cursor"]
    assert is_problem(api.post("/api/v1/apps/from-template", json={"template": "nope"}), 404)
    assert is_problem(api.post("/api/v1/apps/from-template", json={}), 422)


def test_drafts_and_publish_dry_run_then_publish(any_db, app, make, api_as):
    owner = make.user("Owner", password=None)
    make.install("sales-mini", owner=owner)
    api = api_as(owner)
    bad = sales_mini()
    bad["forms"][0]["fields"].append({"key": "Bad Key", "type": "text"})
    resp = api.put("/api/v1/apps/sales_mini/draft", json=bad)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["valid"] is False and body["errors"][0]["pointer"].startswith("/forms/0/fields/9")
    assert api.get("/api/v1/apps/sales_mini/draft").get_json() == bad
    assert is_problem(api.post("/api/v1/apps/sales_mini/publish", json={}), 422)
    renamed = sales_mini()
    renamed["key"] = "other"
    body = api.put("/api/v1/apps/sales_mini/draft", json=renamed).get_json()
    assert {"pointer": "/key", "message": 'the app key is "sales_mini" and cannot change'} in body["errors"]
    assert is_problem(api.post("/api/v1/apps/sales_mini/publish", json={}), 422)
    assert api.get("/api/v1/apps/sales_mini/definition").get_json() == sales_mini()
    draft = sales_mini()
    draft["forms"][0]["fields"].append({"key": "website", "type": "url", "label": "Website"})
    draft["forms"][0]["fields"][0]["label"] = "Company name"
    assert api.put("/api/v1/apps/sales_mini/draft", json=draft).get_json()["valid"]
    plan = api.post("/api/v1/apps/sales_mini/publish", json={"dry_run": True}).get_json()
    assert plan["dry_run"] is True and plan["next_version"] == 2
    steps = {(s["op"], s.get("form"), s.get("field")) for s in plan["plan"]}
    assert steps == {("add_field", "company", "website"), ("relabel", "company", "name")}
    assert api.get("/api/v1/apps/sales_mini/definition").get_json() == sales_mini()
    done = api.post("/api/v1/apps/sales_mini/publish", json={"dry_run": False})
    assert done.status_code == 200 and done.get_json()["version"] == 2
    assert api.get("/api/v1/apps/sales_mini/definition").get_json() == draft
    created = api.post("/api/v1/apps/sales_mini/forms/company/records",
                       json={"fields": {"name": "Acme", "website": "https://acme.example"}})
    assert created.status_code == 201 and created.get_json()["fields"]["website"] == "https://acme.example"


def test_app_routes_need_membership_and_admin(any_db, app, make, api_as):
    owner, member, outsider = make.user("Owner", password=None), make.user("Member", password=None), make.user("Outsider", password=None)
    make.install("sales-mini", owner=owner, members=[member])
    assert is_problem(api_as(outsider).get("/api/v1/apps/sales_mini/definition"), 404)
    assert api_as(member).get("/api/v1/apps/sales_mini/definition").status_code == 200
    assert is_problem(api_as(member).put("/api/v1/apps/sales_mini/draft", json=sales_mini()), 403)
    assert is_problem(api_as(member).post("/api/v1/apps/sales_mini/publish", json={}), 403)
    assert is_problem(api_as(owner, read_only=True).post("/api/v1/apps", json=sales_mini()), 403)


def test_form_schemas_validate_records_the_api_returns(any_db, app, make, api_as):
    owner = make.user("Owner", password=None)
    make.install("sales-mini", owner=owner)
    api = api_as(owner)
    company = api.post("/api/v1/apps/sales_mini/forms/company/records", json={"fields": {
        "name": "Acme", "tags": ["vip"], "revenue": 12.5, "since": "2024-01-02", "owner": owner.id,
        "email": "a@example.com"}}).get_json()
    deal = api.post("/api/v1/apps/sales_mini/forms/deal/records", json={"fields": {
        "title": "Big", "company": company["id"], "amount": 100, "close_date": "2026-03-01"}}).get_json()
    api.post("/api/v1/apps/sales_mini/forms/quote/records", json={"fields": {
        "deal": deal["id"], "items": [{"product": "A", "qty": 2, "price": 10}]}})
    for form in ("company", "deal", "quote"):
        schema = api.get(f"/api/v1/apps/sales_mini/forms/{form}/schema").get_json()
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
        [item] = api.get(f"/api/v1/apps/sales_mini/forms/{form}/records").get_json()["items"]
        validator.validate(item["fields"])
        wrong = copy.deepcopy(item["fields"])
        wrong["unknown_field"] = 1
        assert not validator.is_valid(wrong)
        del wrong["unknown_field"]
        del wrong[schema["required"][0]]
        assert not validator.is_valid(wrong)
    quote = api.get("/api/v1/apps/sales_mini/forms/quote/schema").get_json()
    assert quote["properties"]["items"]["items"]["properties"]["qty"]["minimum"] == 1
    assert quote["properties"]["total"]["readOnly"] is True


def test_publish_refusal_is_409_with_rows_and_accept_loss_applies(any_db, app, make, api_as):
    owner = make.user("Owner", password=None)
    make.install("sales-mini", owner=owner)
    api = api_as(owner)
    base = "/api/v1/apps/sales_mini/forms/deal/records"
    company = api.post("/api/v1/apps/sales_mini/forms/company/records", json={"fields": {"name": "A"}}).get_json()
    ids = [api.post(base, json={"fields": {"title": t, "company": company["id"]}}).get_json()["id"]
           for t in ("12", "twelve")]
    draft = sales_mini()
    draft["forms"][1]["fields"][0]["type"] = "number"
    assert api.put("/api/v1/apps/sales_mini/draft", json=draft).get_json()["valid"]
    preview = api.post("/api/v1/apps/sales_mini/publish", json={"dry_run": True}).get_json()
    assert preview["refused"]["errors"][0]["record_id"] == ids[1]
    body = is_problem(api.post("/api/v1/apps/sales_mini/publish", json={}), 409)
    assert [(e["record_id"], e["value"], e["field"]) for e in body["errors"]] == [(ids[1], "twelve", "title")]
    assert api.get(f"{base}/{ids[1]}").get_json()["fields"]["title"] == "twelve"
    done = api.post("/api/v1/apps/sales_mini/publish", json={"accept_loss": True})
    assert done.status_code == 200 and done.get_json()["version"] == 2
    titles = [api.get(f"{base}/{i}").get_json()["fields"]["title"] for i in ids]
    assert titles == [12, None]
