"""The webhook pages: /a/<app>/webhooks (list, new, edit, switch on, new secret, delete, delivery log)."""
from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa

from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import OutboxEvent, Webhook, utcnow
from formloom.platform.webhooks import delivery
from formloom.runtime.records import service as records

from support_formloom import Api, browser

LIST = "/a/sales_mini/webhooks"


@pytest.fixture
def app(app_with):
    # The test receiver listens on 127.0.0.1: only that literal address is let through.
    return app_with(FORMLOOM_JOBS_EAGER=True, FORMLOOM_WEBHOOK_ALLOWED_HOSTS="127.0.0.1")


@pytest.fixture
def owner(make):
    return make.user("Owner")


@pytest.fixture
def rt(make, owner):
    return make.install("sales-mini", owner=owner)


@pytest.fixture
def olga(app, owner, rt):
    return browser(app, owner)


def said(resp) -> str:
    """The page as text, tags removed and spaces squeezed: what a reader reads."""
    text = re.sub(r"<script.*?</script>|<style.*?</style>", " ", resp.get_data(as_text=True), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text))).strip()


def row(resp, attr: str, value) -> str:
    """What a reader reads in the table row carrying attr="value"."""
    found = re.search(rf'<tr {attr}="{value}">(.*?)</tr>', resp.get_data(as_text=True), flags=re.S)
    assert found, f"no row {attr}={value}"
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", found.group(1)))).strip()


def ticked(resp, name: str) -> bool:
    """Whether the checkbox `name` is ticked."""
    found = re.search(rf'<input[^>]*name="{name}"[^>]*>', resp.get_data(as_text=True))
    assert found, name
    return " checked" in found.group(0)


def hooks() -> list[Webhook]:
    db.session.rollback()
    return list(db.session.execute(sa.select(Webhook).order_by(Webhook.id)).scalars())


def create(client, url, **extra):
    data = {"url": url, "events": ["record.created", "record.updated"], **extra}
    resp = client.post(f"{LIST}/new", data=data)
    assert resp.status_code == 200, said(resp)
    return resp


def send_event(make, owner, rt, name):
    """Add a company and run the webhook fan-out for it (its delivery job runs at once)."""
    records.create(make.actor(owner), rt, "company", {"name": name})
    event = db.session.execute(sa.select(OutboxEvent).order_by(OutboxEvent.id.desc()).limit(1)).scalar_one()
    delivery.fanout({"event_id": event.id})
    db.session.rollback()
    return event.id


def test_the_empty_list_says_what_webhooks_are(olga):
    page = olga.get(LIST)
    assert page.status_code == 200
    text = said(page)
    assert "No webhooks yet" in text and "signed with a secret" in text
    assert f'href="{LIST}/new"' in page.get_data(as_text=True)
    assert re.search(rf'class="nav-link active" href="{LIST}" aria-current="page"', page.get_data(as_text=True))
    form = olga.get(f"{LIST}/new")
    assert form.status_code == 200
    assert re.findall(r'name="events"[^>]*value="([a-z.]+)" checked', form.get_data(as_text=True)) == [
        "record.created", "record.updated", "record.deleted", "record.restored"]  # every event to start with
    assert "A deleted record is restored" in said(form) and '<option selected value="">Every form</option>' in \
        form.get_data(as_text=True)


def test_create_shows_the_secret_once(olga, receiver):
    url = receiver().url
    resp = create(olga, url, name="CRM sync", form_key="company")
    [hook] = hooks()
    assert (hook.name, hook.url, hook.events, hook.form_key, hook.active) == (
        "CRM sync", url, ["record.created", "record.updated"], "company", True)
    body = resp.get_data(as_text=True)
    assert f'value="{hook.secret}"' in body and "data-copy-target" in body
    assert resp.headers["Cache-Control"] == "no-store"
    text = said(resp)
    assert "Webhook “CRM sync” created" in text and "shown only this once" in text
    assert "X-Formloom-Timestamp" in text and "X-Formloom-Signature" in text and "sha256=<hex>" in text

    again = olga.get(f"{LIST}/{hook.id}")
    assert again.status_code == 200 and hook.secret not in again.get_data(as_text=True)
    assert "shown only this once" not in said(again)
    listed = olga.get(LIST)
    assert hook.secret not in listed.get_data(as_text=True)
    assert row(listed, "data-webhook", hook.id) == (
        f"CRM sync {url} A record is added A record is changed Company Active None yet")


