"""What every page needs: the actor, the app's runtime, the form, the reader's language."""
from __future__ import annotations

from dataclasses import dataclass

from flask import url_for

from formloom.platform.actor import Actor
from formloom.platform.auth import current_actor
from formloom.platform.i18n import current_locale_name
from formloom.runtime import access
from formloom.runtime.apps import AppRuntime, get_runtime
from formloom.runtime.definition import FormDef


@dataclass
class Page:
    """The app (and form) a page is about, as the signed-in actor sees it."""

    actor: Actor
    runtime: AppRuntime
    role: str
    locale: str
    form: FormDef | None = None

    @property
    def app_name(self) -> str:
        return app_name(self.runtime, self.locale)

    @property
    def form_name(self) -> str:
        return self.form.display_name(self.locale) if self.form else ""

    def forms(self) -> list[FormDef]:
        return list(self.runtime.definition.forms.values())

    def url(self, endpoint: str, **values) -> str:
        values.setdefault("app_key", self.runtime.key)
        if self.form is not None and endpoint != "web.app_home":
            values.setdefault("form_key", self.form.key)
        return url_for(endpoint, **values)


def app_name(runtime: AppRuntime, locale: str) -> str:
    raw = runtime.raw
    if locale.startswith("en") and raw.get("name_en"):
        return raw["name_en"]
    return raw.get("name") or runtime.name


def load(app_key: str, form_key: str | None = None) -> Page:
    """The page context. Raises NotFound for an unknown app or form, or a non-member."""
    who = current_actor()  # pages are login_required, so never None here
    runtime = get_runtime(app_key)
    role = access.require_app(who, runtime)
    form = runtime.form(form_key) if form_key else None
    return Page(who, runtime, role, current_locale_name(), form)


def icon_name(value: str | None, fallback: str) -> str:
    """A Bootstrap icon name from a definition, or the fallback for anything odd."""
    if value and value.replace("-", "").isalnum() and value.isascii():
        return value
    return fallback
