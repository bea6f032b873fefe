"""Outbound webhooks: SSRF defence at save and at send, signing, retries, switching off."""
from __future__ import annotations

import hashlib
import hmac
import json
import socket
from datetime import timedelta

import pytest
import sqlalchemy as sa

from formloom.platform import jobs, outbox
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import (
    AuditEvent,
    Job,
    Notification,
    OutboxEvent,
    Webhook,
    WebhookDelivery,
    utcnow,
)
from formloom.runtime.records import service as records

from support_formloom import problem
from support_http import SECRET_BODY

UNSAFE = ["http://127.0.0.1/h", "http://2130706433/h", "http://0177.0.0.1/h", "http://0x7f.0.0.1/h", "http://127.1/h",
          "http://[::1]/h", "http://[::ffff:127.0.0.1]/h", "http://[::ffff:7f00:1]/h", "http://169.254.169.254/h",
          "http://10.0.0.1/h", "http://192.168.1.1/h", "http://172.16.0.1/h", "http://100.64.0.1/h",
          "http://[fc00::1]/h", "http://[fe80::1]/h", "http://0.0.0.0/h", "ftp://example.com/h",
          "http://user:pw@example.com/h", "http://localhost/h"]


@pytest.fixture
def app(app_with):
    # Only the literal 127.0.0.1 is allowed (the test receiver); "localhost" still is not.
    return app_with(FORMLOOM_JOBS_EAGER=True, FORMLOOM_WEBHOOK_ALLOWED_HOSTS="127.0.0.1")


@pytest.fixture
def strict(app, monkeypatch):
    """No allowed hosts at all: the matrix includes the receivers' 127.0.0.1."""
    monkeypatch.setitem(app.config, "FORMLOOM_WEBHOOK_ALLOWED_HOSTS", "")


@pytest.fixture
def owner(make):
    return make.user("Owner")


@pytest.fixture
def rt(make, owner):
    return make.install("sales-mini", owner=owner)


@pytest.fixture
def owner_api(api_as, owner, rt):
    return api_as(owner)


def _hook(api, url, **extra) -> dict:
    resp = api.post(f"/api/v1/apps/{RT_KEY}/webhooks", json={"url": url, **extra})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()


RT_KEY = "sales_mini"


def _event(make, owner, rt, name="Acme") -> OutboxEvent:
    records.create(make.actor(owner), rt, "company", {"name": name})
    return db.session.execute(sa.select(OutboxEvent).order_by(OutboxEvent.id.desc()).limit(1)).scalar_one()


def _fanout(event_id: int) -> None:
    """Dispatch the event (as the ticker would, again if it was); eager jobs run the first delivery at once."""
    with write_transaction():
        db.session.execute(sa.update(OutboxEvent).where(OutboxEvent.id == event_id).values(dispatched_at=None))
    outbox.dispatch()
    db.session.rollback()


def _run_again(hook_id: int, event_id: int) -> str:
    """Make the delivery's retry due now (instead of waiting) and run it."""
    key = f"webhook:{hook_id}:{event_id}"
    with write_transaction():
        db.session.execute(sa.update(Job).where(Job.dedupe_key == key).values(run_at=utcnow() - timedelta(seconds=1)))
    job_id = db.session.execute(sa.select(Job.id).where(Job.dedupe_key == key)).scalar_one()
    return jobs.run_job(job_id)


def _deliveries(hook_id: int) -> list[WebhookDelivery]:
    db.session.rollback()
    return list(db.session.execute(sa.select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook_id)
                                   .order_by(WebhookDelivery.id)).scalars())


# --- at save ---------------------------------------------------------------------------------

@pytest.mark.parametrize("url", UNSAFE)
def test_unsafe_urls_are_refused_at_save(owner_api, strict, url):
    body = problem(owner_api.post(f"/api/v1/apps/{RT_KEY}/webhooks", json={"url": url}), 422)
    assert [e["field"] for e in body["errors"]] == ["url"]
    assert "not allowed" in body["errors"][0]["message"]
    assert db.session.execute(sa.select(sa.func.count()).select_from(Webhook)).scalar() == 0


def test_unsafe_url_refused_when_changed(owner_api, receiver):
    hook = _hook(owner_api, receiver((200, {})).url)
    resp = owner_api.patch(f"/api/v1/apps/{RT_KEY}/webhooks/{hook['id']}", json={"url": "http://169.254.169.254/"})
    assert problem(resp, 422)["errors"][0]["field"] == "url"
    assert db.session.get(Webhook, hook["id"]).url == hook["url"]


# --- at send ---------------------------------------------------------------------------------

