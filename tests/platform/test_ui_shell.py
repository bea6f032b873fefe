"""The UI shell: base layout, language switch, vendored assets and the UI macros.

Builds its own tiny app (no database): the shell must render before the rest of Formloom
exists, so these tests keep other areas out of the picture.
"""
import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Blueprint, Flask, flash, render_template, render_template_string
from flask_login import LoginManager, UserMixin
from flask_wtf import CSRFProtect, FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired

from formloom.platform import i18n

PLATFORM = Path(__file__).resolve().parents[2] / "formloom" / "platform"
TEMPLATES = PLATFORM / "templates"
STATIC = PLATFORM / "static"
VENDOR = STATIC / "vendor"

PAGE = """{% extends "base.html" %}{% import "macros/ui.html" as ui %}
{% block title %}Records{% endblock %}
{% block breadcrumbs %}{{ ui.crumb("Home", "/") }}{{ ui.crumb("Records") }}{% endblock %}
{% block page_actions %}<a class="btn btn-primary" href="#">New</a>{% endblock %}
{% block content %}{{ ui.empty_state("inbox", "Nothing yet", "Add one.", "/new", "Add") }}{% endblock %}
"""


class FakeUser(UserMixin):
    def __init__(self, user_id, name, email):
        self.id = user_id
        self.name = name
        self.email = email


class FakeUserWithLocale(FakeUser):
    locale = None


USERS = {
    "ann": FakeUser("ann", "Ann Lee", "ann@example.com"),
    "wang": FakeUserWithLocale("wang", "王小明", "wang@example.com"),
}


def make_app() -> Flask:
    app = Flask(__name__, template_folder=str(TEMPLATES), static_folder=str(STATIC))
    app.config.update(
        SECRET_KEY="test-secret",
        TESTING=True,
        BABEL_DEFAULT_LOCALE="zh_CN",
        FORMLOOM_TIMEZONE="Asia/Shanghai",
    )
    CSRFProtect(app)
    login = LoginManager(app)
    login.user_loader(USERS.get)
    # Tests sign in per request with a header instead of a login view.
    login.request_loader(lambda request: USERS.get(request.headers.get("X-Test-User", "")))
    i18n.init_app(app)

    web = Blueprint("web", __name__)
    web.add_url_rule("/", "index", lambda: render_template_string(PAGE))
    web.add_url_rule("/flash", "flash", _flash_page)
    web.add_url_rule("/login", "login", _login_page, methods=["GET", "POST"])
    auth = Blueprint("auth", __name__)
    auth.add_url_rule("/logout", "logout", lambda: "", methods=["POST"])
    app.register_blueprint(web)
    app.register_blueprint(auth)
    return app


def _flash_page():
    for category in ("success", "info", "warning", "danger", "error", "message"):
        flash(f"note-{category}", category)
    return render_template_string(PAGE)


class LoginForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Remember me")
    next = HiddenField()


def _login_page():
    form = LoginForm()
    if form.validate_on_submit():
        flash("Wrong email or password.", "danger")
    return render_template("auth/login.html", form=form)


@pytest.fixture()
def app():
    return make_app()


@pytest.fixture()
def client(app):
    return app.test_client()


def get_html(client, path="/", **headers) -> str:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def csrf_token(client) -> str:
    html = get_html(client)
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


# --- locale selection and rendering ----------------------------------------------------------

def test_base_renders_in_chinese_for_a_signed_in_user(client):
    html = get_html(client, **{"X-Test-User": "ann", "Accept-Language": "zh-CN,zh;q=0.9"})
    assert '<html lang="zh-CN">' in html
    assert "退出登录" in html  # "Sign out"
    assert "应用" in html  # "Apps"
    assert "Ann Lee" in html
    assert "Sign out" not in html


def test_base_renders_in_english(client):
    html = get_html(client, **{"X-Test-User": "ann", "Accept-Language": "en-US,en;q=0.8"})
    assert '<html lang="en">' in html
    assert "Sign out" in html
    assert "退出登录" not in html


def test_anonymous_page_has_no_user_menu_but_has_the_language_switch(client):
    html = get_html(client, **{"Accept-Language": "en"})
    assert "Sign out" not in html
    assert 'name="lang" value="zh_CN"' in html and 'name="lang" value="en"' in html
    assert "中文" in html and "English" in html


def test_page_header_title_breadcrumbs_and_actions(client):
    html = get_html(client, **{"Accept-Language": "en"})
    assert "<title>Records · Formloom</title>" in html
    assert '<h1 class="fl-page-title">Records</h1>' in html
    assert 'aria-current="page">Records</li>' in html
    assert 'class="fl-page-actions"' in html
    assert 'class="fl-empty"' in html


def test_any_chinese_variant_and_the_default_pick_chinese(client):
    assert '<html lang="zh-CN">' in get_html(client, **{"Accept-Language": "zh-TW"})
    assert '<html lang="zh-CN">' in get_html(client, **{"Accept-Language": "fr"})  # default


