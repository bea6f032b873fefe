"""A dashboard's page: the filter bar (its values in the URL) and a grid of widgets, each
drawn by `static/dashboards.js` from the widget data API; a widget's rows as CSV or Excel;
a number's records (drill-down: the record list with the matching filter)."""
from __future__ import annotations

import json
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import login_required

from formloom.platform.extensions import db
from formloom.platform.models import Department
from formloom.runtime import access
from formloom.runtime.dashboards import service, widget_types
from formloom.runtime.dashboards.base import PERIODS, Dashboard
from formloom.runtime.dashboards.fields import resolve
from formloom.runtime.exceptions import NotFound, PermissionDenied, ValidationFailed
from formloom.runtime.fields.select import option_label, options
from formloom.runtime.web.blueprint import bp
from formloom.runtime.web.common import Page, load
from formloom.runtime.web.export import FORMATS, _csv_stream, _disposition, _xlsx

PREFIX = "/a/<app_key>/dashboards/<dashboard_key>"
PERIOD_LABELS = {
    "today": lazy_gettext("Today"), "yesterday": lazy_gettext("Yesterday"), "this_week": lazy_gettext("This week"),
    "last_week": lazy_gettext("Last week"), "this_month": lazy_gettext("This month"),
    "last_month": lazy_gettext("Last month"), "this_quarter": lazy_gettext("This quarter"),
    "last_quarter": lazy_gettext("Last quarter"), "this_year": lazy_gettext("This year"),
    "last_year": lazy_gettext("Last year"), "last_7_days": lazy_gettext("Last 7 days"),
    "last_30_days": lazy_gettext("Last 30 days"), "last_90_days": lazy_gettext("Last 90 days"),
    "last_12_months": lazy_gettext("Last 12 months"), "all": lazy_gettext("All time")}


def open_dashboards(page: Page) -> list[Dashboard]:
    """The app's dashboards with at least one widget whose form the reader may view."""
    out = []
    for dash in page.runtime.definition.dashboards.values():
        forms = {w.source.form for w in dash.widgets.values()}
        if any(access.form_access(page.actor, page.runtime, f).can("view") for f in forms):
            out.append(dash)
    return out


@dataclass
class FilterControl:
    key: str
    label: str
    value: str
    choices: list[tuple[str, str]]


def _controls(page: Page, dash: Dashboard, values: dict) -> list[FilterControl]:
    forms = page.runtime.definition.forms
    out = []
    for f in dash.filters:
        form = next((forms[w.source.form] for w in dash.widgets.values() if f in service.applying(dash, w, page.runtime)), None)
        if form is None:
            continue
        found = resolve(forms, form, f.field)
        name = f.label(page.locale) or (form.label(f.field, page.locale) if f.field in form.fields else _("Owner"))
        current = values.get(f.key) or ""
        if f.kind == "date_range":
            choices = [(p, str(PERIOD_LABELS[p])) for p in PERIODS]
        elif f.kind == "select":
            field = found[0].fields[found[1]]
            choices = [(o["value"], option_label(field, o["value"], page.locale)) for o in options(field)]
        elif f.kind == "department":
            choices = [(str(i), n) for i, n in db.session.execute(
                sa.select(Department.id, Department.name).order_by(Department.name).limit(500)).all()]
        else:
            choices = [("me", _("Me"))]
        if current and current not in dict(choices):
            choices.append((current, current))  # a custom range, kept as given
        out.append(FilterControl(f.key, name, current, choices))
    return out


@bp.route(PREFIX)
@login_required
def dashboard_page(app_key, dashboard_key):
    page = load(app_key)
    dash = service.get_dashboard(page.runtime, dashboard_key)
    if dash not in open_dashboards(page):
        raise NotFound(f'App "{app_key}" has no dashboard "{dashboard_key}"')
    values = service.filter_values(dash, request.args)
    query = {service.FILTER + k: (v or "") for k, v in values.items()}
    cards = []
    for w in dash.widgets.values():
        kind = widget_types.get(w.type)
        api = url_for("api.widget_data", app_key=app_key, dashboard_key=dash.key, widget_key=w.key, **query)
        cards.append({"widget": w, "title": w.title(page.locale), "renders": kind.renders,
                      "width": w.raw.get("width") or (3 if kind.renders == "kpi" or w.type == "gauge" else 6),
                      "height": w.raw.get("height", "medium"), "data_url": api,
                      "drill_url": url_for("web.dashboard_drill", app_key=app_key, dashboard_key=dash.key,
                                           widget_key=w.key, **query),
                      "export": {fmt: url_for("web.dashboard_export", app_key=app_key, dashboard_key=dash.key,
                                              widget_key=w.key, format=fmt, **query) for fmt in ("csv", "xlsx")},
                      "options": {k: w.raw[k] for k in ("mode", "horizontal", "donut", "stacked", "smooth", "min",
                                                        "max", "target", "rows") if k in w.raw}})
    return render_template("web/dashboard.html", page=page, dash=dash, label=dash.label(page.locale), cards=cards,
                           controls=_controls(page, dash, values), filtered=any(k.startswith(service.FILTER)
                                                                                 for k in request.args))


@bp.route(PREFIX + "/widgets/<widget_key>/export")
@login_required
def dashboard_export(app_key, dashboard_key, widget_key):
    """The widget's rows, as the page shows them, as a CSV or Excel file."""
    page = load(app_key)
    fmt = request.args.get("format", "csv")
    if fmt not in FORMATS:
        raise ValidationFailed(f'Cannot export as "{fmt[:20]}": choose csv or xlsx',
                               [{"field": "format", "message": "must be csv or xlsx"}])
    body = service.widget_data(page.actor, page.runtime, dashboard_key, widget_key, request.args, locale=page.locale)
    header = [c["label"] for c in body["columns"]]
    title = service.get_widget(service.get_dashboard(page.runtime, dashboard_key), widget_key).title(page.locale)
    rows = [[_("Others") if v == "$others" else v for v in row] for row in body["rows"]]
    names = (f"{title}.{fmt}", f"{widget_key}.{fmt}")
    headers = {"Content-Disposition": _disposition(*names), "Cache-Control": "no-store"}
    if fmt == "xlsx":
        data, _count = _xlsx(title, header, iter(rows))
        return Response(data, mimetype=FORMATS[fmt], headers=headers)
    return Response("".join(_csv_stream(header, iter(rows))), content_type=FORMATS[fmt], headers=headers)


@bp.route(PREFIX + "/widgets/<widget_key>/drill")
@login_required
def dashboard_drill(app_key, dashboard_key, widget_key):
    """The records behind a number: the widget's form's list with the matching filter."""
    page = load(app_key)
    try:
        keys = json.loads(request.args.get("keys") or "[]")
    except ValueError:
        raise ValidationFailed("keys must be JSON", [{"field": "keys", "message": "is not JSON"}]) from None
    cond = service.drill_condition(page.actor, page.runtime, dashboard_key, widget_key, request.args, keys,
                                   request.args.get("measure"))
    form = service.get_widget(service.get_dashboard(page.runtime, dashboard_key), widget_key).source.form
    if not access.form_access(page.actor, page.runtime, form).can("view"):
        raise PermissionDenied("You may not see these records")
    args = {"filter": json.dumps(cond, ensure_ascii=False, separators=(",", ":")), "drill": "1"} if cond else {}
    return redirect(url_for("web.record_list", app_key=app_key, form_key=form, **args))
