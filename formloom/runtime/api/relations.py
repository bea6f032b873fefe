"""Lookups and rollups: rebuild a form's computed fields in the background, and follow the
refreshes that keep them current (the app's administrators; the work is in `records/refreshes.py`)."""
from __future__ import annotations

from flask import jsonify

from formloom.platform.api import actor
from formloom.runtime import access
from formloom.runtime.api.base import bp
from formloom.runtime.apps import get_runtime
from formloom.runtime.records import refreshes


def _admin_runtime(app_key: str):
    """The app, for its administrators; a token limited to another app does not reach it (404)."""
    runtime = get_runtime(app_key)
    access.require_app(actor(), runtime, admin=True)
    return runtime


@bp.post("/apps/<app_key>/forms/<form_key>/rebuild")
def rebuild_form(app_key, form_key):
    """202 with the refresh that recomputes every lookup, rollup and formula of the form."""
    runtime = _admin_runtime(app_key)
    refresh = refreshes.rebuild(actor(), runtime, form_key)
    return jsonify(refreshes.describe(refresh)), 202


@bp.get("/apps/<app_key>/refreshes")
def list_refreshes(app_key):
    """The app's 20 latest refreshes, newest first."""
    runtime = _admin_runtime(app_key)
    return jsonify({"items": refreshes.recent(runtime.app_id)})


@bp.get("/apps/<app_key>/refreshes/<int:refresh_id>")
def get_refresh(app_key, refresh_id):
    runtime = _admin_runtime(app_key)
    return jsonify(refreshes.get(runtime.app_id, refresh_id))