def test_user_locale_beats_session_and_session_beats_browser(client):
    with client.session_transaction() as sess:
        sess["lang"] = "en"
    assert '<html lang="en">' in get_html(client, **{"Accept-Language": "zh-CN"})
    USERS["wang"].locale = "zh_CN"
    try:
        html = get_html(client, **{"Accept-Language": "en", "X-Test-User": "wang"})
    finally:
        USERS["wang"].locale = None
    assert '<html lang="zh-CN">' in html


def test_timezone_comes_from_config(app):
    with app.test_request_context():
        assert i18n.select_timezone() == "Asia/Shanghai"


def test_flashes_render_as_alerts_by_category(client):
    html = get_html(client, "/flash", **{"Accept-Language": "en"})
    for kind, text in [("success", "success"), ("info", "info"), ("warning", "warning"),
                       ("danger", "danger"), ("danger", "error"), ("info", "message")]:
        assert re.search(rf'alert-{kind} [^>]*>\s*<i [^>]*></i>\s*<div>note-{text}</div>', html), text
    assert html.count("data-autodismiss") == 3  # success, info and the default "message"


# --- the language switch -----------------------------------------------------------------------

def test_language_switch_sets_the_session_and_follows_a_local_next(client):
    token = csrf_token(client)
    response = client.post("/language", data={"lang": "en", "next": "/flash?x=1", "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/flash?x=1"
    with client.session_transaction() as sess:
        assert sess["lang"] == "en"
    assert '<html lang="en">' in get_html(client, **{"Accept-Language": "zh-CN"})


@pytest.mark.parametrize("target", [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "evil.example",
    "/\tevil",
    "",
])
def test_language_switch_refuses_an_off_site_next(client, target):
    token = csrf_token(client)
    response = client.post("/language", data={"lang": "zh_CN", "next": target, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_language_switch_needs_csrf_and_a_known_language(client):
    assert client.post("/language", data={"lang": "en"}).status_code == 400
    token = csrf_token(client)
    assert client.post("/language", data={"lang": "fr", "csrf_token": token}).status_code == 400


def test_language_switch_saves_the_signed_in_users_locale(client, monkeypatch):
    commits = []

    @contextmanager
    def fake_write_transaction():
        yield
        commits.append(USERS["wang"].locale)

    monkeypatch.setattr(i18n, "write_transaction", fake_write_transaction)
    token = csrf_token(client)
    try:
        response = client.post("/language", data={"lang": "en", "csrf_token": token},
                               headers={"X-Test-User": "wang"})
        assert response.status_code == 302
        assert commits == ["en"]
    finally:
        USERS["wang"].locale = None


def test_language_switch_ignores_users_without_a_locale(client, monkeypatch):
    monkeypatch.setattr(i18n, "write_transaction", None)  # would fail if it were used
    token = csrf_token(client)
    response = client.post("/language", data={"lang": "en", "csrf_token": token},
                           headers={"X-Test-User": "ann"})
    assert response.status_code == 302


# --- assets ------------------------------------------------------------------------------------

def test_every_asset_the_layout_links_is_served(client):
    html = get_html(client)
    urls = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    assert len(urls) == 6
    for url in urls:
        with client.get(url) as response:
            assert response.status_code == 200, url
    with client.get("/static/platform/vendor/bootstrap-icons/fonts/bootstrap-icons.woff2") as response:
        assert response.status_code == 200


@pytest.mark.parametrize("package", ["bootstrap", "bootstrap-icons", "htmx"])
def test_vendored_packages_ship_their_licence(package):
    licence = VENDOR / package / "LICENSE"
    assert licence.is_file() and licence.stat().st_size > 200
    readme = (VENDOR / "README.md").read_text()
    assert f"`{package}/LICENSE`" in readme


def test_no_source_maps_or_woff_fallback_are_vendored():
    names = [p.name for p in VENDOR.rglob("*") if p.is_file()]
    assert not [n for n in names if n.endswith((".map", ".woff"))]


def test_templates_and_own_assets_load_nothing_from_the_network():
    files = [*TEMPLATES.rglob("*.html"), STATIC / "formloom.css", STATIC / "formloom.js"]
    assert len(files) >= 9
    for path in files:
        text = path.read_text()
        for needle in ("//cdn", "https://", "http://"):
            assert needle not in text, f"{needle} in {path.name}"


# --- template helpers and macros ---------------------------------------------------------------

def test_url_for_safe(app):
    with app.test_request_context():
        assert i18n.url_for_safe("web.index") == "/"
        assert i18n.url_for_safe("builder.apps") == "#"


@pytest.mark.parametrize(("target", "expected"), [
    ("/apps/1?tab=data", "/apps/1?tab=data"),
    ("https://evil.example/", "/"),
    ("//evil.example", "/"),
    (None, "/"),
])
def test_safe_next(target, expected):
    assert i18n.safe_next(target) == expected


class DemoForm(FlaskForm):
    class Meta:
        csrf = False

    title = StringField("Title", validators=[DataRequired()], description="Shown on top.")
    notes = TextAreaField("Notes")
    qty = IntegerField("Quantity")
    due = DateField("Due")
    urgent = BooleanField("Urgent")
    dept = SelectField("Department", choices=[SelectChoice("hr", "HR"), SelectChoice("it", "IT")])
    tags = SelectMultipleField("Tags", choices=[SelectChoice("a", "A"), SelectChoice("b", "B")])
    level = RadioField("Level", choices=[SelectChoice("l", "Low"), SelectChoice("h", "High")])
    token = HiddenField(default="t")


def render_macro(app, source, **context):
    with app.test_request_context():
        return render_template_string('{% import "macros/ui.html" as ui %}' + source, **context)


def test_render_field_shows_label_required_marker_errors_and_help(app):
    with app.test_request_context(method="POST", data={"title": ""}, headers={"Accept-Language": "en"}):
        form = DemoForm()
        form.validate()
        source = '{% import "macros/ui.html" as ui %}{{ ui.render_field(form.title) }}'
        html = render_template_string(source, form=form)
    assert '<label class="form-label" for="title">Title<span class="fl-required"' in html
    assert "form-control is-invalid" in html
    assert 'aria-describedby="title-error title-help"' in html
    assert re.search(r'class="invalid-feedback" id="title-error">.*This field is required', html, re.S)
    assert '<div class="form-text" id="title-help">Shown on top.</div>' in html


def test_render_field_handles_each_field_type(app):
    with app.test_request_context():
        form = DemoForm(tags=["b"], level="h")

        def render(name, **kw):
            source = '{% import "macros/ui.html" as ui %}{{ ui.render_field(field, **kw) }}'
            return render_template_string(source, field=form[name], kw=kw)

        assert 'rows="4"' in render("notes") and "<textarea" in render("notes")
        assert 'type="number"' in render("qty")
        assert 'type="date"' in render("due")
        assert "form-check form-switch" in render("urgent", switch=True)
        assert 'role="switch"' in render("urgent", switch=True)
        assert 'class="form-select"' in render("dept")
        tags = render("tags")
        assert tags.count('type="checkbox"') == 2 and 'value="b" checked' in tags
        assert "multiple" in render("tags", choices_as="select")
        level = render("level")
        assert level.count('type="radio"') == 2 and "<legend" in level
        assert render("token").strip().startswith('<input id="token" name="token" type="hidden"')


def test_badge_accepts_hex_and_bootstrap_names_only(app):
    html = render_macro(app, '{{ ui.badge("Done", "#d4380d") }}|{{ ui.badge("Ok", "success") }}'
                             '|{{ ui.badge("X", "red;background:url(x)") }}')
    assert '<span class="fl-badge" data-badge-color="#d4380d">Done</span>' in html
    assert '<span class="fl-badge fl-badge-success">Ok</span>' in html
    assert '<span class="fl-badge fl-badge-secondary">X</span>' in html
    assert "url(x)" not in html


def test_confirm_button_posts_with_csrf_token(app):
    html = render_macro(app, '{{ ui.confirm_button("/apps/1/delete", "Delete", "Sure?") }}')
    assert 'method="post" action="/apps/1/delete"' in html
    assert 'data-confirm="Sure?"' in html
    assert re.search(r'name="csrf_token" value="[^"]+"', html)
    htmx = render_macro(app, '{{ ui.confirm_button("/x", "Delete", "Sure?", method="delete") }}')
    assert 'hx-delete="/x"' in htmx and 'hx-confirm="Sure?"' in htmx


def test_pagination_and_empty_state(app):
    assert render_macro(app, "{{ ui.pagination(none, none) }}").strip() == ""
    html = render_macro(app, '{{ ui.pagination("/p?after=9", none) }}')
    assert 'href="/p?after=9" rel="next"' in html and "page-item disabled" in html
    empty = render_macro(app, '{{ ui.empty_state("inbox", "No data", "Add some.") }}')
    assert "bi-inbox" in empty and "No data" in empty and "btn" not in empty


@pytest.mark.parametrize("status", [403, 404, 409, 422, 500])
def test_error_pages_render_in_chinese(app, status):
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        html = render_template(f"errors/{status}.html", status=status)
    assert f'<div class="fl-error-code" aria-hidden="true">{status}</div>' in html
    assert "返回首页" in html  # "Back to home"


def test_error_page_hides_werkzeug_stock_text_but_shows_a_custom_detail(app):
    from werkzeug.exceptions import NotFound

    with app.test_request_context(headers={"Accept-Language": "en"}):
        stock = render_template("errors/404.html", detail=NotFound.description, status=404)
        custom = render_template("errors/404.html", detail="No such form.", status=404)
    assert NotFound.description not in stock and "doesn't exist" in stock
    assert "No such form." in custom


def test_login_page_shows_errors_and_the_bad_credentials_flash(client):
    html = get_html(client, "/login", **{"Accept-Language": "zh-CN"})
    assert "登录 Formloom" in html and 'name="remember"' in html and 'name="next"' in html
    token = csrf_token(client)
    response = client.post("/login", data={"email": "", "password": "", "csrf_token": token},
                           headers={"Accept-Language": "en"})
    assert "is-invalid" in response.get_data(as_text=True)
    response = client.post("/login", data={"email": "a@b.c", "password": "x", "csrf_token": token},
                           headers={"Accept-Language": "en"})
    assert "Wrong email or password." in response.get_data(as_text=True)
