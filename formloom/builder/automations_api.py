"""Automation routes for an app's administrators; the work is done in `runtime/automations/history.py`."""
from __future__ import annotations

from flask import Flask, jsonify, request

from formloom.platform.api import actor, api_blueprint
from formloom.platform.exceptions import Conflict, ValidationFailed
from formloom.platform.extensions import csrf
from formloom.platform.i18n import current_locale_name
from formloom.runtime.automations import history

bp = api_blueprint("automations_api")


def init_app(app: Flask) -> None:
    csrf.exempt(bp)  # cookie sessions are checked for the CSRF header in `authenticate`
    app.register_blueprint(bp)


@bp.get("/apps/<app_key>/automations")
def list_automations(app_key: str):
    """Each automation with its trigger and actions in words (in the caller's language)."""
    locale = current_locale_name()
    _runtime, items = history.summaries(actor(), app_key, locale)
    return jsonify({"items": [{
        "key": s.key, "name": s.automation.display_name(locale), "enabled": s.automation.enabled,
        "trigger": {**s.automation.trigger, "description": s.trigger},
        "actions": [{"type": a["type"], "description": words} for a, words in zip(s.automation.actions, s.actions, strict=True)],
        "last_run": history.run_json(s.last) if s.last else None,
        "runs_24h": s.runs_24h, "failed_24h": s.failed_24h} for s in items]})


@bp.get("/apps/<app_key>/automations/<key>/runs")
def list_runs(app_key: str, key: str):
    before = request.args.get("before")
    if before is not None and not before.isdigit():
        raise ValidationFailed('"before" must be a run id', [{"field": "before", "message": "must be a run id"}])
    _runtime, _auto, rows, after = history.runs(actor(), app_key, key, status=request.args.get("status") or None,
                                                before=int(before) if before else None)
    return jsonify({"items": [history.run_json(r) for r in rows], "next": after})


@bp.post("/apps/<app_key>/automations/<key>/run")
def run_now(app_key: str, key: str):
    return jsonify({"slot": history.run_now(actor(), app_key, key)}), 202


@bp.post("/apps/<app_key>/automations/<key>/runs/<int:run_id>/retry")
def retry(app_key: str, key: str, run_id: int):
    """202 when queued again; 409 when the run is not waiting for a retry."""
    if not history.retry(actor(), app_key, key, run_id):
        raise Conflict("The run is not waiting for a retry: it is being tried again already, or it has finished")
    return jsonify({"id": run_id, "queued": True}), 202
