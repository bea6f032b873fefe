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


def openapi_paths(app_key: str, rt, who) -> dict:
    """The OpenAPI paths of the app's widgets whose form the caller may view."""
    problems = {code: {"$ref": "#/components/responses/Problem"} for code in ("401", "403", "404", "422")}
    params = [{"name": "filter", "in": "query", "schema": {"type": "string"},
               "description": "Condition JSON on the widget's form, ANDed"},
              {"name": "f_<filter>", "in": "query", "schema": {"type": "string"}, "example": "this_month",
               "description": "A dashboard filter's value: a date range preset or 2026-01-01..2026-03-31, "
                              "option keys (comma separated), a user or department id, me"}]
    data = {"type": "object", "required": ["columns", "rows"], "properties": {
        "columns": {"type": "array", "items": {"type": "object", "required": ["key", "label"]}},
        "rows": {"type": "array", "items": {"type": "array"}}, "keys": {"type": "array"},
        "labels": {"type": "object"}, "totals": {"type": "array"}, "capped": {"type": "object"},
        "compare": {"type": "object"}, "target": {"type": "object"}, "period": {"type": "object"}}}
    paths = {}
    for dash in rt.definition.dashboards.values():
        for w in dash.widgets.values():
            if not access.form_access(who, rt, w.source.form).can("view"):
                continue
            base = f"/api/v1/apps/{app_key}/dashboards/{dash.key}/widgets/{w.key}"
            op = "".join(p.capitalize() for p in f"{app_key}_{dash.key}_{w.key}".split("_"))
            paths[f"{base}/data"] = {"get": {
                "tags": [f"{app_key}.dashboards"], "operationId": f"widgetData{op}", "parameters": params,
                "summary": f"The data of widget {w.key} ({w.type} of {w.source.form}) of dashboard {dash.key}",
                "responses": {"200": {"description": "Dimension values, then measure values, per row",
                                      "content": {"application/json": {"schema": data}}}, **problems}}}
            paths[f"{base}/drill"] = {"get": {
                "tags": [f"{app_key}.dashboards"], "operationId": f"widgetDrill{op}",
                "parameters": [*params, {"name": "keys", "in": "query", "schema": {"type": "string"},
                                         "description": "One row of `keys`, as JSON"},
                               {"name": "measure", "in": "query", "schema": {"type": "string"}}],
                "summary": f"The records behind one row of widget {w.key}",
                "responses": {"200": {"description": "The form and the condition of the records",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}, **problems}}}
    return paths
