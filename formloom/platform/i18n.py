"""Locale selection, the language switch and the template helpers every page relies on.

`init_app(app)` binds Flask-Babel, registers the `platform` blueprint (`POST /language`)
and a context processor with `url_for_safe`, `current_locale` and `available_locales`.
"""
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel import Locale
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    has_app_context,
    has_request_context,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import get_locale, get_timezone
from flask_login import current_user
from werkzeug.exceptions import default_exceptions

from formloom.platform.extensions import babel, db, write_transaction

SUPPORTED_LOCALES = ("zh_CN", "en")


def N_(text: str) -> str:
    """Mark `text` for the translation catalog; it is translated later, where it is shown."""
    return text

# Babel turns "zh_CN" into zh_Hans_CN (so its catalog lives in translations/zh_Hans_CN);
# this maps the parsed locale back to the code the app uses everywhere else.
_PARSED = {Locale.parse(code): code for code in SUPPORTED_LOCALES}
# Each language is named in itself, so a reader can find their own language in either UI.
AVAILABLE_LOCALES = [("zh_CN", "中文"), ("en", "English")]
TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"

# The shell's templates and assets travel with this blueprint, so any app that calls
# `init_app` finds base.html & co. (its own template folder still wins) and serves the
# vendored files at /static/platform/... whatever its own static folder is.
bp = Blueprint(
    "platform",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/platform",
)


def init_app(app: Flask) -> None:
    """Bind Flask-Babel with our selectors, the language switch and the template helpers."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    app.config.setdefault("FORMLOOM_TIMEZONE", "Asia/Shanghai")
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    # Extraction (babel.cfg) trims {% trans %} blocks; rendering must trim them the same
    # way or their msgids would not match the catalog.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.register_blueprint(bp)
    app.context_processor(ui_context)
    app.jinja_env.filters["moment"] = format_moment


# --- locale and timezone -------------------------------------------------------------------

def _supported(value) -> str | None:
    """`value` if it names a locale we ship, else None (stale or hand-edited values)."""
    return value if value in SUPPORTED_LOCALES else None


def _signed_in_user():
    """The signed-in user, or None; tolerates apps (and CLI contexts) without Flask-Login."""
    if not has_request_context() or not hasattr(current_app, "login_manager"):
        return None
    return current_user if current_user.is_authenticated else None


def _accept_language_match() -> str | None:
    """Best Accept-Language match; any Chinese variant falls back to Simplified Chinese."""
    match = request.accept_languages.best_match(SUPPORTED_LOCALES)
    if match:
        return match
    # zh-TW / zh-HK readers are better served by Chinese than by the English fallback.
    for lang, _quality in request.accept_languages:
        if lang.lower().startswith("zh"):
            return "zh_CN"
    return None


def select_locale() -> str:
    """The user's saved locale, else the session's choice, else the browser's, else the default."""
    default = current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")
    if not has_request_context():
        return default
    user = _signed_in_user()
    return (
        _supported(getattr(user, "locale", None))
        or _supported(session.get("lang"))
        or _accept_language_match()
        or default
    )


def select_timezone() -> str:
    """One timezone per instance: dates in a workflow must read the same for every user."""
    return current_app.config["FORMLOOM_TIMEZONE"]


# --- the language switch -------------------------------------------------------------------

def safe_next(target: str | None) -> str:
    """`target` if it is a path on this site, else '/'. Stops open redirects via `next`."""
    if not target:
        return "/"
    # Browsers read a backslash as a slash ("/\\evil.example" is protocol-relative) and drop
    # tabs/newlines inside URLs, so anything carrying them is refused outright.
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _save_user_locale(lang: str) -> None:
    """Remember the choice on the user's account so it follows them to other devices."""
    user = _signed_in_user()
    if user is None or not hasattr(user, "locale"):
        return
    with write_transaction():
        user.locale = lang


@bp.post("/language")
def set_language():
    """Switch the UI language (form fields `lang`, `next`); CSRF-protected like every POST."""
    lang = _supported(request.form.get("lang"))
    if lang is None:
        abort(400)
    session["lang"] = lang
    _save_user_locale(lang)
    return redirect(safe_next(request.form.get("next")))


# --- template helpers ----------------------------------------------------------------------

def url_for_safe(endpoint: str, **values) -> str:
    """`url_for`, but '#' when the endpoint is not registered (yet) in this app.

    Lets the shell link to areas other blueprints provide without breaking when one of
    them is disabled or not written yet. Missing URL arguments still raise: that is a bug.
    """
    if endpoint not in current_app.view_functions:
        return "#"
    return url_for(endpoint, **values)


def current_locale_name() -> str:
    """The active locale as one of our codes ('zh_CN', 'en'), not Babel's 'zh_Hans_CN'."""
    locale = get_locale()
    if locale is None:
        return current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")
    return _PARSED.get(locale, str(locale))


def localized(source, key: str = "name", locale: str | None = None, default: str = "") -> str:
    """A definition's text in the reader's language: `key` (Chinese) or `key + "_en"` (English),
    each falling back to the other, then to `default`. The one place that picks between
    `name`/`name_en`, `label`/`label_en` (apps, forms, fields, options, views, flows, steps,
    automations): pages, exports, emails and notifications all call it. `source` is a dict
    or an object with those attributes; `locale` defaults to the reader's."""
    if source is None:
        return default
    if isinstance(source, dict):
        base, english = source.get(key), source.get(f"{key}_en")
    else:
        base, english = getattr(source, key, None), getattr(source, f"{key}_en", None)
    if locale is None:
        locale = current_locale_name() if has_app_context() else "zh_CN"
    first, second = (english, base) if locale.startswith("en") else (base, english)
    return first or second or default


MOMENT = "%Y-%m-%d %H:%M"
MOMENT_SECONDS = "%Y-%m-%d %H:%M:%S"


def format_moment(value: datetime | None, tz=None, seconds: bool = False) -> str:
    """A moment as every page, export and email shows it, in either language: "2026-12-07 14:05"
    (with seconds for logs), in `tz` (a name or ZoneInfo; the instance's time zone by default,
    an app's pages pass the app's). A naive value is UTC, as the database keeps it. The Jinja
    filter `moment` is this function."""
    if value is None:
        return ""
    if tz is None:
        tz = get_timezone() if has_app_context() else UTC
    if isinstance(tz, str):
        tz = ZoneInfo(tz)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz).strftime(MOMENT_SECONDS if seconds else MOMENT)


def app_names(ids=None, locale: str | None = None) -> dict[int, str]:
    """{app id: the app's name in the reader's language} for `ids` (every app when None),
    in that order of names."""
    import sqlalchemy as sa

    from formloom.platform.models import App

    stmt = sa.select(App.id, App.name, App.name_en).order_by(App.name)
    if ids is not None:
        ids = set(ids)
        if not ids:
            return {}
        stmt = stmt.where(App.id.in_(ids))
    return {row.id: localized(row, "name", locale) for row in db.session.execute(stmt)}


def error_detail(detail: str | None, status: int | None = None) -> str:
    """`detail` for an error page, or '' when it is Werkzeug's stock English description.

    Those descriptions are never translated; the page's own (translated) text reads better.
    """
    if not detail:
        return ""
    stock = default_exceptions.get(status)
    if stock is not None and detail == stock.description:
        return ""
    return detail


def ui_context() -> dict:
    """Values every template can use."""
    return {
        "url_for_safe": url_for_safe,
        "error_detail": error_detail,
        "current_locale": current_locale_name(),
        "localized": localized,
        "available_locales": AVAILABLE_LOCALES,
    }
