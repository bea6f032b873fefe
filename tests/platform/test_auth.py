"""Signing in and out, API tokens, CSRF for cookie sessions on the API (rate limits:
test_rate_limits.py, ending sessions: test_sessions.py)."""
import re

import sqlalchemy as sa

from formloom.platform.extensions import db
from formloom.platform.models import ApiToken, User

from support_formloom import Factory


def test_password_is_stored_hashed(app_with):
    flask_app = app_with(FORMLOOM_PASSWORD_METHOD="scrypt")  # the production setting
    user = Factory(flask_app).user("Hash", password="correct horse battery")
    row = db.session.get(User, user.id)
    assert "correct horse" not in row.password_hash
    assert row.password_hash.startswith("scrypt:")
    assert row.check_password("correct horse battery") and not row.check_password("wrong")


def test_login_and_logout(client, auth, make):
    user = make.user("Ann")
    response = auth.login(user.email)
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    auth.logout()
    assert client.get("/").status_code == 302  # back to the sign-in page


def test_wrong_password_is_refused_with_a_message(client, auth, make):
    user = make.user("Bob")
    response = auth.login(user.email, "not-the-password")
    assert response.status_code == 401
    assert client.get("/").status_code == 302
    assert b"alert" in response.data


def test_deactivated_user_cannot_sign_in(client, auth, make):
    user = make.user("Gone", active=False)
    assert auth.login(user.email).status_code == 401


def test_login_redirects_only_to_own_site(client, make):
    user = make.user("Nina")
    response = client.post("/login", data={"email": user.email, "password": "secret-pass-1",
                                           "next": "https://evil.example/steal"})
    assert response.headers["Location"] == "/"
    client.post("/logout")
    response = client.post("/login", data={"email": user.email, "password": "secret-pass-1", "next": "/a/x"})
    assert response.headers["Location"] == "/a/x"


def test_api_token_acts_as_its_user(client, make):
    user = make.user("Tom")
    token = make.token(user)
    assert token.startswith("flt_")
    response = client.get("/api/v1/apps", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    stored = db.session.execute(sa.select(ApiToken)).scalar_one()
    assert stored.token_hash != token and token not in stored.prefix + stored.token_hash


def test_bad_or_revoked_token_gets_401_problem(client, make):
    user = make.user("Uma")
    token = make.token(user)
    response = client.get("/api/v1/apps", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert "not valid" in response.json["detail"]
    db.session.execute(sa.update(ApiToken).values(revoked_at=sa.func.now()))
    db.session.commit()
    assert client.get("/api/v1/apps", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.get("/api/v1/apps").status_code == 401


def test_read_only_token_cannot_write(client, make):
    user = make.user("Ro", admin=True)
    token = make.token(user, read_only=True)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/apps", headers=headers).status_code == 200
    response = client.post("/api/v1/roles", json={"key": "x", "name": "X"}, headers=headers)
    assert response.status_code == 403


def test_cookie_session_needs_csrf_header_for_api_writes(app_with):
    flask_app = app_with(WTF_CSRF_ENABLED=True)
    user = Factory(flask_app).user("Cs", admin=True)
    client = flask_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf-token" content="([^"]+)"', page)
    assert csrf, "the login page carries a CSRF token"
    token = csrf.group(1)
    client.post("/login", data={"email": user.email, "password": "secret-pass-1", "csrf_token": token})
    assert client.post("/api/v1/roles", json={"key": "r1", "name": "R"}).status_code == 403
    ok = client.post("/api/v1/roles", json={"key": "r1", "name": "R"}, headers={"X-CSRFToken": token})
    assert ok.status_code == 201


def test_login_form_refuses_missing_csrf(app_with):
    flask_app = app_with(WTF_CSRF_ENABLED=True)
    user = Factory(flask_app).user("Nc")
    client = flask_app.test_client()
    response = client.post("/login", data={"email": user.email, "password": "secret-pass-1"})
    assert response.status_code in (400, 200)
    assert client.get("/").status_code == 302
