"""Versions, diff, restore, export and import on the API (DESIGN.md section 11)."""
from __future__ import annotations

from flask import jsonify, request

from formloom.builder import transfer, versions
from formloom.builder.api import bp
from formloom.platform.api import actor, json_body
from formloom.runtime.exceptions import ValidationFailed


def _number(name: str, value) -> int:
    if not (isinstance(value, str) and value.isdigit() and int(value) > 0):
        raise ValidationFailed(f'"{name}" must be a version number', [{"field": name, "message": "is not a version"}])
    return int(value)


@bp.get("/apps/<app_key>/versions")
def list_versions(app_key):
    return jsonify({"items": versions.list_versions(actor(), app_key)})


@bp.get("/apps/<app_key>/versions/<int:number>/diff")
def version_diff(app_key, number):
    """?to=m (the current version when left out)."""
    to = request.args.get("to")
    if to is None:
        current = [v["number"] for v in versions.list_versions(actor(), app_key) if v["current"]]
        to = str(current[0]) if current else "1"
    return jsonify(versions.diff(actor(), app_key, number, _number("to", to)))


@bp.post("/apps/<app_key>/versions/<int:number>/restore")
def version_restore(app_key, number):
    """{"dry_run": bool, "accept_loss": bool}: publishes version n again as a new one."""
    body = json_body(required=False)
    return jsonify(versions.restore(actor(), app_key, number, dry_run=bool(body.get("dry_run")),
                                    accept_loss=bool(body.get("accept_loss"))))


@bp.get("/apps/<app_key>/export")
def export_app(app_key):
    """One file: the definition, and with ?data=1 the records (?reveal=secrets: webhook URLs whole)."""
    resp = jsonify(transfer.export_app(actor(), app_key, with_records=request.args.get("data") in ("1", "true"),
                                       reveal=request.args.get("reveal") == "secrets"))
    resp.headers["Content-Disposition"] = f'attachment; filename="{app_key}.formloom.json"'
    return resp


@bp.post("/apps/import")
def import_app():
    """{"file": <what export gave>, "key": new app key, "name": optional}: a new app."""
    body = json_body()
    if not isinstance(body.get("file"), dict):
        raise ValidationFailed('"file" must be the exported app file', [{"field": "file", "message": "is required"}])
    result = transfer.import_app(actor(), body["file"], key=body.get("key"), name=body.get("name"))
    return jsonify(result), 201
