"""A kanban view's page: a column per option of its select field (in the option order, then
"empty") or per user, each with its count and totals, its first cards at once and more as
the column scrolls (`/cards`, one column's next page). Dragging a card to another column
posts to `/move`, which writes the grouped field through the records service with the
card's version: grants, flow locks, required fields and a stale version all refuse it, and
the page puts the card back with the reason."""
from __future__ import annotations

import json

from flask import abort, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from formloom.platform.inputs import as_id
from formloom.runtime.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from formloom.runtime.records import service
from formloom.runtime.views import query
from formloom.runtime.web import filterbuilder
from formloom.runtime.web.blueprint import bp
from formloom.runtime.web.common import load
from formloom.runtime.web.display import Display
from formloom.runtime.web.viewparts import (
    card_keys,
    cards,
    group_arg,
    group_labels,
    refusal,
    totals,
)

CARDS = 20  # a column's first page, and each page loaded on scroll


def movable_field(ov) -> str | None:
    """The field a move writes: the grouped field, or the form's owner field for `$owner`;
    None when the grouping is a system value no one sets (`$created_by`)."""
    key = ov.view.group_by.field
    if key in ov.form.fields:
        return key
    if key == "$owner" and ov.form.owner_field:
        return ov.form.owner_field
    return None


def _open(app_key: str, view_key: str):
    runtime = load(app_key).runtime
    view = runtime.definition.views.get(view_key)
    if view is None or view.type != "kanban":
        abort(404)
    page = load(app_key, view.form)
    try:
        return page, query.OpenView(page.actor, runtime, view_key)
    except NotFound:
        abort(404)


def _columns(page, ov, display: Display, condition) -> list[dict]:
    """Every column's heading: its value, label, count and totals (one GROUP BY)."""
    body = query.view_groups(page.actor, page.runtime, ov.view.key, condition=condition)
    field = ov.view.group_by.field
    labels = group_labels(display, page.form, field, False, [g["value"] for g in body["groups"]])
    return [{"value": g["value"], "group": json.dumps(g["value"]), "label": labels.get(g["value"], str(g["value"])),
             "count": g["count"], "count_text": f"{g['count']:,}",
             "totals": totals(display, page.form, ov.totals, g["totals"])} for g in body["groups"]]


def _page_of(page, ov, group, condition, cursor=None) -> tuple[list[dict], str | None]:
    _ov, records, next_cursor = query.view_records(page.actor, page.runtime, ov.view.key, group=group,
                                                   limit=CARDS, cursor=cursor, condition=condition)
    return records, next_cursor


def _more_url(ov, group_text: str, cursor: str | None) -> str | None:
    if not cursor:
        return None
    return url_for("web.view_cards", app_key=ov.runtime.key, view_key=ov.view.key, group=group_text, cursor=cursor,
                   **filterbuilder.reader_args())


def board(page, ov):
    """The kanban page (`/a/<app>/v/<view>` of a kanban view)."""
    display = Display(page)
    form = page.form
    field = movable_field(ov)
    keys = card_keys(ov, form, exclude={ov.view.group_by.field})
    condition, built, filter_error = filterbuilder.reader_condition(page)
    columns = _columns(page, ov, display, condition)
    pages = {}
    for col in columns:
        pages[col["group"]] = _page_of(page, ov, col["value"], condition) if col["count"] else ([], None)
        display.want(form, [r["fields"] for r in pages[col["group"]][0]], keys=keys)
    display.load()
    for col in columns:
        records, cursor = pages[col["group"]]
        col["cards"] = cards(page, display, form, records, keys)
        col["more_url"] = _more_url(ov, col["group"], cursor)
    movable = field is not None and page.can("edit") and field not in page.access.locked()
    return render_template("web/kanban.html", page=page, view=ov.view, view_label=ov.view.label(page.locale),
                           columns=columns, movable=movable, total=f"{sum(c['count'] for c in columns):,}",
                           search=request.args.get("q", "")[:200], built=json.dumps(built) if built else "",
                           filter_error=filter_error, operator_labels=json.dumps(filterbuilder.operator_labels()),
                           filter_fields=json.dumps(filterbuilder.spec(form, ov.hidden, page.locale)),
                           move_url=url_for("web.view_move", app_key=page.runtime.key, view_key=ov.view.key))


@bp.route("/a/<app_key>/v/<view_key>/cards")
@login_required
def view_cards(app_key, view_key):
    """One kanban column's next page of cards (`?group=<value JSON>&cursor=...`), as HTML."""
    page, ov = _open(app_key, view_key)
    group = group_arg()
    if group is query.NO_GROUP:
        abort(400)
    try:
        records, cursor = _page_of(page, ov, group, filterbuilder.reader_condition(page)[0],
                                   request.args.get("cursor") or None)
    except ValidationFailed:
        abort(400)
    keys = card_keys(ov, page.form, exclude={ov.view.group_by.field})
    display = Display(page)
    display.want(page.form, [r["fields"] for r in records], keys=keys)
    display.load()
    return render_template("web/_kanban_cards.html", cards=cards(page, display, page.form, records, keys),
                           more_url=_more_url(ov, request.args["group"], cursor))


@bp.route("/a/<app_key>/v/<view_key>/move", methods=["POST"])
@login_required
def view_move(app_key, view_key):
    """Move a card to another column: `record`, `version` (If-Match) and `to` (the column's
    value as JSON). JSON back: the card's new HTML and every column's count and totals, or
    `{"message"}` with 409 (stale, locked), 422 (a value refused), 403 or 404."""
    page, ov = _open(app_key, view_key)
    form = page.form
    field = movable_field(ov)
    record_id, version = as_id(request.form.get("record", "")), as_id(request.form.get("version", ""))
    to = group_arg("to")
    if field is None or record_id is None or version is None or to is query.NO_GROUP:
        return jsonify({"message": _("This card cannot be moved here.")}), 400
    try:
        saved = service.update(page.actor, page.runtime, form.key, record_id, {field: to}, expected_version=version)
    except (Conflict, ValidationFailed, PermissionDenied, NotFound) as exc:
        status, why = refusal(form, page.locale, exc)
        return jsonify({"message": _("The card was not moved: %(reason)s", reason=why)}), status
    display = Display(page)
    keys = card_keys(ov, form, exclude={ov.view.group_by.field})
    display.want(form, [saved["fields"]], keys=keys)
    columns = _columns(page, ov, display, filterbuilder.reader_condition(page)[0])
    display.load()
    card = cards(page, display, form, [saved], keys)[0]
    return jsonify({"version": saved["version"],
                    "card": render_template("web/_kanban_cards.html", cards=[card], more_url=None),
                    "columns": {c["group"]: {"count": c["count_text"], "totals": [t.text for t in c["totals"]]}
                                for c in columns}})
