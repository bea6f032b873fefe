"""Versions, diff, restore and the app file (DESIGN.md section 11), on SQLite and PostgreSQL:
restoring an old version with data written since publishes it through the same plan and the
same refusal to lose data; an exported app imports elsewhere with its records and links."""
from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from formloom.platform.extensions import db
from formloom.platform.models import AuditEvent

from support_formloom import problem

DATA = Path(__file__).parents[1] / "data"


def sales_mini() -> dict:
    return json.loads((DATA / "sales-mini.json").read_text("utf-8"))


def publish(api, draft: dict, **body):
    assert api.put("/api/v1/apps/sales_mini/draft", json=draft).get_json()["valid"]
    return api.post("/api/v1/apps/sales_mini/publish", json=body)


def test_versions_diff_and_restore_with_data_written_since(any_db, app, make, api_as):
    owner = make.user("Owner", password=None)
    make.install("sales-mini", owner=owner)
    api = api_as(owner)
    v2 = sales_mini()
    v2["forms"][0]["fields"].append({"key": "website", "type": "url", "label": "Website"})
    assert publish(api, v2).status_code == 200
    made = api.post("/api/v1/apps/sales_mini/forms/company/records",
                    json={"fields": {"name": "Acme", "website": "https://acme.example"}}).get_json()
    items = api.get("/api/v1/apps/sales_mini/versions").get_json()["items"]
    assert [v["number"] for v in items] == [2, 1] and items[0]["current"] and items[0]["published_by"]["name"] == "Owner"
    diff = api.get("/api/v1/apps/sales_mini/versions/1/diff?to=2").get_json()
    assert [(s["op"], s["field"]) for s in diff["steps"]] == [("add_field", "website")]
    assert any("website" in line for line in diff["summary"])

    plan = api.post("/api/v1/apps/sales_mini/versions/1/restore", json={"dry_run": True}).get_json()
    assert [(s["op"], s.get("field")) for s in plan["plan"]] == [("hide_field", "website")]
    assert api.get("/api/v1/apps/sales_mini/versions").get_json()["items"][0]["number"] == 2
    done = api.post("/api/v1/apps/sales_mini/versions/1/restore", json={})
    assert done.status_code == 200 and done.get_json()["version"] == 3
    assert "website" not in {f["key"] for f in api.get("/api/v1/apps/sales_mini/definition").get_json()["forms"][0]["fields"]}
    assert api.get("/api/v1/apps/sales_mini/draft").get_json() == sales_mini()
    # The data written under version 2 is kept, and comes back with version 2.
    back = api.post("/api/v1/apps/sales_mini/versions/2/restore", json={})
    assert back.get_json()["version"] == 4
    record = api.get(f"/api/v1/apps/sales_mini/forms/company/records/{made['id']}").get_json()
    assert record["fields"]["website"] == "https://acme.example"
    actions = db.session.execute(sa.select(AuditEvent.action).where(AuditEvent.action == "restore")).scalars().all()
    assert len(actions) == 2
    assert problem(api.post("/api/v1/apps/sales_mini/versions/9/restore", json={}), 404)


def test_restore_refuses_to_lose_data_unless_accepted(any_db, app, make, api_as):
    owner = make.user("Owner", password=None)
    make.install("sales-mini", owner=owner)
    api = api_as(owner)
    v2 = sales_mini()
    website = {"key": "website", "type": "text", "label": "Website"}
    v2["forms"][0]["fields"].append(website)
    assert publish(api, v2).status_code == 200
    v3 = json.loads(json.dumps(v2))
    v3["forms"][0]["fields"][-1] = {**website, "type": "number"}
    assert publish(api, v3).status_code == 200
    assert api.post("/api/v1/apps/sales_mini/forms/company/records",
                    json={"fields": {"name": "Acme", "website": 12}}).status_code == 201
    # Back to text: every number converts. Forward again after text is written: not all do.
    assert api.post("/api/v1/apps/sales_mini/versions/2/restore", json={}).get_json()["version"] == 4
    assert api.post("/api/v1/apps/sales_mini/forms/company/records",
                    json={"fields": {"name": "Beta", "website": "beta.example"}}).status_code == 201
    dry = api.post("/api/v1/apps/sales_mini/versions/3/restore", json={"dry_run": True}).get_json()
    assert dry["refused"] and dry["refused"]["errors"][0]["value"] == "beta.example"
    assert problem(api.post("/api/v1/apps/sales_mini/versions/3/restore", json={}), 409)
    assert api.get("/api/v1/apps/sales_mini/versions").get_json()["items"][0]["number"] == 4
    done = api.post("/api/v1/apps/sales_mini/versions/3/restore", json={"accept_loss": True})
    assert done.status_code == 200 and done.get_json()["version"] == 5


def test_export_and_import_round_trip_with_records_and_links(any_db, app, make, api_as):
    owner = make.user("Owner", password=None)
    make.install("sales-mini", owner=owner)
    api = api_as(owner)
    company = api.post("/api/v1/apps/sales_mini/forms/company/records", json={"fields": {"name": "Acme"}}).get_json()
    deal = api.post("/api/v1/apps/sales_mini/forms/deal/records",
                    json={"fields": {"title": "Big", "company": company["id"], "amount": 1200}}).get_json()
    exported = api.get("/api/v1/apps/sales_mini/export?data=1")
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    file = exported.get_json()
    assert file["definition"] == sales_mini() and len(file["records"]["deal"]) == 1
    plain = api.get("/api/v1/apps/sales_mini/export").get_json()
    assert "records" not in plain

    made = api.post("/api/v1/apps/import", json={"file": file, "key": "copy", "name": "Copy"})
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["records"] == {"company": 1, "deal": 1, "quote": 0}
    definition = api.get("/api/v1/apps/copy/definition").get_json()
    assert definition["key"] == "copy" and definition["forms"] == sales_mini()["forms"]
    deals = api.get("/api/v1/apps/copy/forms/deal/records").get_json()["items"]
    companies = api.get("/api/v1/apps/copy/forms/company/records").get_json()["items"]
    assert deals[0]["fields"]["title"] == "Big" and deals[0]["fields"]["amount"] == deal["fields"]["amount"]
    assert deals[0]["fields"]["company"] == companies[0]["id"] and companies[0]["fields"]["name"] == "Acme"
    assert problem(api.post("/api/v1/apps/import", json={"file": file, "key": "copy"}), 409)
    assert problem(api.post("/api/v1/apps/import", json={"file": {"format": "x"}, "key": "other"}), 422)
    assert db.session.execute(sa.select(AuditEvent.id).where(AuditEvent.action == "app_import")).first()


def test_templates_are_listed(app, make, api_as):
    api = api_as(make.user("Ann", password=None))
    mini = {t["key"]: t for t in api.get("/api/v1/templates").get_json()}["sales_mini"]
    assert mini["description"] and "deal" in mini["forms"]
