"""What every page needs: the actor, the app's runtime, the form, the reader's language."""
from __future__ import annotations

from dataclasses import dataclass, replace

from flask import url_for

from formloom.platform.actor import Actor
from formloom.platform.auth import current_actor
from formloom.platform.i18n import current_locale_name
from formloom.runtime import access
from formloom.runtime.apps import AppRuntime, get_runtime
from formloom.runtime.definition import FormDef
from formloom.runtime.views.query import open_views


@dataclass
class Page:
    """The app (and form) a page is about, as the signed-in actor sees it."""

    actor: Actor
    runtime: AppRuntime
    role: str
    locale: str
    form: FormDef | None = None  # as the actor may see it (see `actor_form`)
    access: access.FormAccess | None = None

    @property
    def app_name(self) -> str:
        return app_name(self.runtime, self.locale)

    @property
    def is_admin(self) -> bool:
        """Whether the actor administers the app: its members, its permissions."""
        return self.role == "admin"

    @property
    def form_name(self) -> str:
        return self.form.display_name(self.locale) if self.form else ""

    def forms(self) -> list[FormDef]:
        """The app's forms the actor may open: to see records, or to add them."""
        return [f for f in self.runtime.definition.forms.values()
                if self.can("view", f.key) or self.can("add", f.key)]

    def views(self) -> list:
        """The app's views the actor may open (runtime/views/query.py decides), in order."""

        return open_views(self.actor, self.runtime)

    def can(self, action: str, form_key: str | None = None) -> bool:
        """Whether the actor may `action` in this page's form (or another of the app)."""
        if form_key is None or (self.form is not None and form_key == self.form.key):
            return self.access is not None and self.access.can(action)
        return access.form_access(self.actor, self.runtime, form_key).can(action)

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
    if not form_key:
        return Page(who, runtime, role, current_locale_name())
    fa = access.form_access(who, runtime, form_key)
    # Lists, filters and pickers show only what every grant that shows rows shows.
    return Page(who, runtime, role, current_locale_name(), actor_form(runtime.form(form_key), fa.hidden()), fa)


def actor_form(form: FormDef, hidden=frozenset(), locked=frozenset()) -> FormDef:
    """The form as one actor meets it: fields hidden from them hidden, fields they may not
    change read-only. Pages draw this; the records service still checks every write."""
    if not hidden and not locked:
        return form
    fields = {k: {**f, "hidden": True} if k in hidden else {**f, "readonly": True} if k in locked else f
              for k, f in form.fields.items()}
    return replace(form, fields=fields)


def record_form(page: Page, record: dict) -> FormDef:
    """The page's form for one record the actor reads (`record` as the records service gave it)."""
    return actor_form(page.runtime.form(page.form.key), set(record.get("hidden", ())), set(record.get("locked", ())))


def icon_name(value: str | None, fallback: str) -> str:
    """A Bootstrap icon name from a definition, or the fallback for anything odd."""
    if value and value.replace("-", "").isalnum() and value.isascii():
        return value
    return fallback
