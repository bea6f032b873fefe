"""Import routes: upload a spreadsheet into a form, follow the import, fetch its failed rows."""
from __future__ import annotations

from flask import jsonify, request, send_file

from formloom.platform.api import actor
from formloom.platform.credentials import narrowed_to_token_app
from formloom.platform.inputs import parse_json
from formloom.runtime import access
from formloom.runtime.api.base import bp
from formloom.runtime.apps import get_runtime
from formloom.runtime.exceptions import NotFound, ValidationFailed
from formloom.runtime.imports import service


@bp.post("/apps/<app_key>/forms/<form_key>/imports")
def start_import(app_key, form_key):
    """Multipart `file` (CSV or XLSX) and `options` (JSON) -> 202 {"id", "job"}."""
    rt = get_runtime(app_key)
    access.require_app(actor(), rt, write=True)
    rt.form(form_key)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed('Send the spreadsheet as multipart form data named "file"',
                               [{"field": "file", "message": "is required"}])
    options = parse_json(request.form["options"], "options") if request.form.get("options") else {}
    row = service.start(actor(), rt, form_key, upload.stream, upload.filename, options)
    response = jsonify({"id": row.id, "job": row.job_id, "status": row.status})
    response.status_code = 202
    response.headers["Location"] = f"/api/v1/imports/{row.id}"
    return response


@bp.get("/imports/<int:import_id>")
@narrowed_to_token_app  # service.get keeps to the token's app
def get_import(import_id):
    return jsonify(service.status_json(service.get(actor(), import_id)))


@bp.post("/imports/<int:import_id>/cancel")
@narrowed_to_token_app  # service.get keeps to the token's app
def cancel_import(import_id):
    return jsonify(service.status_json(service.cancel(actor(), import_id)))


@bp.get("/imports/<int:import_id>/failed.csv")
@narrowed_to_token_app  # service.get keeps to the token's app
def failed_rows(import_id):
    row = service.get(actor(), import_id)
    path = service.failed_path(row)
    if not path.exists():
        raise NotFound(f"Import {import_id} has no failed rows file yet")
    stem = row.file_name.rsplit(".", 1)[0] or "import"
    return send_file(path, mimetype="text/csv", as_attachment=True, download_name=f"{stem}-failed.csv", max_age=0)
