"""Records through the REST API: list, create, bulk, read, change, delete, restore, history."""
import json
from urllib.parse import quote

import sqlalchemy as sa

from formloom.platform.extensions import db
from formloom.platform.models import AuditEvent

from support_formloom import problem

BASE = "/api/v1/apps/sales_mini/forms"
SYSTEM_KEYS = {"id", "version", "created_at", "updated_at", "created_by", "owner", "flow_status", "fields"}


def create(api, form: str, fields: dict, **kw) -> dict:
    resp = api.post(f"{BASE}/{form}/records", json={"fields": fields, **kw})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def listing(api, form: str, **params) -> dict:
    query = "&".join(f"{k}={quote(v if isinstance(v, str) else json.dumps(v))}" for k, v in params.items())
    resp = api.get(f"{BASE}/{form}/records?{query}")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_record_shape_filter_sort_and_limit(api, owner):
    resp = api.post(f"{BASE}/company/records", json={"fields": {"name": "Acme", "revenue": "1,234.5"}})
    assert resp.status_code == 201
    rec = resp.get_json()
    assert SYSTEM_KEYS <= set(rec) and not {"id", "version", "created_at", "flow_status"} & set(rec["fields"])
    assert rec["version"] == 1 and resp.headers["ETag"] == '"1"'
    assert resp.headers["Location"].endswith(f"/company/records/{rec['id']}")
    assert rec["created_by"] == owner.id and rec["owner"] == owner.id and rec["flow_status"] is None
    assert rec["created_at"].endswith("Z") and rec["created_at"] == rec["updated_at"]
    # Defaults are applied; what was not sent is empty.
    assert rec["fields"] == {"name": "Acme", "tier": "C", "industry": None, "tags": [], "email": None,
                             "revenue": 1234.5, "since": None, "owner": None, "active": True}
    got = api.get(f"{BASE}/company/records/{rec['id']}")
    assert got.get_json() == rec and got.headers["ETag"] == '"1"'
    acme = rec
    for title, amount, stage in [("a", 10, "new"), ("b", 300, "won"), ("c", 300, "lost"), ("d", None, "new")]:
        fields = {"title": title, "company": acme["id"], "amount": amount, "stage": stage}
        if stage == "lost":
            fields["lost_reason"] = "price"
        create(api, "deal", fields)
    page = listing(api, "deal", sort="-amount,title")
    assert [r["fields"]["title"] for r in page["items"]] == ["b", "c", "a", "d"] and page["next_cursor"] is None
    cond = {"all": [{"field": "amount", "op": "gte", "value": 100}, {"field": "stage", "op": "ne", "value": "lost"}]}
    assert [r["fields"]["title"] for r in listing(api, "deal", filter=cond)["items"]] == ["b"]
    in_stage = {"field": "stage", "op": "in", "value": ["new", "lost"]}
    assert [r["fields"]["title"] for r in listing(api, "deal", filter=in_stage, sort="title")["items"]] == ["a", "c", "d"]
    page = listing(api, "deal", sort="title", limit="3")
    assert len(page["items"]) == 3 and page["next_cursor"]
    rest = listing(api, "deal", sort="title", limit="3", cursor=page["next_cursor"])
    assert [r["fields"]["title"] for r in rest["items"]] == ["d"] and rest["next_cursor"] is None
    newest = listing(api, "deal", sort="-$created_at", limit="1")["items"][0]
    assert newest["fields"]["title"] == "d"
    for bad_limit in ("0", "501", "x", "-1"):
        problem(api.get(f"{BASE}/deal/records?limit={bad_limit}"), 422)
    assert len(listing(api, "deal", limit="500")["items"]) == 4


