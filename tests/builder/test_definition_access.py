"""Who reads what of a definition, and automations' webhook URLs (security issue 12, findings 1-2).

Members get a reduced definition of the same shape (their forms, the fields they may see,
the views and dashboards they may open); app admins the whole one with webhook URLs masked;
`?reveal=secrets` unmasks them for app admins and is audited. A definition saved back with a
masked URL keeps the stored URL. A webhook URL the server may not call is refused when the
draft is validated and at publish, with a pointer to the action.
"""
from __future__ import annotations

import copy
import json

import pytest
import sqlalchemy as sa

from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import App, AuditEvent, Role

from support_formloom import DATA, problem

APP = "/api/v1/apps/sales_mini"
SECRET_URL = "https://93.184.216.34:8443/hooks/T0001/SECRET-TOKEN?sig=abc123"
MASKED = "https://93.184.216.34:8443/…"


def definition(url: str = SECRET_URL) -> dict:
    defn = json.loads((DATA / "sales-mini.json").read_text("utf-8"))
    defn["roles"] = [{"key": "rep", "name": "Rep"}]
    defn["permissions"] = [{"form": "company", "to": {"role": "rep"}, "preset": "manage_own",
                            "fields": {"hidden": ["revenue"]}}]
    defn["automations"] = [{"key": "tell", "trigger": {"on": "record_created", "form": "company"},
                            "actions": [{"type": "notify", "to": [{"role": "rep"}], "title": "Private note to reps"},
                                        {"type": "webhook", "url": url}]}]
    defn["views"] = [{"key": "companies", "form": "company", "columns": ["name", "tier"]},
                     {"key": "by_revenue", "form": "company", "sort": "-revenue"},
                     {"key": "deals", "form": "deal"}]
    defn["dashboards"] = [
        {"key": "home", "widgets": [{"key": "n", "type": "kpi", "source": {"form": "company",
                                                                           "measures": [{"agg": "count"}]}}]},
        {"key": "pipeline", "widgets": [{"key": "total", "type": "kpi", "source": {
            "form": "deal", "measures": [{"agg": "sum", "field": "amount"}]}}]}]
    return defn


@pytest.fixture
def people(app, make):
    with write_transaction():
        rep = Role(key="rep", name="Rep")
        db.session.add(rep)
    return make.user("Owner", password=None), make.user("Rita", password=None, roles=[rep])


@pytest.fixture
def installed(people, make):
    owner, _rep = people
    make.install(definition(), owner=owner)
    return people


def reveals() -> list[AuditEvent]:
    return db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "reveal")).scalars().all()


def test_a_member_reads_only_what_using_the_app_needs(any_db, installed, api_as):
    _owner, rep = installed
    resp = api_as(rep).get(f"{APP}/definition")
    assert resp.status_code == 200
    body = resp.get_json()
    text = resp.get_data(as_text=True)
    assert "SECRET-TOKEN" not in text and "93.184.216.34" not in text and "Private note" not in text
    assert set(body) == {"key", "name", "forms", "views", "dashboards"}
    [company] = body["forms"]  # the grant names only companies; deals and quotes are not theirs
    assert company["key"] == "company" and company["name"]
    fields = [f["key"] for f in company["fields"]]
    assert "revenue" not in fields and fields[:2] == ["name", "tier"]
    assert [v["key"] for v in body["views"]] == ["companies"]
    assert [d["key"] for d in body["dashboards"]] == ["home"]
    # The same fields as the form's schema lists.
    schema = api_as(rep).get(f"{APP}/forms/company/schema").get_json()
    assert set(fields) == set(schema["properties"])
    problem(api_as(rep).get(f"{APP}/definition?reveal=secrets"), 403)
    assert reveals() == []
    # The OpenAPI document lists the same forms.
    schemas = api_as(rep).get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert "SalesMiniCompany" in schemas and "SalesMiniDeal" not in schemas


def test_an_admin_reads_the_whole_definition_with_urls_masked_and_may_reveal_them(any_db, installed, api_as):
    owner, _rep = installed
    api = api_as(owner)
    body = api.get(f"{APP}/definition").get_json()
    expected = definition()
    expected["automations"][0]["actions"][1]["url"] = MASKED
    assert body == expected
    assert api.get(f"{APP}/draft").get_json() == expected
    assert reveals() == []
    assert api.get(f"{APP}/definition?reveal=secrets").get_json() == definition()
    assert api.get(f"{APP}/draft?reveal=secrets").get_json() == definition()
    assert [(e.actor_id, e.object_id) for e in reveals()] == [(owner.id, "sales_mini")] * 2
    problem(api.get(f"{APP}/definition?reveal=yes"), 422)
    # The automations' own API and run history say where a webhook goes, masked.
    listed = api.get(f"{APP}/automations")
    said = json.dumps(listed.get_json(), ensure_ascii=False)
    assert listed.status_code == 200 and MASKED in said and "SECRET-TOKEN" not in said


