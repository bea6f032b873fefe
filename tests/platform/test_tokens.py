"""Each user's API tokens: the page, the API, read-only and one-app limits, no escalation."""
import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from formloom.platform.extensions import db
from formloom.platform.models import ApiToken, AuditEvent, utcnow

from support_formloom import DATA, Api, problem

RECORDS = "/api/v1/apps/{app}/forms/company/records"


@pytest.fixture
def client(app):
    """A client whose browser asks for English (the default language is Chinese)."""
    test_client = app.test_client()
    test_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return test_client


def token_row(token_id: int) -> ApiToken:
    db.session.expire_all()
    return db.session.get(ApiToken, token_id)


def new_token_on(page) -> str:
    found = re.search(r'id="fl-new-token" type="text" value="(flt_[^"]+)"', page.get_data(as_text=True))
    assert found, page.get_data(as_text=True)[:2000]
    return found.group(1)


def install(make, key: str, owner, members=()):
    definition = json.loads((DATA / "sales-mini.json").read_text("utf-8"))
    definition.update(key=key, name=key.replace("_", " ").title())
    return make.install(definition, owner, members=members)


@pytest.fixture
def two_apps(make):
    """Tia uses sales_one and sales_two; nobody but the owner uses sales_three."""
    owner, tia = make.user("Owner"), make.user("Tia")
    one, two = install(make, "sales_one", owner, [tia]), install(make, "sales_two", owner, [tia])
    three = install(make, "sales_three", owner)
    return tia, one, two, three


# --- the page ----------------------------------------------------------------------------

def test_page_creates_lists_and_revokes(client, auth, make):
    user = make.user("Paula")
    auth.login(user.email)
    empty = client.get("/account/tokens").get_data(as_text=True)
    assert "No API tokens yet" in empty and "/account/tokens" in client.get("/").get_data(as_text=True)

    created = client.post("/account/tokens", data={"name": "Nightly export", "read_only": "y", "app": ""})
    assert created.status_code == 200
    token = new_token_on(created)
    html = created.get_data(as_text=True)
    assert "Nightly export" in html and "Copy" in html and "Read-only" in html
    row = db.session.execute(sa.select(ApiToken)).scalar_one()
    assert (row.name, row.read_only, row.app_id, row.user_id) == ("Nightly export", True, None, user.id)
    assert token.startswith(row.prefix)

    listed = client.get("/account/tokens").get_data(as_text=True)
    assert f"{row.prefix}…" in listed and token not in listed  # shown once, then only its prefix
    assert Api(client, token).get("/api/v1/tokens").status_code == 200

    revoked = client.post(f"/account/tokens/{row.id}/revoke", follow_redirects=True)
    assert revoked.status_code == 200 and "is revoked" in revoked.get_data(as_text=True)
    assert token_row(row.id).revoked_at is not None
    assert "No API tokens yet" in client.get("/account/tokens").get_data(as_text=True)

    logged = list(db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "token")
                                     .order_by(AuditEvent.id)).scalars())
    assert [(e.actor_id, e.object_type, e.object_id) for e in logged] == [(user.id, "token", str(row.id))] * 2
    assert logged[0].after["read_only"] is True and logged[1].after["revoked"] is True
    for event in logged:  # never the secret, nor its hash
        text = json.dumps([event.before, event.after, event.detail, event.object_label])
        assert token[12:] not in text and row.token_hash not in text


def test_page_keeps_input_and_says_what_is_wrong(client, auth, two_apps):
    tia, _one, _two, three = two_apps
    auth.login(tia.email)
    response = client.post("/account/tokens", data={"name": "  ", "app": ""})
    assert response.status_code == 422
    assert "is-invalid" in response.get_data(as_text=True)
    response = client.post("/account/tokens", data={"name": "Sneaky", "app": str(three.app_id)})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'value="Sneaky"' in html and 'id="app-error"' in html
    assert db.session.execute(sa.select(sa.func.count()).select_from(ApiToken)).scalar() == 0


def test_page_offers_only_apps_the_user_may_use(client, auth, make, two_apps):
    tia, one, two, three = two_apps
    auth.login(tia.email)
    options = re.findall(r'<option[^>]*value="(\d+)"', client.get("/account/tokens").get_data(as_text=True))
    assert sorted(options) == sorted([str(one.app_id), str(two.app_id)])
    auth.logout()
    auth.login(make.user("Boss", admin=True).email)
    options = re.findall(r'<option[^>]*value="(\d+)"', client.get("/account/tokens").get_data(as_text=True))
    assert sorted(options) == sorted(str(rt.app_id) for rt in (one, two, three))


def test_a_limited_token_is_created_from_the_page(client, auth, two_apps):
    tia, one, two, _three = two_apps
    auth.login(tia.email)
    token = new_token_on(client.post("/account/tokens", data={"name": "One only", "app": str(one.app_id)}))
    client.post("/logout")
    api = Api(client, token)
    assert api.get(RECORDS.format(app="sales_one")).status_code == 200
    problem(api.get(RECORDS.format(app="sales_two")), 404)


# --- what a token may do -------------------------------------------------------------------

