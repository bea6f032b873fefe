"""A view's page: the table of a view (its columns, filter and sort), its groups with counts
and totals, and a totals row. The reader's own sort and grouping live in the URL
(`?sort=-amount&group_by=stage&bucket=month`), so a link shares them; the view is unchanged.
Every number comes from `runtime/views/query.py`, within the reader's rows."""
from __future__ import annotations

import json

from flask import abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from formloom.runtime.exceptions import NotFound, ValidationFailed
from formloom.runtime.views import counts, query
from formloom.runtime.views.base import groupable
from formloom.runtime.web import calendarpage, filterbuilder, gallerypage, inline, kanban, listing
from formloom.runtime.web import chooser as column_chooser
from formloom.runtime.web.blueprint import bp
from formloom.runtime.web.common import load
from formloom.runtime.web.display import Display, count_label, count_text
from formloom.runtime.web.viewparts import group_arg, group_labels, totals

PAGE_SIZE = 25
COUNT_CAP = 10_000


def _args(**changes) -> dict:
    args = {k: v for k, v in request.args.items() if v}
    if set(changes) - {"cursor"}:
        args.pop("cursor", None)
    args.update(changes)
    return {k: v for k, v in args.items() if v}


@bp.route("/a/<app_key>/v/<view_key>")
@login_required
def view_page(app_key, view_key):
    """A view as a table: its columns in its order, sortable, grouped with counts and totals."""
    runtime = load(app_key).runtime
    view = runtime.definition.views.get(view_key)
    if view is None:
        abort(404)
    page = load(app_key, view.form)
    try:
        ov = query.OpenView(page.actor, runtime, view_key)
    except NotFound:
        abort(404)
    if view.type == "kanban":
        return kanban.board(page, ov)
    if view.type == "calendar":
        return calendarpage.calendar(page, ov)
    if view.type == "gallery":
        return gallerypage.gallery(page, ov)
    return table(page, ov)


def table(page, ov):
    """A view as a table: its columns in its order, sortable, grouped with counts and totals,
    filtered further by the reader (`?filter=`, `?q=`) without changing the view."""
    runtime, view, view_key, app_key, form = page.runtime, ov.view, ov.view.key, page.runtime.key, page.form
    condition, built, filter_error = filterbuilder.reader_condition(page)
    sort = request.args.get("sort") or None
    group = group_arg()
    try:
        ov2, records, next_cursor = query.view_records(
            page.actor, runtime, view_key, condition=condition, sort=sort, limit=PAGE_SIZE,
            cursor=request.args.get("cursor") or None, group=group, group_by=request.args.get("group_by") or None,
            bucket=request.args.get("bucket") or None)
    except ValidationFailed:
        group = query.NO_GROUP
        flash(_("That sort order or page link is no longer valid; showing the first page."), "warning")
        sort = None
        ov2, records, next_cursor = query.view_records(page.actor, runtime, view_key, condition=condition,
                                                       limit=PAGE_SIZE)
    sortable = listing.sortable(form, runtime.form_tables(form.key).columns)
    chooser = column_chooser.choose(page, "view", view_key, column_chooser.view_default(page, ov), ov.hidden)
    keys = chooser.keys
    columns = [listing.column(form, k, sortable, page.locale) for k in keys]
    display = Display(page)
    display.want(form, [r["fields"] for r in records], keys=keys)
    display.load()
    editable = inline.editable_keys(page, keys)
    inputs = {k: json.dumps(inline.input_of(form, k, page.locale)) for k in editable}
    rows = [{"id": r["id"], "version": r["version"], "title": display.title(form, r),
             "url": page.url("web.record_detail", record_id=r["id"]),
             "cells": [display.cell(form, k, r["fields"].get(k)) for k in keys],
             "raw": [inline.raw_value(form, k, r["fields"].get(k)) if k in editable else None for k in keys]}
            for r in records]
    groups, grouping, group_error = [], None, None
    if request.args.get("group_by") or view.group_by:
        try:
            body = query.view_groups(page.actor, runtime, view_key, condition=condition,
                                     group_by=request.args.get("group_by") or None,
                                     bucket=request.args.get("bucket") or None)
        except ValidationFailed as exc:
            group_error = str(exc)
        else:
            grouping = body["group_by"]
            labels = group_labels(display, form, grouping["field"], "bucket" in grouping,
                                  [g["value"] for g in body["groups"]])
            groups = [{"label": labels.get(g["value"], str(g["value"])), "count": f"{g['count']:,}",
                       "empty": g["count"] == 0, "totals": totals(display, form, ov.totals, g["totals"]),
                       "group": json.dumps(g["value"]), "active": group is not query.NO_GROUP and g["value"] == group}
                      for g in body["groups"]]
    if ov.totals:  # sums need every row: exact
        summary = query.view_totals(ov, condition=condition)
        total, total_row = count_label(summary["count"], False), totals(display, form, ov.totals, summary["totals"])
    else:  # a count alone stops at a cap, as the record list's does
        total, total_row = count_text(counts.count(page.actor, runtime, form.key, condition, within=ov.within(),
                                                   cap=COUNT_CAP), page.locale), []
    group_fields = [(k, form.label(k, page.locale)) for k in form.fields
                    if k not in ov.hidden and groupable(form, k)]
    return render_template(
        "web/view.html", page=page, view=view, view_label=view.label(page.locale), columns=columns, chooser=chooser, rows=rows,
        sort=sort or ov2.view.sort_text, groups=groups, one_group=group is not query.NO_GROUP, grouping=grouping,
        group_error=group_error, group_fields=group_fields, total=total, total_row=total_row,
        search=request.args.get("q", "")[:200], built=json.dumps(built) if built else "",
        filter_error=filter_error, filter_fields=json.dumps(filterbuilder.spec(form, ov.hidden, page.locale)),
        operator_labels=json.dumps(filterbuilder.operator_labels()), inputs=inputs,
        cell_url=url_for("web.view_cell", app_key=app_key, view_key=view_key),
        buckets=[("day", _("Day")), ("week", _("Week")), ("month", _("Month")), ("quarter", _("Quarter")),
                 ("year", _("Year"))],
        view_url=lambda **kw: url_for("web.view_page", app_key=app_key, view_key=view_key, **_args(**kw)),
        sort_link=lambda key: listing.sort_link(sort or ov2.view.sort_text, key),
        next_url=url_for("web.view_page", app_key=app_key, view_key=view_key, **_args(cursor=next_cursor))
        if next_cursor else None,
        first_url=url_for("web.view_page", app_key=app_key, view_key=view_key, **_args(cursor=None))
        if request.args.get("cursor") else None,
        has_title=form.title_field in keys and keys[0] == form.title_field)
