"""Security headers on every response, user files that never render as our pages, templates
without inline code, and cookies that are Secure whenever the request came over HTTPS."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from werkzeug.http import parse_options_header

from formloom.app_templates import load_definition
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import Department, Role
from formloom.runtime.records import service

PACKAGE = Path(__file__).resolve().parents[2] / "formloom"
TEMPLATES = sorted(p for p in PACKAGE.rglob("templates/**/*.html"))

# Inline code a Content-Security-Policy without 'unsafe-inline' refuses (or that needs eval).
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*\btype=\"application/(?:ld\+)?json\")[^>]*>", re.I)
HANDLER = re.compile(r"<[a-z][^>]*\s(?:on[a-z]+|hx-on[:\w-]*)\s*=", re.I)
JS_URL = re.compile(r"javascript:", re.I)
INLINE_STYLE = re.compile(r"<style\b|<[a-z][^>]*\sstyle\s*=", re.I)


def inline_code(html: str, styles: bool = True) -> list[str]:
    """What in this HTML the pages' policy would block."""
    checks = [("inline script", INLINE_SCRIPT), ("inline event handler", HANDLER), ("javascript: URL", JS_URL)]
    if styles:
        checks.append(("inline style", INLINE_STYLE))
    return [f"{what}: {m.group(0)[:80]}" for what, rx in checks for m in rx.finditer(html)]


def assert_secure_headers(resp, where: str) -> None:
    h = resp.headers
    assert h.get("X-Content-Type-Options") == "nosniff", where
    assert h.get("X-Frame-Options") == "DENY", where
    assert h.get("Referrer-Policy") == "same-origin", where
    policy = h.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in policy and "unsafe" not in policy, where
    page = resp.mimetype == "text/html" and not h.get("Content-Disposition", "").startswith("attachment")
    if page:
        assert "script-src 'self'" in policy and "style-src 'self'" in policy and "object-src 'none'" in policy, where
    else:
        assert "default-src 'none'" in policy and "sandbox" in policy, where


# -- every page -------------------------------------------------------------------------------------

@pytest.fixture
def owner(make):
    return make.user("Olga Owner", admin=True)


@pytest.fixture
def world(app, make, owner):
    """An app with records, a file, a department and a role: real values for URL arguments."""
    rt = make.install(load_definition("sales_mini"), owner=owner)  # the example, with its dashboard
    actor = make.actor(owner)
    acme = service.create(actor, rt, "company", {"name": "Acme Ltd", "tier": "A"})
    deal = service.create(actor, rt, "deal", {"title": "Renewal", "company": acme["id"]})
    with write_transaction():
        dept = Department(name="Sales")
        role = Role(key="sales_rep", name="Sales rep")
        db.session.add_all([dept, role])
    token = make.token(owner)
    return {"app": rt, "deal": deal["id"], "dept": dept.id, "role": role.id, "token": token}


def _upload(client, token, name: str, content_type: str, body: bytes = b"<script>alert(1)</script>") -> dict:
    resp = client.post("/api/v1/apps/sales_mini/files", headers={"Authorization": f"Bearer {token}"},
                       data={"file": (io.BytesIO(body), name, content_type)}, content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()


def _get(client, url: str, **kwargs):
    """GET, with a streamed body (a file) read and its file closed."""
    resp = client.get(url, **kwargs)
    resp.get_data()
    resp.close()
    return resp


def _samples(world, file_id) -> dict:
    """A value for each URL argument of a GET route (unknown ones fail the walk)."""
    return {
        "app_key": "sales_mini", "form_key": "deal", "record_id": world["deal"], "file_id": file_id,
        "user_id": 1, "dept_id": world["dept"], "role_id": world["role"], "kind": "users",
        "task_id": 1, "webhook_id": 1, "refresh_id": 1, "key": "nightly", "token": "no-such-invite",
        "view_key": "pipeline", "dashboard_key": "sales_review", "widget_key": "by_month", "import_id": 1, "number": 1, "app_id": 1,
    }


STATIC_FILES = {"platform.static": "formloom.js", "web.static": "web.css", "builder.static": "builder.css",
                "static": "missing.txt"}


def test_every_get_route_answers_with_the_security_headers(app, client, auth, owner, world):
    file_id = _upload(client, world["token"], "notes.txt", "text/plain")["id"]
    auth.login(owner.email)
    samples = _samples(world, file_id)
    pages, seen = 0, []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        values = {}
        for arg in rule.arguments:
            if arg == "filename":
                values[arg] = STATIC_FILES[rule.endpoint]
            else:
                assert arg in samples, f"give the walk a sample value for <{arg}> ({rule.rule})"
                values[arg] = samples[arg]
        url = rule.build(values)[1]
        headers = {"Authorization": f"Bearer {world['token']}"} if url.startswith("/api/") else {}
        resp = _get(client, url, headers=headers)
        assert_secure_headers(resp, f"{rule.endpoint} {url} ({resp.status_code})")
        if resp.status_code == 200 and resp.mimetype == "text/html":
            pages += 1
            assert inline_code(resp.get_data(as_text=True)) == [], url
        seen.append((rule.endpoint, resp.status_code))
    ok = {endpoint for endpoint, status in seen if status == 200}
    # The walk reached real pages, not only "not found": records, org, builder, API, static.
    assert {"web.record_list", "web.record_detail", "web.record_edit", "web.download", "org.users",
            "org.department_form", "org.role_edit", "builder.permissions", "jobs_web.index", "api.list_records",
            "api.download_file", "platform.static", "builder.static", "web.dashboard_page", "web.dashboard_export",
            "api.widget_data", "api.widget_drill"} <= ok, sorted(seen)
    assert pages >= 25, sorted(seen)


@pytest.mark.parametrize("method, url", [
    ("GET", "/no/such/page"), ("GET", "/api/v1/no/such/thing"), ("DELETE", "/login"), ("POST", "/api/v1/apps"),
])
def test_error_pages_and_problems_carry_them_too(client, method, url):
    resp = client.open(url, method=method)
    assert resp.status_code >= 400
    assert_secure_headers(resp, url)


def test_an_unexpected_error_page_carries_them(app_with):
    prod = app_with(TESTING=False, PROPAGATE_EXCEPTIONS=False)

    @prod.get("/boom")
    def boom():
        raise RuntimeError("boom")

    resp = prod.test_client().get("/boom")
    assert resp.status_code == 500
    assert_secure_headers(resp, "/boom")


# -- user files -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, content_type", [
    ("page.html", "text/html"), ("drawing.svg", "image/svg+xml"), ("page.xhtml", "application/xhtml+xml"),
    ("fake.png", "text/html"),
])
@pytest.mark.parametrize("route", ["/a/sales_mini/files/{id}", "/a/sales_mini/files/{id}?inline=1",
                                   "/api/v1/apps/sales_mini/files/{id}"])