def test_revoked_token_is_rejected_by_the_records_api(any_db, make, api_as, two_apps):
    tia = two_apps[0]
    api = api_as(tia)
    assert api.get(RECORDS.format(app="sales_one")).status_code == 200
    own = api.get("/api/v1/tokens").get_json()["items"]
    assert len(own) == 1
    assert api.delete(f"/api/v1/tokens/{own[0]['id']}").status_code == 204
    body = problem(api.get(RECORDS.format(app="sales_one")), 401)
    assert "not valid" in body["detail"]


def test_read_only_token_is_refused_on_writes(make, api_as, two_apps):
    tia = two_apps[0]
    api = api_as(tia, read_only=True)
    assert api.get(RECORDS.format(app="sales_one")).status_code == 200
    problem(api.post(RECORDS.format(app="sales_one"), json={"fields": {"name": "Acme"}}), 403)
    problem(api.post("/api/v1/tokens", json={"name": "Broader", "read_only": False}), 403)
    problem(api.post("/api/v1/tokens", json={"name": "Same", "read_only": True}), 403)
    assert db.session.execute(sa.select(sa.func.count()).select_from(ApiToken)).scalar() == 1


def test_app_limited_token_is_refused_on_another_app(make, api_as, two_apps):
    tia, one, _two, _three = two_apps
    api = api_as(tia, app_id=one.app_id)
    assert api.post(RECORDS.format(app="sales_one"), json={"fields": {"name": "Acme"}}).status_code == 201
    problem(api.get(RECORDS.format(app="sales_two")), 404)
    problem(api.post(RECORDS.format(app="sales_two"), json={"fields": {"name": "Acme"}}), 404)


def test_a_token_cannot_make_a_broader_one(make, api_as, two_apps):
    tia, one, _two, _three = two_apps
    limited = api_as(tia, app_id=one.app_id)
    problem(limited.post("/api/v1/tokens", json={"name": "Everything"}), 403)
    problem(limited.post("/api/v1/tokens", json={"name": "Other app", "app": "sales_two"}), 403)
    made = limited.post("/api/v1/tokens", json={"name": "Same app", "app": "sales_one", "read_only": True})
    assert made.status_code == 201
    body = made.get_json()
    assert (body["app"], body["read_only"], body["token"][:4]) == ("sales_one", True, "flt_")
    problem(Api(limited.client, body["token"]).get(RECORDS.format(app="sales_two")), 404)

    unlimited = api_as(tia).get("/api/v1/tokens").get_json()["items"]
    broad = next(t for t in unlimited if t["app"] is None)
    problem(limited.delete(f"/api/v1/tokens/{broad['id']}"), 403)  # nor revoke a broader one
    assert token_row(broad["id"]).revoked_at is None


def test_api_says_what_is_wrong(make, api_as, two_apps):
    api = api_as(two_apps[0])
    assert problem(api.post("/api/v1/tokens", json={}), 422)["errors"][0]["field"] == "name"
    assert problem(api.post("/api/v1/tokens", json={"name": "x", "read_only": "yes"}), 422)["errors"][0]["field"] == "read_only"
    assert problem(api.post("/api/v1/tokens", json={"name": "x", "app": "no_such"}), 422)["errors"][0]["field"] == "app"
    assert problem(api.post("/api/v1/tokens", json={"name": "x", "app": "sales_three"}), 422)["errors"][0]["field"] == "app"


def test_other_users_tokens_are_invisible(client, auth, make, api_as):
    vic, wendy = make.user("Vic"), make.user("Wendy")
    vic_api = api_as(vic)
    wendy_token = make.token(wendy, name="Wendy's script")
    wendy_id = db.session.execute(sa.select(ApiToken.id).where(ApiToken.user_id == wendy.id)).scalar_one()
    names = [t["name"] for t in vic_api.get("/api/v1/tokens").get_json()["items"]]
    assert "Wendy's script" not in names
    problem(vic_api.delete(f"/api/v1/tokens/{wendy_id}"), 404)
    auth.login(vic.email)
    assert "Wendy&#39;s script" not in client.get("/account/tokens").get_data(as_text=True)
    assert client.post(f"/account/tokens/{wendy_id}/revoke").status_code == 404
    client.post("/logout")
    assert Api(client, wendy_token).get("/api/v1/tokens").status_code == 200


def test_last_used_is_written_at_most_once_a_minute(any_db, client, make):
    user = make.user("Lu")
    api = Api(client, make.token(user))
    token_id = db.session.execute(sa.select(ApiToken.id)).scalar_one()
    assert token_row(token_id).last_used_at is None
    api.get("/api/v1/tokens")
    first = token_row(token_id).last_used_at
    assert first is not None
    api.get("/api/v1/tokens")
    assert token_row(token_id).last_used_at == first  # within the minute: no write
    earlier = utcnow() - timedelta(minutes=2)
    db.session.execute(sa.update(ApiToken).values(last_used_at=earlier))
    db.session.commit()
    listed = api.get("/api/v1/tokens").get_json()["items"][0]
    assert token_row(token_id).last_used_at > earlier + timedelta(minutes=1)
    assert listed["last_used_at"].endswith("Z")
