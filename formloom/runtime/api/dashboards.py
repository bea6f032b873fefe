"""Dashboard routes: a widget's data (DESIGN.md section 11) and the records behind a number."""
from __future__ import annotations

import json
from urllib.parse import quote

from flask import jsonify, request

from formloom.platform.api import actor
from formloom.platform.i18n import current_locale_name
from formloom.platform.inputs import parse_json
from formloom.runtime import access
from formloom.runtime.api.base import bp
from formloom.runtime.api.records import filter_arg
from formloom.runtime.apps import get_runtime
from formloom.runtime.dashboards import service

PREFIX = "/apps/<app_key>/dashboards/<dashboard_key>/widgets/<widget_key>"


def _runtime(app_key: str):
    rt = get_runtime(app_key)
    access.require_app(actor(), rt)
    return rt


@bp.get(PREFIX + "/data")
def widget_data(app_key, dashboard_key, widget_key):
    """`{"columns", "rows"}` of the reader's records; `filter` (a condition on the widget's
    form) is ANDed, `f_<filter key>` sets a dashboard filter (`f_close_date=this_month`)."""
    rt = _runtime(app_key)
    return jsonify(service.widget_data(actor(), rt, dashboard_key, widget_key, request.args,
                                       condition=filter_arg(), locale=current_locale_name()))


@bp.get(PREFIX + "/drill")
def widget_drill(app_key, dashboard_key, widget_key):
    """The records behind one row of the widget's data: `keys` (that row of `keys`, as JSON)
    and `measure` -> `{"form", "filter", "records"}` (the record list's address with it)."""
    rt = _runtime(app_key)
    keys = parse_json(request.args.get("keys") or "[]", "keys")
    cond = service.drill_condition(actor(), rt, dashboard_key, widget_key, request.args, keys,
                                   request.args.get("measure"))
    form = rt.definition.dashboards[dashboard_key].widgets[widget_key].source.form
    text = json.dumps(cond, ensure_ascii=False, separators=(",", ":"))
    return jsonify({"form": form, "filter": cond,
                    "records": f"/api/v1/apps/{app_key}/forms/{form}/records" + (f"?filter={quote(text)}" if cond else "")})