def test_saving_back_a_masked_definition_keeps_the_stored_url(any_db, installed, api_as):
    owner, _rep = installed
    api = api_as(owner)
    got = api.get(f"{APP}/definition").get_json()
    got["name"] = "Sales (renamed)"
    saved = api.put(f"{APP}/draft", json=got).get_json()
    assert saved["valid"], saved
    assert api.get(f"{APP}/draft?reveal=secrets").get_json()["automations"][0]["actions"][1]["url"] == SECRET_URL
    assert api.post(f"{APP}/publish", json={}).status_code == 200
    published = api.get(f"{APP}/definition?reveal=secrets").get_json()
    assert published["name"] == "Sales (renamed)" and published["automations"][0]["actions"][1]["url"] == SECRET_URL
    # Moved to another place, the one URL with that mask is still found; a new URL is taken as sent.
    got["automations"].insert(0, {"key": "first", "trigger": {"on": "record_created", "form": "deal"},
                                  "actions": [{"type": "webhook", "url": MASKED}]})
    got["automations"][1]["actions"][1]["url"] = "https://93.184.216.34/other"
    assert api.put(f"{APP}/draft", json=got).get_json()["valid"]
    stored = db.session.execute(sa.select(App.draft).where(App.key == "sales_mini")).scalar()
    assert [a["actions"][-1]["url"] for a in stored["automations"]] == [SECRET_URL, "https://93.184.216.34/other"]


def test_a_masked_url_that_stands_for_nothing_is_an_error(any_db, people, make, api_as):
    owner, _rep = people
    body = problem(api_as(owner).post("/api/v1/apps", json=definition("https://93.184.216.34/…")), 422)
    assert [e["pointer"] for e in body["errors"]] == ["/automations/0/actions/1/url"]
    assert "masked" in body["errors"][0]["message"]
    assert db.session.execute(sa.select(App.id)).first() is None
    make.install(definition(), owner=owner)
    other = definition("https://203.0.113.9:1/…")
    other["automations"][0]["actions"][1]["url"] = "https://93.184.216.35/…"
    saved = api_as(owner).put(f"{APP}/draft", json=other).get_json()
    assert saved["errors"] == [{"pointer": "/automations/0/actions/1/url", "message": saved["errors"][0]["message"]}]
    problem(api_as(owner).post(f"{APP}/publish", json={}), 422)


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data", "http://10.0.0.1/hook",
                                 "http://[::1]:8080/hook", "file:///etc/passwd", "http://0x7f000001/hook"])
def test_a_webhook_url_the_server_may_not_call_is_refused_at_draft_and_publish(any_db, people, make, api_as, url):
    owner, _rep = people
    api = api_as(owner)
    pointer = "/automations/0/actions/1/url"
    body = problem(api.post("/api/v1/apps", json=definition(url)), 422)
    assert [e["pointer"] for e in body["errors"]] == [pointer]
    assert db.session.execute(sa.select(App.id)).first() is None  # nothing half-made
    make.install(definition(), owner=owner)
    saved = api.put(f"{APP}/draft", json=definition(url)).get_json()
    assert saved["valid"] is False and [e["pointer"] for e in saved["errors"]] == [pointer]
    body = problem(api.post(f"{APP}/publish", json={}), 422)
    assert [e["pointer"] for e in body["errors"]] == [pointer]
    message = body["errors"][0]["message"]
    assert message.startswith("is not allowed: ") or (url.startswith("file:") and "http" in message)


def test_allowed_hosts_let_a_local_receiver_be_published(any_db, app, make, api_as, monkeypatch):
    monkeypatch.setitem(app.config, "FORMLOOM_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    owner = make.user("Owner", password=None)
    local = copy.deepcopy(definition("http://127.0.0.1:9/hook"))
    local.pop("roles"), local.pop("permissions")
    local["automations"][0]["actions"].pop(0)
    assert api_as(owner).post("/api/v1/apps", json=local).status_code == 201
