"""Concurrent writers: If-Match, racing PATCHes, serial numbers, unique values, idempotent retries."""
import threading

import pytest

from formloom.platform.exceptions import Conflict, ValidationFailed
from formloom.platform.extensions import db
from formloom.runtime.apps import get_runtime
from formloom.runtime.records import query, service

BASE = "/api/v1/apps/sales_mini/forms"


@pytest.fixture
def owner(make):
    return make.user("Owner", password=None)


@pytest.fixture
def rt(any_db, app, make, owner):
    return make.install("sales-mini", owner=owner)


def run_threads(app, n: int, work) -> list:
    """Run `work(i)` in n threads, each in its own app context, started together."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def target(i):
        with app.app_context():
            barrier.wait()
            try:
                results[i] = work(i)
            except Exception as exc:  # the test inspects what each thread got
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_two_racing_patches_with_same_if_match_one_wins(rt, owner, app, make):
    actor = make.actor(owner)
    company = service.create(actor, rt, "company", {"name": "Acme"})
    tokens = [make.token(owner), make.token(owner)]

    def patch(i):
        client = app.test_client()
        resp = client.patch(f"{BASE}/company/records/{company['id']}", json={"fields": {"tier": "AB"[i]}},
                            headers={"Authorization": f"Bearer {tokens[i]}", "If-Match": '"1"'})
        return resp.status_code, resp.get_json()

    results = run_threads(app, 2, patch)
    db.session.rollback()
    assert sorted(status for status, _ in results) == [200, 409], results
    winner = next(body for status, body in results if status == 200)
    now = service.get(actor, rt, "company", company["id"])
    assert now["version"] == 2 and now["fields"]["tier"] == winner["fields"]["tier"]
    assert [r.action for r in service.history(actor, rt, "company", company["id"])] == ["updated", "created"]


def test_serial_numbers_unique_and_consecutive_under_concurrency(rt, owner, app, make):
    actor = make.actor(owner)
    company = service.create(actor, rt, "company", {"name": "Acme"})
    deal = service.create(actor, rt, "deal", {"title": "Big", "company": company["id"]})

    def create_quotes(_i):
        runtime = get_runtime("sales_mini")
        return [service.create(actor, runtime, "quote", {"deal": deal["id"]})["fields"]["number"]
                for _ in range(10)]

    results = run_threads(app, 8, create_quotes)
    db.session.rollback()
    numbers = [n for batch in results for n in batch]
    assert len(numbers) == 80 and len(set(numbers)) == 80
    assert sorted(int(n.rsplit("-", 1)[1]) for n in numbers) == list(range(1, 81))
    page, _ = query.list_records(actor, rt, "quote", limit=100)
    assert len(page) == 80


def test_unique_value_under_concurrency_one_wins(rt, owner, app, make):
    actor = make.actor(owner)

    def create(_i):
        return service.create(actor, get_runtime("sales_mini"), "company", {"name": "Same name"})

    results = run_threads(app, 2, create)
    db.session.rollback()  # end this thread's read snapshot (SQLite WAL) to see their commits
    created = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if not isinstance(r, dict)]
    assert len(created) == 1 and len(refused) == 1, results
    assert isinstance(refused[0], (Conflict, ValidationFailed))
    assert [e["field"] for e in refused[0].errors] == ["name"]
    page, _ = query.list_records(actor, rt, "company")
    assert [r["fields"]["name"] for r in page] == ["Same name"]


def test_idempotency_keys_and_if_match(rt, owner, api_as):
    api = api_as(owner)
    key = {"Idempotency-Key": "create-acme-1"}
    first = api.post(f"{BASE}/company/records", json={"fields": {"name": "Acme"}}, headers=key)
    again = api.post(f"{BASE}/company/records", json={"fields": {"name": "Acme"}}, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers and again.headers["ETag"] == '"1"'
    other = api.post(f"{BASE}/company/records", json={"fields": {"name": "Globex"}}, headers=key)
    assert other.status_code == 409 and other.mimetype == "application/problem+json"
    assert len(api.get(f"{BASE}/company/records").get_json()["items"]) == 1
    # A refused request keeps no answer: fixing it and retrying with the key works.
    bad = api.post(f"{BASE}/company/records", json={"fields": {"name": ""}}, headers={"Idempotency-Key": "k2"})
    assert bad.status_code == 422
    good = api.post(f"{BASE}/company/records", json={"fields": {"name": ""}}, headers={"Idempotency-Key": "k2"})
    assert good.status_code == 422
    rows = {"records": [{"fields": {"name": "B1"}}, {"fields": {"name": "B2"}}]}
    bulk = api.post(f"{BASE}/company/records/bulk", json=rows, headers={"Idempotency-Key": "bulk-1"})
    replay = api.post(f"{BASE}/company/records/bulk", json=rows, headers={"Idempotency-Key": "bulk-1"})
    assert bulk.status_code == replay.status_code == 201 and replay.get_json() == bulk.get_json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert api.post(f"{BASE}/company/records/bulk", json={"records": []},
                    headers={"Idempotency-Key": "bulk-1"}).status_code == 409
    assert len(api.get(f"{BASE}/company/records").get_json()["items"]) == 3
    # If-Match: a stale version gets 409 and changes nothing.
    company = api.post(f"{BASE}/company/records", json={"fields": {"name": "Initech"}}).get_json()
    url = f"{BASE}/company/records/{company['id']}"
    first = api.patch(url, json={"fields": {"tier": "A"}}, headers={"If-Match": '"1"'})
    assert first.status_code == 200 and first.headers["ETag"] == '"2"'
    stale = api.patch(url, json={"fields": {"tier": "B", "name": "Stale"}}, headers={"If-Match": '"1"'})
    assert stale.status_code == 409 and stale.mimetype == "application/problem+json"
    assert stale.get_json()["current_version"] == 2
    problem = api.delete(url, headers={"If-Match": 'W/"1"'})
    assert problem.status_code == 409
    bad = api.patch(url, json={"fields": {"tier": "B"}}, headers={"If-Match": "*x"})
    assert bad.status_code == 422
    now = api.get(url)
    assert now.headers["ETag"] == '"2"'
    assert now.get_json()["fields"]["tier"] == "A" and now.get_json()["fields"]["name"] == "Initech"
    history = api.get(url + "/history").get_json()["items"]
    assert [h["action"] for h in history] == ["updated", "created"]


def test_concurrent_retries_with_one_key_create_one_record(rt, owner, app, make):
    token = make.token(owner)

    def post(_i):
        resp = app.test_client().post(f"{BASE}/company/records", json={"fields": {"name": "Once"}},
                                      headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "once"})
        return resp.status_code, resp.get_json()

    results = run_threads(app, 3, post)
    assert [status for status, _ in results] == [201, 201, 201], results
    assert len({body["id"] for _, body in results}) == 1
    db.session.rollback()
    page, _ = query.list_records(make.actor(owner), rt, "company")
    assert len(page) == 1
