"""View routes: a view's records and its groups (DESIGN.md section 11)."""
from __future__ import annotations

from flask import jsonify, request

from formloom.platform.api import actor
from formloom.platform.exceptions import ValidationFailed
from formloom.platform.inputs import parse_json
from formloom.runtime import access
from formloom.runtime.api.base import bp
from formloom.runtime.api.records import filter_arg, limit_arg, mark_updating
from formloom.runtime.apps import get_runtime
from formloom.runtime.records.serialize import record_json
from formloom.runtime.views import query

PREFIX = "/apps/<app_key>/views/<view_key>"


def _runtime(app_key: str):
    rt = get_runtime(app_key)
    access.require_app(actor(), rt)
    return rt


@bp.get(PREFIX + "/records")
def view_records(app_key, view_key):
    """The form's records with the view's filter (a request `filter` is ANDed) and sort (a
    request `sort` wins): the same page, cursor and fields as the form's record list;
    `group` (with `group_by`, `bucket` as for `/groups`) pages one group, a kanban column."""
    rt = _runtime(app_key)
    ov, records, cursor = query.view_records(actor(), rt, view_key, condition=filter_arg(),
                                             sort=request.args.get("sort"), limit=limit_arg(),
                                             cursor=request.args.get("cursor"), group=_group_arg(),
                                             group_by=request.args.get("group_by"), bucket=request.args.get("bucket"))
    items = [record_json(ov.form, r) for r in records]
    mark_updating(rt, ov.view.form, items)
    return jsonify({"items": items, "next_cursor": cursor})


def _group_arg():
    """`group`: one group's value as `/groups` gives it, as JSON (`"won"`, `12`, `null`) or as
    plain text (`won`); absent: every group."""
    if "group" not in request.args:
        return query.NO_GROUP
    text = request.args["group"]
    try:
        return parse_json(text, "group")
    except ValidationFailed:  # not JSON (or JSON no group can be): the text itself
        return text


@bp.get(PREFIX + "/groups")
def view_groups(app_key, view_key):
    """Counts and totals per group of the view's records the reader may see."""
    rt = _runtime(app_key)
    body = query.view_groups(actor(), rt, view_key, condition=filter_arg(), group_by=request.args.get("group_by"),
                             bucket=request.args.get("bucket"), totals=request.args.get("totals"))
    return jsonify(body)