def test_a_loopback_url_is_refused_next_to_the_field(olga):
    resp = olga.post(f"{LIST}/new", data={"url": "http://localhost:8080/h", "name": "Mine",
                                          "events": ["record.deleted"], "form_key": "deal"})
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    error = re.search(r'id="url-error"><div>(.*?)</div>', body, flags=re.S)  # under the URL field
    assert error and html.unescape(re.sub(r"<[^>]+>", "", error.group(1))).startswith(
        "URL is not allowed: ")
    assert 'value="http://localhost:8080/h"' in body and 'value="Mine"' in body  # kept as typed
    assert re.findall(r'name="events"[^>]*value="([a-z.]+)" checked', body) == ["record.deleted"]
    assert '<option selected value="deal">' in body
    assert hooks() == []

    resp = olga.post(f"{LIST}/new", data={"url": "https://example.com/h"})  # no event ticked
    assert resp.status_code == 422 and "Choose at least one event." in said(resp)
    resp = olga.post(f"{LIST}/new", data={"url": " ", "events": ["record.created"]})
    assert resp.status_code == 422 and "Enter the address to send the events to." in said(resp)
    assert hooks() == []


def test_edit_a_webhook(olga, receiver):
    create(olga, receiver().url, name="Old name")
    [hook] = hooks()
    form = olga.get(f"{LIST}/{hook.id}/edit")
    assert form.status_code == 200 and 'value="Old name"' in form.get_data(as_text=True)
    assert ticked(form, "active")
    resp = olga.post(f"{LIST}/{hook.id}/edit", data={"name": "New name", "url": hook.url, "events": ["record.deleted"],
                                                     "form_key": "deal", "active": "y"}, follow_redirects=True)
    assert resp.request.path == f"{LIST}/{hook.id}"
    assert "Webhook “New name” was saved." in said(resp)
    [hook] = hooks()
    assert (hook.name, hook.events, hook.form_key, hook.active) == ("New name", ["record.deleted"], "deal", True)

    resp = olga.post(f"{LIST}/{hook.id}/edit", data={"name": "Newer", "url": "http://169.254.169.254/latest",
                                                     "events": ["record.deleted"], "active": "y"})
    assert resp.status_code == 422 and "URL is not allowed" in said(resp)
    assert (hooks()[0].name, hooks()[0].url) == ("New name", hook.url)  # nothing of the refused change kept

    olga.post(f"{LIST}/{hook.id}/edit", data={"name": "New name", "url": hook.url, "events": ["record.deleted"],
                                              "form_key": ""})  # switch unticked: off
    assert (hooks()[0].active, hooks()[0].form_key) == (False, None)
    assert "Switched off by an administrator" in row(olga.get(LIST), "data-webhook", hook.id)


def test_switch_a_webhook_that_was_switched_off_on_again(olga, receiver, make, owner, rt):
    server = receiver()
    create(olga, server.url, name="ERP")
    [hook] = hooks()
    with write_transaction():  # as the deliveries leave it after five failures
        db.session.execute(sa.update(Webhook).where(Webhook.id == hook.id).values(
            active=False, consecutive_failures=5, disabled_at=utcnow(),
            disabled_reason="5 failed deliveries in a row; the last: HTTP 500"))
    line = row(olga.get(LIST), "data-webhook", hook.id)
    assert "Switched off" in line and "the last: HTTP 500" in line and "5 failed deliveries in a row" in line
    for name in ("Held 1", "Held 2"):  # events while it is off: held, not dropped
        records.create(make.actor(owner), rt, "company", {"name": name})
    delivery.outbox.dispatch()
    line = row(olga.get(LIST), "data-webhook", hook.id)
    assert "2 deliveries held: sent, in order, when the webhook is switched on" in line
    olga.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    assert "2 次投递暂存中" in olga.get(LIST).get_data(as_text=True)
    olga.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    detail = olga.get(f"{LIST}/{hook.id}")
    assert "Switch on again" in said(detail) and "The webhook is off" in said(detail)

    resp = olga.post(f"{LIST}/{hook.id}/on", follow_redirects=True)
    assert "Webhook “ERP” is on again" in said(resp)
    [hook] = hooks()
    assert (hook.active, hook.consecutive_failures, hook.disabled_at, hook.disabled_reason) == (True, 0, None, None)
    assert "Active" in row(olga.get(LIST), "data-webhook", hook.id)
    assert "held" not in row(olga.get(LIST), "data-webhook", hook.id)  # switched on: sent
    import json

    assert [json.loads(r["body"])["record"]["fields"]["name"] for r in server.requests] == ["Held 1", "Held 2"]