@pytest.mark.parametrize("url", UNSAFE)
def test_unsafe_urls_are_refused_at_send(make, owner, rt, strict, url):
    # Stored without the save check, as a URL saved before the rules (or DNS) changed would be.
    with write_transaction():
        hook = Webhook(app_id=rt.app_id, name="old", url=url, secret="s", events=["record.created"])
        db.session.add(hook)
    event = _event(make, owner, rt)
    _fanout(event.id)
    [row] = _deliveries(hook.id)
    assert (row.status, row.http_status, row.attempt) == ("refused", None, 1)
    assert row.error.startswith("refused: ")
    job = db.session.execute(sa.select(Job).where(Job.dedupe_key == f"webhook:{hook.id}:{event.id}")).scalar_one()
    assert job.status == "done" and job.result == {"status": "refused"}  # no retry


def test_name_turning_private_is_refused_at_send(make, owner, rt, owner_api, monkeypatch):
    real = socket.getaddrinfo
    answer = {"evil.example": "93.184.216.34"}

    def resolver(host, port, *args, **kw):
        if host in answer:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer[host], port))]
        return real(host, port, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    hook = _hook(owner_api, "http://evil.example/hook")  # public at save
    answer["evil.example"] = "10.0.0.5"  # DNS rebinding: private at send
    _fanout(_event(make, owner, rt).id)
    [row] = _deliveries(hook["id"])
    assert row.status == "refused" and "10.0.0.5" in row.error and "private" in row.error


def test_redirect_is_not_followed(make, owner, rt, owner_api, receiver):
    server = receiver((302, {"Location": "http://169.254.169.254/latest/meta-data/"}))
    hook = _hook(owner_api, server.url)
    _fanout(_event(make, owner, rt).id)
    [row] = _deliveries(hook["id"])
    assert (row.status, row.http_status) == ("failed", 302)
    assert row.error == "redirect not followed (HTTP 302)"
    assert len(server.requests) == 1


# --- delivering ------------------------------------------------------------------------------

def test_retries_until_the_receiver_answers_and_signs(any_db, make, owner, rt, owner_api, receiver):
    server = receiver((500, {}), (500, {}), (204, {}))
    hook = _hook(owner_api, server.url, events=["record.created"], form="company")
    event = _event(make, owner, rt, name="Globex")
    _fanout(event.id)
    assert _run_again(hook["id"], event.id) == "retry"
    assert _run_again(hook["id"], event.id) == "done"

    rows = _deliveries(hook["id"])
    assert [(r.status, r.http_status, r.attempt) for r in rows] == [("failed", 500, 1), ("failed", 500, 2),
                                                                    ("ok", 204, 3)]
    assert rows[0].next_attempt_at is not None and rows[2].next_attempt_at is None
    assert db.session.get(Webhook, hook["id"]).consecutive_failures == 0
    assert len(server.requests) == 3

    sent = server.requests[-1]
    head = sent["headers"]
    expected = hmac.new(hook["secret"].encode(), head["X-Formloom-Timestamp"].encode() + b"." + sent["body"],
                        hashlib.sha256).hexdigest()
    assert hmac.compare_digest(head["X-Formloom-Signature"], "sha256=" + expected)
    job_id = db.session.execute(sa.select(Job.id).where(Job.dedupe_key == f"webhook:{hook['id']}:{event.id}")).scalar()
    assert (head["X-Formloom-Event"], head["X-Formloom-Event-Id"]) == ("record.created", str(event.id))
    # one delivery id for every attempt of this delivery, the job's: receivers deduplicate by it
    assert {r["headers"]["X-Formloom-Delivery"] for r in server.requests} == {job_id}
    assert head["Content-Type"] == "application/json" and head["User-Agent"] == "Formloom-Webhook"
    assert head["Host"] == server.url.split("/")[2] and sent["path"] == "/hook?x=1"
    body = json.loads(sent["body"])
    assert (body["id"], body["type"], body["app"], body["form"]) == (event.id, "record.created", RT_KEY, "company")
    assert body["record"]["fields"]["name"] == "Globex" and body["record_id"] == event.record_id


def test_a_wrong_secret_does_not_verify(owner_api, receiver, make, owner, rt):
    server = receiver((200, {}))
    _hook(owner_api, server.url)
    _fanout(_event(make, owner, rt).id)
    sent = server.requests[0]
    forged = hmac.new(b"not-the-secret", sent["headers"]["X-Formloom-Timestamp"].encode() + b"." + sent["body"],
                      hashlib.sha256).hexdigest()
    assert sent["headers"]["X-Formloom-Signature"] != "sha256=" + forged


def test_five_failures_in_a_row_switch_the_webhook_off_and_tell_the_admin(any_db, make, owner, rt, owner_api, receiver):
    server = receiver(*[(500, {})] * 5, (200, {}))
    hook = _hook(owner_api, server.url, name="CRM sync")
    event = _event(make, owner, rt)
    _fanout(event.id)
    for _ in range(4):
        _run_again(hook["id"], event.id)
    db.session.rollback()
    row = db.session.get(Webhook, hook["id"])
    assert (row.active, row.consecutive_failures) == (False, 5)
    assert row.disabled_at is not None and "HTTP 500" in row.disabled_reason
    assert _run_again(hook["id"], event.id) == "skipped"  # no further attempt while it is off: it is held
    assert len(server.requests) == 5

    later = _event(make, owner, rt, name="Later")
    _fanout(later.id)  # nothing is sent to a webhook that is off, and nothing is dropped
    assert len(server.requests) == 5
    [held] = owner_api.get(f"/api/v1/apps/{RT_KEY}/webhooks").get_json()["items"]
    assert held["held"] == 2 and held["consecutive_failures"] == 5
    notes = db.session.execute(sa.select(Notification).where(Notification.kind == "webhook_disabled")).scalars().all()
    assert [(n.user_id, n.app_id) for n in notes] == [(owner.id, rt.app_id)]
    assert "CRM sync" in notes[0].title

    resp = owner_api.patch(f"/api/v1/apps/{RT_KEY}/webhooks/{hook['id']}", json={"active": True})
    assert resp.status_code == 200
    assert resp.get_json()["active"] is True and resp.get_json()["consecutive_failures"] == 0
    assert resp.get_json()["disabled_at"] is None and "secret" not in resp.get_json()
    # switched on, the held deliveries go out, in the order of their events
    assert [json.loads(r["body"])["id"] for r in server.requests[5:]] == [event.id, later.id]
    assert resp.get_json()["held"] == 0


def test_response_bodies_are_never_kept_or_shown(make, owner, rt, owner_api, receiver):
    server = receiver((500, {}), (200, {}))
    hook = _hook(owner_api, server.url)
    event = _event(make, owner, rt)
    _fanout(event.id)
    _run_again(hook["id"], event.id)
    resp = owner_api.get(f"/api/v1/apps/{RT_KEY}/webhooks/{hook['id']}/deliveries")
    assert resp.status_code == 200
    items = resp.get_json()["items"]
    assert [i["status"] for i in items] == ["ok", "failed"]  # newest first
    assert SECRET_BODY not in resp.get_data(as_text=True)
    assert all(SECRET_BODY not in (r.error or "") for r in _deliveries(hook["id"]))


# --- managing --------------------------------------------------------------------------------

def test_fanout_picks_the_webhooks_that_want_the_event(make, owner, rt, owner_api, receiver):
    server = receiver((200, {}))
    every = _hook(owner_api, server.url)
    deals = _hook(owner_api, server.url, form="deal")
    updates = _hook(owner_api, server.url, events=["record.updated"])
    event = _event(make, owner, rt)
    _fanout(event.id)
    _fanout(event.id)  # handed over twice: still one delivery per webhook
    assert [len(_deliveries(h["id"])) for h in (every, deals, updates)] == [1, 0, 0]
    assert len(server.requests) == 1


def test_manage_webhooks(owner_api, receiver):
    url = receiver((200, {})).url
    made = _hook(owner_api, url, name="ERP", events=["record.deleted", "record.created"])
    assert len(made["secret"]) >= 40 and made["events"] == ["record.created", "record.deleted"]
    listed = owner_api.get(f"/api/v1/apps/{RT_KEY}/webhooks").get_json()["items"]
    assert [h["name"] for h in listed] == ["ERP"] and "secret" not in listed[0]

    base = f"/api/v1/apps/{RT_KEY}/webhooks/{made['id']}"
    body = problem(owner_api.patch(base, json={"events": ["record.exploded"], "form": "nope"}), 422)
    assert sorted(e["field"] for e in body["errors"]) == ["events", "form"]
    renewed = owner_api.patch(base, json={"new_secret": True, "active": False}).get_json()
    assert renewed["secret"] != made["secret"] and renewed["active"] is False
    assert owner_api.delete(base).status_code == 204
    lines = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "webhook")
                               .order_by(AuditEvent.id)).scalars().all()
    assert [(bool(e.before), bool(e.after), e.detail) for e in lines] == [
        (False, True, None), (True, True, "new secret"), (True, False, None)]
    assert not any(made["secret"] in str(e.after) or renewed["secret"] in str(e.after) for e in lines)
    assert owner_api.get(f"/api/v1/apps/{RT_KEY}/webhooks").get_json()["items"] == []
    problem(owner_api.get(f"{base}/deliveries"), 404)


def test_only_app_admins_manage_webhooks(make, owner, api_as):
    member, outsider = make.user("Member"), make.user("Outsider")
    make.install("sales-mini", owner=owner, members=[member])
    path = f"/api/v1/apps/{RT_KEY}/webhooks"
    problem(api_as(member).get(path), 403)
    problem(api_as(member).post(path, json={"url": "https://example.com/h"}), 403)
    problem(api_as(outsider).get(path), 404)
    problem(api_as(owner, read_only=True).post(path, json={"url": "https://example.com/h"}), 403)


def test_a_webhook_can_be_created_switched_off(owner_api, receiver):
    made = _hook(owner_api, receiver((200, {})).url, active=False)
    assert made["active"] is False
    assert db.session.get(Webhook, made["id"]).active is False
