"""Errors carry a stable code and parameters; the message is said in the reader's language at
the edge (platform/messages.py): the API gives the code, the parameters and English, pages the
catalogue's words by code."""
import pytest
from flask_babel import force_locale

from formloom.platform import hooks, messages, org
from formloom.platform.exceptions import Conflict, NotFound


@pytest.fixture
def admin_api(any_db, app, make, api_as):
    return api_as(make.user("Admin", admin=True, password=None))


def test_an_api_error_has_the_same_code_in_chinese_and_english(admin_api):
    assert admin_api.post("/api/v1/roles", json={"key": "sales_rep", "name": "Sales rep"}).status_code == 201
    bodies = {}
    for lang in ("zh-CN", "en"):
        resp = admin_api.post("/api/v1/roles", json={"key": "sales_rep", "name": "Again"},
                              headers={"Accept-Language": lang})
        assert resp.status_code == 409 and resp.mimetype == "application/problem+json"
        bodies[lang] = resp.get_json()
    assert bodies["zh-CN"]["code"] == bodies["en"]["code"] == "org.role_key_taken"
    assert bodies["zh-CN"]["params"] == bodies["en"]["params"] == {"key": "sales_rep"}
    assert bodies["zh-CN"]["detail"] == bodies["en"]["detail"] == 'A role "sales_rep" exists already'


@pytest.mark.parametrize(("url", "code"), [("/api/v1/roles/999999", "org.no_role"),
                                           ("/api/v1/apps/no_such_app", "not_found"),  # no message: its class's code
                                           ("/api/v1/no-such-route", "not_found")])  # HTTP's own 404
def test_every_api_error_has_one_code_in_both_languages(admin_api, url, code):
    codes = set()
    for lang in ("zh-CN", "en"):
        resp = admin_api.patch(url, json={"name": "x"}, headers={"Accept-Language": lang})
        assert resp.status_code == 404
        codes.add(resp.get_json()["code"])
    assert codes == {code}


def test_pages_say_an_error_in_the_readers_language_by_code(app):
    exc = Conflict.of(org.KEY_TAKEN, key="sales_rep")
    assert exc.message == 'A role "sales_rep" exists already' and exc.code == "org.role_key_taken"
    with app.test_request_context(), force_locale("zh_CN"):
        chinese = exc.localized()
    with app.test_request_context(), force_locale("en"):
        english = exc.localized()
    assert english == exc.message
    assert "sales_rep" in chinese and chinese != english and any(ord(c) > 0x2E80 for c in chinese)
    # an error raised with words of its own keeps them
    assert NotFound("no such thing").localized() == "no such thing"


def test_every_message_has_a_chinese_translation(app):
    from formloom.runtime.automations import messages as automation_messages
    from formloom.runtime.flows import messages as flow_messages

    said = set(messages.catalogue().values())
    assert {hooks.SAME_USER, org.DEPT_IN_USE, flow_messages.IN_FLOW, automation_messages.NO_RUN} <= said
    missing = []
    with app.test_request_context(), force_locale("zh_CN"):
        for code, msg in messages.catalogue().items():
            params = {k: "x" for k in __import__("re").findall(r"%\((\w+)\)s", msg.text)}
            if msg.localized(**params) == msg.english(**params):
                missing.append(code)
    assert not missing, f"no Chinese for: {missing}"


def test_a_code_is_declared_once():
    with pytest.raises(ValueError):
        messages.message("org.role_key_taken", "Something else")
    with pytest.raises(ValueError):
        messages.message("Not A Code", "x")