def test_drafts_patch_delete_restore_and_history(api, owner):
    draft = create(api, "deal", {"title": "Half done"}, draft=True)
    assert draft["flow_status"] == "draft" and draft["fields"]["company"] is None
    problem(api.patch(f"{BASE}/deal/records/{draft['id']}", json={"fields": {"title": "Still"}, "draft": False}), 422)
    acme = create(api, "company", {"name": "Acme"})
    done = api.patch(f"{BASE}/deal/records/{draft['id']}", json={"fields": {"company": acme["id"]}, "draft": False})
    assert done.status_code == 200 and done.get_json()["flow_status"] is None
    deal = create(api, "deal", {"title": "Big", "company": acme["id"], "amount": 1000, "probability": 50})
    url = f"{BASE}/deal/records/{deal['id']}"
    resp = api.patch(url, json={"fields": {"probability": 20}}, headers={"If-Match": '"1"'})
    assert resp.status_code == 200 and resp.headers["ETag"] == '"2"'
    assert resp.get_json()["fields"]["weighted"] == 200 and resp.get_json()["version"] == 2
    # The client may send back what it read, computed values included.
    echo = api.patch(url, json={"fields": resp.get_json()["fields"]})
    assert echo.status_code == 200 and echo.get_json()["version"] == 2
    assert api.delete(url, headers={"If-Match": "2"}).status_code == 204
    problem(api.get(f"{BASE}/deal/records/{deal['id'] + 99}"), 404)
    assert [r["id"] for r in listing(api, "deal")["items"]] == [draft["id"]]
    deleted = listing(api, "deal", deleted="1")["items"]
    assert [r["id"] for r in deleted] == [deal["id"]] and deleted[0]["deleted_at"]
    problem(api.patch(url, json={"fields": {"title": "x"}}), 404)
    problem(api.delete(url), 404)
    restored = api.post(url + "/restore")
    assert restored.status_code == 200 and restored.get_json()["version"] == 4
    problem(api.post(url + "/restore"), 404)
    assert [r["id"] for r in listing(api, "deal", sort="$id")["items"]] == [draft["id"], deal["id"]]
    history = api.get(url + "/history").get_json()["items"]
    assert [(h["version"], h["action"]) for h in history] == [(4, "restored"), (3, "deleted"), (2, "updated"),
                                                              (1, "created")]
    assert history[2]["changes"] == {"probability": [50, 20], "weighted": [500, 200]}
    assert history[3]["changes"]["title"] == [None, "Big"]
    assert all(h["actor"] == owner.id and h["at"].endswith("Z") for h in history)
    # Restoring a record whose unique value another record took meanwhile is refused.
    assert api.delete(f"{BASE}/company/records/{acme['id']}").status_code == 204
    create(api, "company", {"name": "Acme"})
    body = problem(api.post(f"{BASE}/company/records/{acme['id']}/restore"), 409)
    assert [e["field"] for e in body["errors"]] == ["name"]


def test_bulk_create_all_or_nothing_with_row_errors(api):
    acme = create(api, "company", {"name": "Acme"})
    rows = [{"fields": {"title": f"D{i}", "company": acme["id"], "amount": i}} for i in range(5)]
    rows[1]["fields"]["amount"] = "lots"
    rows[3]["fields"]["stage"] = "lost"
    rows[4]["fields"]["nonsense"] = 1
    body = problem(api.post(f"{BASE}/deal/records/bulk", json={"records": rows}), 422)
    assert {(e["index"], e["field"]) for e in body["errors"]} == {(1, "amount"), (3, "lost_reason"), (4, "nonsense")}
    assert listing(api, "deal")["items"] == []
    dupes = [{"fields": {"name": n}} for n in ("Globex", "Acme", "Globex")]
    body = problem(api.post(f"{BASE}/company/records/bulk", json={"records": dupes}), 422)
    assert {(e["index"], e["field"]) for e in body["errors"]} == {(1, "name"), (2, "name")}
    ok = api.post(f"{BASE}/deal/records/bulk", json={"records": [
        {"fields": {"title": "A", "company": acme["id"]}}, {"fields": {"title": "B", "company": acme["id"]}}]})
    assert ok.status_code == 201 and ok.get_json()["count"] == 2
    titles = [r["fields"]["title"] for r in listing(api, "deal", sort="title")["items"]]
    assert titles == ["A", "B"]
    problem(api.post(f"{BASE}/deal/records/bulk", json={"records": "no"}), 422)
    # The one import that was saved is in the audit log; the refused ones are not.
    imports = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "import")).scalars().all()
    assert [(e.object_id, e.after["count"]) for e in imports] == [("deal", 2)]


def test_bulk_takes_ten_thousand_and_refuses_more(api):
    rows = [{"fields": {"name": f"Company {i}", "revenue": i}} for i in range(10_001)]
    body = problem(api.post(f"{BASE}/company/records/bulk", json={"records": rows}), 422)
    assert "10000" in body["detail"].replace(",", "")
    resp = api.post(f"{BASE}/company/records/bulk", json={"records": rows[:10_000]})
    assert resp.status_code == 201, resp.get_json()
    ids = resp.get_json()["ids"]
    assert len(set(ids)) == 10_000
    last = api.get(f"{BASE}/company/records/{ids[-1]}").get_json()
    assert last["fields"]["name"] == "Company 9999" and last["fields"]["tier"] == "C"
