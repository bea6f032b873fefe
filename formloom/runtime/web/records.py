"""Record pages: the list (filter, sort, pages, recycle bin), one record, delete, restore."""
from __future__ import annotations

import json

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from formloom.runtime.exceptions import ValidationFailed
from formloom.runtime.fields import type_of
from formloom.runtime.forms.rules import hidden_fields
from formloom.runtime.records import query, refreshes, service
from formloom.runtime.records.context import condition_env
from formloom.runtime.storage.store import flat_values
from formloom.runtime.views import counts
from formloom.runtime.web import chooser as column_chooser
from formloom.runtime.web import filterbuilder, listing
from formloom.runtime.web.blueprint import bp
from formloom.runtime.web.common import Page, load, record_form
from formloom.runtime.web.display import Display, records_phrase
from formloom.runtime.web.flow_actions import panel as flow_panel
from formloom.runtime.web.history import timeline
from formloom.runtime.web.related import related_lists

PAGE_SIZE = 25
COUNT_CAP = 10_000
RECORD = "/a/<app_key>/f/<form_key>/r/<int:record_id>"


def _list_args() -> dict:
    """The list's current query string, for links that change one part of it."""
    return {k: v for k, v in request.args.items() if v}


def _list_url(page: Page, **changes) -> str:
    """This list's URL with some query values changed (None drops one)."""
    args = {**_list_args(), **changes}
    if set(changes) - {"cursor"}:
        args.pop("cursor", None)  # a new filter or order starts at the first page
    return page.url("web.record_list", **{k: v for k, v in args.items() if v})


def _page_of_records(page: Page, condition, sort, cursor, deleted):
    """((records, next cursor), sort used); a stale sort or cursor falls back to page one."""
    try:
        return query.list_records(page.actor, page.runtime, page.form.key, condition=condition, sort=sort,
                                  limit=PAGE_SIZE, cursor=cursor, deleted=deleted), sort
    except ValidationFailed:
        flash(_("That sort order or page link is no longer valid; showing the first page."), "warning")
        return query.list_records(page.actor, page.runtime, page.form.key, condition=condition,
                                  limit=PAGE_SIZE, deleted=deleted), None


@bp.route("/a/<app_key>/f/<form_key>")
@login_required
def record_list(app_key, form_key):
    """A page of the form's records: filter bar, sortable columns, keyset pages, recycle bin."""
    page = load(app_key, form_key)
    form = page.form
    deleted = request.args.get("deleted") == "1"
    search = request.args.get("q", "")[:200]
    filters = listing.filter_fields(form, request.args, page.locale)
    condition, built, filter_error = listing.condition(form, search, filters), None, None
    if not deleted:  # the filter builder's part, or a dashboard's drill-down: ANDed with the filter bar
        condition, built, filter_error = filterbuilder.with_built(page, condition, request.args.get("filter", "")[:20000])
    (records, next_cursor), sort = _page_of_records(page, condition, request.args.get("sort") or None,
                                                    request.args.get("cursor") or None, deleted)
    title = form.title_field if form.title_field in form.fields else None
    chooser = column_chooser.choose(page, "form", form.key, column_chooser.list_default(page),
                                    page.access.hidden(), fixed=title)
    sortable = listing.sortable(form, page.runtime.form_tables(form.key).columns)
    columns = [listing.column(form, k, sortable, page.locale) for k in chooser.keys]
    display = Display(page)
    display.want(form, [r["fields"] for r in records], keys=[c.key for c in columns])
    links = [c for c in filters if type_of(form.fields[c.key]).refers_to == "record"]
    display.want(form, [{c.key: int(c.selected) for c in links}], keys=[c.key for c in links])
    display.load()
    for choice in links:  # "#12" becomes the linked record's title, where the reader may see it
        choice.options = [(choice.selected, display.cell(form, choice.key, int(choice.selected)).items[0]["title"])]
    updating = refreshes.updating(page.runtime.app_id, form.key, [r["id"] for r in records]) \
        if refreshes.derived_fields(page.runtime, form.key) else set()
    rows = [{"id": r["id"], "title": display.title(form, r), "updating": r["id"] in updating,
             "url": page.url("web.record_detail", record_id=r["id"]),
             "cells": [display.cell(form, c.key, r["fields"].get(c.key)) for c in columns],
             "updated": display.local_time(r["deleted_at"] if deleted else r["updated_at"])} for r in records]
    total = None
    if not deleted and page.can("view"):
        total = records_phrase(counts.count(page.actor, page.runtime, form.key, condition, cap=COUNT_CAP),
                               page.locale, matching=bool(condition))
    filtered = bool(condition)
    return render_template(
        "web/list.html", page=page, columns=columns, chooser=chooser, rows=rows, sort=sort, search=search, filters=filters,
        built=json.dumps(built) if built else "", filter_error=filter_error,
        filter_fields=json.dumps(filterbuilder.spec(form, page.access.hidden(), page.locale)),
        operator_labels=json.dumps(filterbuilder.operator_labels()),
        deleted=deleted, total=total, filtered=filtered, list_url=lambda **kw: _list_url(page, **kw),
        sort_link=lambda key: listing.sort_link(sort, key),
        next_url=_list_url(page, cursor=next_cursor) if next_cursor else None,
        first_url=_list_url(page, cursor=None) if request.args.get("cursor") else None,
        has_title=form.title_field in form.fields, given_filter=bool(built) and request.args.get("drill") == "1")


