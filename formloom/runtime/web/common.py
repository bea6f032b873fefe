"""What every page needs: the actor, the app's runtime, the form, the reader's language."""
from __future__ import annotations

from dataclasses import dataclass, replace
from dataclasses import field as dc_field

from flask import url_for

from formloom.platform.actor import Actor
from formloom.platform.auth import current_actor
from formloom.platform.i18n import current_locale_name, localized
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
    _views: list | None = dc_field(default=None, repr=False, compare=False)

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

        if self._views is None:  # asked once per form by the navigation: read once
            self._views = open_views(self.actor, self.runtime)
        return self._views

    def dashboards(self) -> list:
        """The app's dashboards the actor may open (some widget's form they may view), in order."""
        from formloom.runtime.web.dashboards import open_dashboards

        return open_dashboards(self)

    def form_views(self, form_key: str | None = None) -> list:
        """The views of one form (this page's) the actor may open, in order."""
        key = form_key or (self.form.key if self.form else None)
        return [v for v in self.views() if v.form == key]

    def form_url(self, form_key: str) -> str:
        """Where a form opens: its default view (when the definition names one the actor may
        open), else its record list."""
        for v in self.form_views(form_key):
            if v.raw.get("default") is True:
                return url_for("web.view_page", app_key=self.runtime.key, view_key=v.key)
        return url_for("web.record_list", app_key=self.runtime.key, form_key=form_key)

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


def app_name(runtime: AppRuntime, locale: str | None = None) -> str:
    return localized(runtime.raw, "name", locale, runtime.name)


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
