"""Sessions end for real: signing out, a new password and deactivation end every session and
remember-me cookie of the user, copies included; other changes to the user keep them."""
import pytest

from formloom.platform.extensions import db
from formloom.platform.models import User

REMEMBER = "remember_token"


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def copy(app, source, *names):
    """A new browser holding only these cookies of `source` (what a thief would copy)."""
    other = app.test_client()
    for name in names:
        cookie = source.get_cookie(name)
        assert cookie is not None, f"no {name} cookie"
        other.set_cookie(name, cookie.value)
    return other


@pytest.fixture
def ann(make):
    return make.user("Ann")


@pytest.fixture
def browser(app, ann):
    """Ann's browser, signed in with "remember me"."""
    client = app.test_client()
    assert client.post("/login", data={"email": ann.email, "password": "secret-pass-1", "remember": "y"}
                       ).status_code == 302
    return client


def test_signing_out_ends_copies_of_the_session_and_the_remember_me_cookie(app, browser):
    session_copy = copy(app, browser, "session")
    remember_copy = copy(app, browser, REMEMBER)
    assert signed_in(session_copy) and signed_in(remember_copy)  # each alone is a way in
    laptop = copy(app, browser, "session", REMEMBER)
    browser.post("/logout")
    assert not signed_in(browser)
    assert not signed_in(session_copy) and not signed_in(remember_copy)
    assert not signed_in(laptop)  # signing out ends every session of the user


def test_a_password_set_by_an_administrator_ends_every_session(any_db, app, make, ann, browser, api_as):
    admin = make.user("Admin", admin=True)
    remember_copy = copy(app, browser, REMEMBER)
    response = api_as(admin).patch(f"/api/v1/users/{ann.id}", json={"password": "a-new-password"})
    assert response.status_code == 200
    assert not signed_in(browser) and not signed_in(remember_copy)
    fresh = app.test_client()
    assert fresh.post("/login", data={"email": ann.email, "password": "a-new-password"}).status_code == 302
    assert signed_in(fresh)


@pytest.mark.parametrize("via", ["web", "api"])
def test_deactivation_ends_every_session_and_reactivation_does_not_revive_them(any_db, app, make, ann, browser,
                                                                                 api_as, via):
    admin = make.user("Admin", admin=True)
    remember_copy = copy(app, browser, REMEMBER)
    if via == "web":
        admin_browser = app.test_client()
        admin_browser.post("/login", data={"email": admin.email, "password": "secret-pass-1"})
        assert admin_browser.post(f"/org/users/{ann.id}/deactivate").status_code == 302
        assert admin_browser.post(f"/org/users/{ann.id}/reactivate").status_code == 302
    else:
        assert api_as(admin).post(f"/api/v1/users/{ann.id}/deactivate").status_code == 200
        assert api_as(admin).post(f"/api/v1/users/{ann.id}/reactivate").status_code == 200
    db.session.rollback()
    assert db.session.get(User, ann.id).active  # back, but the old cookies stay dead
    assert not signed_in(browser) and not signed_in(remember_copy)


def test_role_and_administrator_changes_keep_sessions(app, make, ann, browser, api_as):
    admin = make.user("Admin", admin=True)
    api_as(admin).post("/api/v1/roles", json={"key": "sales", "name": "Sales"})
    response = api_as(admin).patch(f"/api/v1/users/{ann.id}", json={"roles": ["sales"], "is_admin": True,
                                                                      "name": "Ann B."})
    assert response.status_code == 200
    assert signed_in(browser)


def test_a_cookie_from_before_session_generations_is_refused(app, ann):
    client = app.test_client()
    with client.session_transaction() as sess:  # what Flask-Login wrote before: the bare id
        sess["_user_id"] = str(ann.id)
        sess["_fresh"] = True
    assert not signed_in(client)


def test_the_session_holds_the_generation(app, ann, browser):
    with browser.session_transaction() as sess:
        assert sess["_user_id"] == f"{ann.id}:{db.session.get(User, ann.id).session_generation}"