def test_an_uploaded_page_or_drawing_never_renders_as_ours(client, auth, owner, world, name, content_type, route):
    file_id = _upload(client, world["token"], name, content_type)["id"]
    auth.login(owner.email)
    if route.startswith("/api/"):
        auth.logout()
    resp = _get(client, route.format(id=file_id), headers={"Authorization": f"Bearer {world['token']}"})
    assert resp.status_code == 200
    assert resp.mimetype == "application/octet-stream"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert_secure_headers(resp, route)
    assert "sandbox" in resp.headers["Content-Security-Policy"]


def test_an_image_shown_inline_is_still_sandboxed_and_not_sniffed(client, auth, owner, world):
    file_id = _upload(client, world["token"], "logo.png", "image/png", b"\x89PNG\r\n\x1a\n<html><script>")["id"]
    auth.login(owner.email)
    resp = _get(client, f"/a/sales_mini/files/{file_id}?inline=1")
    assert resp.mimetype == "image/png" and resp.headers["Content-Disposition"].startswith("inline;")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in resp.headers["Content-Security-Policy"]


@pytest.mark.parametrize("name", ['a"b.txt', 'x\\"; filename=evil.html', "报价单 v2.txt", "a;b=c.txt"])
def test_a_file_name_cannot_break_out_of_its_content_disposition(client, auth, owner, world, name):
    stored = _upload(client, world["token"], name, "text/plain")
    auth.login(owner.email)
    resp = _get(client, f"/a/sales_mini/files/{stored['id']}")
    # One attachment whose one name is the whole stored name: nothing in it starts a parameter.
    assert parse_options_header(resp.headers["Content-Disposition"]) == ("attachment", {"filename": stored["name"]})


# -- templates ------------------------------------------------------------------------------------

def test_the_checker_finds_what_the_policy_blocks():
    assert len(inline_code('<script>x()</script><a href="javascript:x()" onclick="y()">'
                           '<p style="color:red"><style>p{}</style><b hx-on:click="z()">')) == 6
    assert inline_code('<script src="/a.js"></script><script type="application/json">{}</script>'
                       '<p data-onclick="x" class="fl-online">Click on=this</p>') == []


JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_template_has_inline_code(template):
    # Emails are not pages: mail clients need their inline styles, and run no scripts at all.
    email = "templates/mail/" in template.as_posix()
    source = JINJA_COMMENT.sub("", template.read_text("utf-8"))
    assert inline_code(source, styles=not email) == []


# -- cookies --------------------------------------------------------------------------------------

def _cookies(resp) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in resp.headers.getlist("Set-Cookie")}


def _sign_in(client, email, base_url="http://localhost", **headers):
    return client.post("/login", base_url=base_url, headers=headers,
                       data={"email": email, "password": "secret-pass-1", "remember": "y"})


def test_cookies_are_secure_when_the_request_came_over_https(client, owner):
    over_https = _cookies(_sign_in(client, owner.email, base_url="https://localhost"))
    assert "Secure" in over_https["session"] and "Secure" in over_https["remember_token"]
    assert "HttpOnly" in over_https["session"] and "HttpOnly" in over_https["remember_token"]
    over_http = _cookies(_sign_in(client, owner.email))
    assert "Secure" not in over_http["session"] and "Secure" not in over_http["remember_token"]


def test_behind_a_proxy_its_forwarded_proto_counts_once_configured(app_with):
    from formloom.platform.cli import ensure_user

    direct, proxied = app_with(), app_with(FORMLOOM_PROXY_FIX=1)
    user = ensure_user("pat@example.com", "Pat Proxy", "secret-pass-1")
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    assert "Secure" not in _cookies(_sign_in(direct.test_client(), user.email, **forwarded))["session"]
    assert "Secure" in _cookies(_sign_in(proxied.test_client(), user.email, **forwarded))["session"]


def test_the_proxy_setting_is_read_from_the_environment(monkeypatch, tmp_path):
    from formloom.config import load_config

    monkeypatch.setenv("FORMLOOM_PROXY_FIX", "2")
    assert load_config(tmp_path)["FORMLOOM_PROXY_FIX"] == 2
    monkeypatch.setenv("FORMLOOM_PROXY_FIX", "yes")
    with pytest.raises(ValueError, match="FORMLOOM_PROXY_FIX"):
        load_config(tmp_path)