def detail_fields(page: Page, record: dict, display: Display) -> list[dict]:
    """The record's fields in order, as the page lists them (fields the rules hide left out,
    and fields hidden from the reader never drawn)."""
    form = page.form
    env = condition_env(page.actor, page.runtime)
    hidden = hidden_fields(form, flat_values(record), env) | set(record.get("hidden", ()))
    out = []
    for key, f in form.fields.items():
        if key in hidden:
            continue
        item = {"key": key, "label": form.label(key, page.locale), "type": f["type"]}
        if type_of(f).holds_rows:
            child = form.children[key]
            keys = [k for k, cf in child.fields.items() if not cf.get("hidden")]
            item["columns"] = [(child.label(k, page.locale), display.cell(child, k, None).kind) for k in keys]
            item["rows"] = [[display.cell(child, k, row.get(k)) for k in keys] for row in record["fields"].get(key) or []]
            item["numeric"] = [child.type_of(k).result_kind(child.fields[k]) == "number" for k in keys]
        else:
            item["cell"] = display.detail(form, key, record["fields"].get(key))
        out.append(item)
    return out


@bp.route(RECORD)
@login_required
def record_detail(app_key, form_key, record_id):
    """One record: its fields, who made and changed it, and its history."""
    page = load(app_key, form_key)
    record = service.get(page.actor, page.runtime, form_key, record_id, include_deleted=True)
    page.form = record_form(page, record)
    revisions = service.history(page.actor, page.runtime, form_key, record_id)
    display = Display(page)
    display.want(page.form, [record["fields"]])
    display.want_users([record["created_by"], record["updated_by"], record["owner"]])
    display.load()
    return render_template("web/detail.html", page=page, record=record, title=display.title(page.form, record),
                           fields=detail_fields(page, record, display), display=display,
                           history=timeline(page.form, revisions, display),
                           flow=flow_panel(page, record, display), related=related_lists(page, record, display),
                           updating=refreshes.waiting_on(page.runtime.app_id, form_key, record_id))


@bp.get(RECORD + "/updating")
@login_required
def record_updating(app_key, form_key, record_id):
    """Whether the record's lookups and rollups are still being brought up to date, and how far
    that has got (polled by its page)."""
    page = load(app_key, form_key)
    service.get(page.actor, page.runtime, form_key, record_id, include_deleted=True)  # may the reader see it
    waiting = refreshes.waiting_on(page.runtime.app_id, form_key, record_id)
    total = sum(r["total"] for r in waiting)
    done = sum(r["done"] for r in waiting)
    status = "failed" if any(r["status"] == "failed" for r in waiting) else "running" if waiting else "done"
    return jsonify({"status": status, "done": done, "total": total,
                    "percent": 100 if not total else int(done * 100 / total)})


@bp.post(RECORD + "/delete")
@login_required
def record_delete(app_key, form_key, record_id):
    """Move the record to the recycle bin."""
    page = load(app_key, form_key)
    service.delete(page.actor, page.runtime, form_key, record_id)
    flash(_("The record was moved to the recycle bin."), "success")
    return redirect(page.url("web.record_list"))


@bp.post(RECORD + "/restore")
@login_required
def record_restore(app_key, form_key, record_id):
    """Bring the record back from the recycle bin."""
    page = load(app_key, form_key)
    service.restore(page.actor, page.runtime, form_key, record_id)
    flash(_("The record was restored."), "success")
    if request.form.get("next") == "bin":
        return redirect(url_for("web.record_list", app_key=app_key, form_key=form_key, deleted="1"))
    return redirect(page.url("web.record_detail", record_id=record_id))