def test_a_new_secret_is_shown_once(olga, receiver):
    create(olga, receiver().url)
    [hook] = hooks()
    old = hook.secret
    resp = olga.post(f"{LIST}/{hook.id}/secret")
    [hook] = hooks()
    assert resp.status_code == 200 and hook.secret != old
    assert f'value="{hook.secret}"' in resp.get_data(as_text=True)
    assert "The previous secret no longer works." in said(resp)
    assert hook.secret not in olga.get(f"{LIST}/{hook.id}").get_data(as_text=True)


def test_delete_a_webhook(olga, receiver):
    create(olga, receiver().url, name="Gone soon")
    hook_id = hooks()[0].id
    detail = olga.get(f"{LIST}/{hook_id}").get_data(as_text=True)
    assert f'action="{LIST}/{hook_id}/delete" class="fl-inline-form" data-confirm="Delete the webhook' in detail
    resp = olga.post(f"{LIST}/{hook_id}/delete", follow_redirects=True)
    assert resp.request.path == LIST and "Webhook “Gone soon” was deleted" in said(resp)
    assert hooks() == [] and "No webhooks yet" in said(resp)
    assert olga.get(f"{LIST}/{hook_id}").status_code == 404


def test_the_delivery_log_shows_what_was_sent(any_db, make, owner, rt, olga, receiver):
    server = receiver((200, {}), (500, {}))
    create(olga, server.url, name="Sink", events=["record.created"])
    [hook] = hooks()
    empty = olga.get(f"{LIST}/{hook.id}")
    assert "Nothing sent yet" in said(empty) and "data-delivery" not in empty.get_data(as_text=True)

    first = send_event(make, owner, rt, "Acme")
    second = send_event(make, owner, rt, "Globex")
    assert len(server.requests) == 2
    page = olga.get(f"{LIST}/{hook.id}")
    rows = re.findall(r'<tr data-delivery="(\d+)">', page.get_data(as_text=True))
    assert len(rows) == 2
    newest, oldest = row(page, "data-delivery", rows[0]), row(page, "data-delivery", rows[1])
    assert re.fullmatch(rf"\S+ \S+ A record is added #{second} · record.created 1 Failed HTTP 500 \d+ ms \S+ \S+",
                        newest), newest  # retried later: the time of the next attempt
    assert re.fullmatch(rf"\S+ \S+ A record is added #{first} · record.created 1 Delivered HTTP 200 \d+ ms —",
                        oldest), oldest
    listed = row(olga.get(LIST), "data-webhook", hook.id)
    assert "Failed HTTP 500" in listed and "1 failed delivery in a row" in listed


def test_only_app_admins_reach_the_pages(app, make, owner, receiver):
    member, outsider = make.user("Member"), make.user("Outsider")
    make.install("sales-mini", owner=owner, members=[member])
    create(browser(app, owner), receiver().url)
    [hook] = hooks()
    reads = [LIST, f"{LIST}/new", f"{LIST}/{hook.id}", f"{LIST}/{hook.id}/edit"]
    writes = [f"{LIST}/new", f"{LIST}/{hook.id}/edit", f"{LIST}/{hook.id}/secret", f"{LIST}/{hook.id}/on",
              f"{LIST}/{hook.id}/off", f"{LIST}/{hook.id}/delete"]
    sam, fay = browser(app, member), browser(app, outsider)
    for url in reads:
        resp = sam.get(url)
        assert resp.status_code == 403 and "Only the app's administrators can manage its webhooks." in said(resp)
        assert fay.get(url).status_code == 404  # outsiders are not told the app exists
    for url in writes:
        assert sam.post(url, data={"url": "https://example.com/h", "events": ["record.created"]}).status_code == 403
    assert "Webhooks" not in said(sam.get("/a/sales_mini"))
    assert "Webhooks" in said(browser(app, owner).get("/a/sales_mini"))

    read_only = Api(app.test_client(), make.token(owner, read_only=True))
    for url in reads:  # pages take session cookies only: a token is sent to sign in
        assert read_only.get(url).headers.get("Location", "").startswith("/login")
    for url in writes:
        resp = read_only.post(url, data={"url": "https://example.com/h", "events": ["record.created"]})
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    [after] = hooks()
    assert (after.id, after.secret, after.active) == (hook.id, hook.secret, True)
