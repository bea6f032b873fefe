"""End-user pages: the apps a user can use and an app's forms. Record pages live in
`records.py` and `editing.py`; importing them here registers their routes on `bp`."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import render_template, url_for
from flask_babel import ngettext
from flask_login import login_required

from formloom.platform.auth import current_actor
from formloom.platform.extensions import db
from formloom.platform.i18n import current_locale_name
from formloom.platform.models import App
from formloom.runtime import access
from formloom.runtime.apps import runtime_for
from formloom.runtime.views import counts
from formloom.runtime.web import dashboards, editing, export, files, imports, records, viewpage  # noqa: F401  (routes)
from formloom.runtime.web.blueprint import bp
from formloom.runtime.web.common import Page, app_name, icon_name, load
from formloom.runtime.web.display import records_phrase

COUNT_CAP = 10_000


@dataclass
class Card:
    title: str
    url: str
    icon: str
    text: str = ""
    meta: str = ""
    badge: str = ""
    can_add: bool = False
    color: str = ""  # an app's tile colour (app.schema.json "color")


def _apps_for(actor) -> list[tuple[App, str]]:
    """Published apps the actor may use with the actor's role, by name."""
    stmt = sa.select(App).where(App.published_version > 0, App.deleted_at.is_(None)).order_by(App.name)
    # Members come by user, department, role or a grant of the definition: app_role decides.
    apps = [(a, access.app_role(actor, a.id)) for a in db.session.execute(stmt).scalars()]
    return [(a, role) for a, role in apps if role]


@bp.route("/")
@login_required
def index():
    """The apps the signed-in person may use, as tiles."""
    actor = current_actor()
    locale = current_locale_name()
    cards, boards = [], []
    for app, role in _apps_for(actor):
        rt = runtime_for(app.id, app.published_version)
        if rt.definition.dashboards:  # the person's dashboards, across their apps
            page = Page(actor, rt, role, locale)
            boards += [Card(d.label(locale), url_for("web.dashboard_page", app_key=app.key, dashboard_key=d.key),
                            "bar-chart-line", d.raw.get("description", ""), app_name(rt, locale))
                       for d in dashboards.open_dashboards(page)]
        n = len(rt.definition.forms)
        cards.append(Card(app_name(rt, locale), url_for("web.app_home", app_key=app.key),
                          icon_name(rt.raw.get("icon"), "grid-1x2"),
                          rt.raw.get("description", ""), ngettext("%(num)d form", "%(num)d forms", n),
                          "admin" if role == "admin" else "", color=rt.raw.get("color", "")))
    return render_template("web/index.html", cards=cards, dashboards=boards)


@bp.route("/a/<app_key>")
@login_required
def app_home(app_key):
    """An app's forms, each with its (capped) number of records."""
    page = load(app_key)
    cards = []
    for form in page.forms():
        meta = ""
        if page.can("view", form.key):
            meta = records_phrase(counts.count(page.actor, page.runtime, form.key, cap=COUNT_CAP), page.locale)
        cards.append((form, Card(form.display_name(page.locale),
                                 page.url("web.record_list", form_key=form.key),
                                 icon_name(form.raw.get("icon"), "table"), form.raw.get("description", ""),
                                 meta, can_add=page.can("add", form.key))))
    return render_template("web/app.html", page=page, cards=cards)
