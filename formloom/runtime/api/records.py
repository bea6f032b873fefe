"""Record routes: schema, list, create, bulk create, read, change, delete, restore, history."""
from __future__ import annotations

from flask import jsonify, request

from formloom.platform import audit
from formloom.platform.api import (
    actor,
    idempotency,
    if_match,
    json_body,
    remember,
    replay,
    with_etag,
)
from formloom.platform.extensions import db
from formloom.platform.files import send_stored, store_upload
from formloom.platform.inputs import parse_json
from formloom.platform.models import StoredFile
from formloom.runtime import access
from formloom.runtime.api.base import bp
from formloom.runtime.apps import get_runtime
from formloom.runtime.exceptions import Conflict, NotFound, ValidationFailed
from formloom.runtime.fields import FieldValueError, field_types, type_of
from formloom.runtime.records import query, refreshes, service
from formloom.runtime.records.projections import record_schema
from formloom.runtime.records.serialize import record_json

PREFIX = "/apps/<app_key>/forms/<form_key>"


def _runtime(app_key: str, form_key: str):
    rt = get_runtime(app_key)
    access.require_app(actor(), rt)
    rt.form(form_key)
    return rt


def _draft(body: dict) -> bool | None:
    draft = body.get("draft")
    if draft is not None and not isinstance(draft, bool):
        raise ValidationFailed('"draft" must be true or false', [{"field": "draft", "message": "must be true or false"}])
    return draft


def _once(idem, create):
    """Run `create`; when it fails because a concurrent retry with the key won, replay that."""
    try:
        return create()
    except (Conflict, ValidationFailed):
        replayed = replay(idem)
        if replayed is not None:
            return replayed
        raise


@bp.get(PREFIX + "/schema")
def form_schema(app_key, form_key):
    rt = _runtime(app_key, form_key)
    fa = access.form_access(actor(), rt, form_key)
    return jsonify(record_schema(rt.form(form_key), fa.unlisted(), fa.locked()))


def filter_arg():
    """The request's `filter` (a condition as JSON), or None."""
    if not request.args.get("filter"):
        return None
    return parse_json(request.args["filter"], "filter")


def limit_arg() -> int:
    limit = request.args.get("limit", "50")
    if not limit.isdigit() or not 1 <= int(limit) <= query.MAX_LIMIT:
        raise ValidationFailed(f"limit must be a whole number from 1 to {query.MAX_LIMIT}",
                               [{"field": "limit", "message": "is out of range"}])
    return int(limit)


@bp.get(PREFIX + "/records")
def list_records(app_key, form_key):
    rt = _runtime(app_key, form_key)
    records, cursor = query.list_records(
        actor(), rt, form_key, condition=filter_arg(), sort=request.args.get("sort"), limit=limit_arg(),
        cursor=request.args.get("cursor"), deleted=request.args.get("deleted") in ("1", "true"))
    form = rt.form(form_key)
    items = [record_json(form, r) for r in records]
    mark_updating(rt, form_key, items)
    return jsonify({"items": items, "next_cursor": cursor})


def mark_updating(rt, form_key: str, items: list[dict]) -> None:
    """`"updating": true` on records whose lookups and rollups a background refresh has not reached yet."""
    if not refreshes.derived_fields(rt, form_key):
        return
    waiting = refreshes.updating(rt.app_id, form_key, [item["id"] for item in items])
    for item in items:
        item["updating"] = item["id"] in waiting


@bp.post(PREFIX + "/records")
def create_record(app_key, form_key):
    rt = _runtime(app_key, form_key)
    idem = idempotency()
    replayed = replay(idem)
    if replayed is not None:
        return replayed
    body = json_body()
    fields = body.get("fields", {})
    form = rt.form(form_key)
    record = _once(idem, lambda: service.create(actor(), rt, form_key, fields, draft=_draft(body) is True,
                                                within=lambda rec: remember(idem, 201, record_json(form, rec))))
    if not isinstance(record, dict):
        return record
    response = with_etag(record_json(form, record), 201)
    response.headers["Location"] = f"/api/v1/apps/{app_key}/forms/{form_key}/records/{record['id']}"
    return response


@bp.post(PREFIX + "/records/bulk")
def bulk_create(app_key, form_key):
    rt = _runtime(app_key, form_key)
    idem = idempotency()
    replayed = replay(idem)
    if replayed is not None:
        return replayed
    body = json_body()
    rows = body.get("records")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ValidationFailed('"records" must be a list of {"fields": {...}} objects',
                               [{"field": "records", "message": "must be a list of objects"}])
    def within(ids):
        audit.record("import", actor(), app_id=rt.app_id, object_type="form", object_id=form_key,
                     label=rt.form(form_key).name, after={"count": len(ids), "first_id": ids[0] if ids else None},
                     detail=f"{len(ids)} records through the bulk API")
        remember(idem, 201, {"ids": ids, "count": len(ids)})

    ids = _once(idem, lambda: service.bulk_create(
        actor(), rt, form_key, [r.get("fields", {}) for r in rows], draft=_draft(body) is True, within=within))
    if not isinstance(ids, list):
        return ids
    response = jsonify({"ids": ids, "count": len(ids)})
    response.status_code = 201
    return response


@bp.get(PREFIX + "/records/<int:record_id>")
def get_record(app_key, form_key, record_id):
    rt = _runtime(app_key, form_key)
    record = service.get(actor(), rt, form_key, record_id, include_deleted=True)
    body = record_json(rt.form(form_key), record)
    mark_updating(rt, form_key, [body])
    return with_etag(body)


@bp.patch(PREFIX + "/records/<int:record_id>")
def update_record(app_key, form_key, record_id):
    rt = _runtime(app_key, form_key)
    body = json_body()
    record = service.update(actor(), rt, form_key, record_id, body.get("fields", {}), expected_version=if_match(),
                            draft=_draft(body))
    return with_etag(record_json(rt.form(form_key), record))


@bp.delete(PREFIX + "/records/<int:record_id>")
def delete_record(app_key, form_key, record_id):
    rt = _runtime(app_key, form_key)
    service.delete(actor(), rt, form_key, record_id, expected_version=if_match())
    return "", 204


@bp.post(PREFIX + "/records/<int:record_id>/restore")
def restore_record(app_key, form_key, record_id):
    rt = _runtime(app_key, form_key)
    record = service.restore(actor(), rt, form_key, record_id)
    return with_etag(record_json(rt.form(form_key), record))


@bp.get(PREFIX + "/records/<int:record_id>/history")
def record_history(app_key, form_key, record_id):
    rt = _runtime(app_key, form_key)
    revisions = service.history(actor(), rt, form_key, record_id)
    return jsonify({"items": [
        {"version": r.version, "action": r.action, "at": r.at.isoformat(timespec="seconds") + "Z",
         "actor": r.actor_id, "changes": r.changes} for r in revisions]})


@bp.post("/apps/<app_key>/files")
def upload_file(app_key):
    """Upload one file (multipart `file`); `form` and `field` check the field's limits first."""
    rt = get_runtime(app_key)
    access.require_app(actor(), rt, write=True)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed('Send the file as multipart form data named "file"',
                               [{"field": "file", "message": "is required"}])
    if request.form.get("form") and request.form.get("field"):
        form = rt.form(request.form["form"])
        f = form.fields.get(request.form["field"])
        if f is None or not type_of(f).holds_files:
            raise ValidationFailed("That field does not take files", [{"field": request.form["field"], "message": "is not a file field"}])
        size = request.content_length or 0
        try:
            field_types.get(f["type"]).check_upload(f, upload.filename, upload.mimetype or "", size)
        except FieldValueError as exc:
            raise ValidationFailed(str(exc), [{"field": f["key"], "message": str(exc)}]) from None
    row = store_upload(rt.app_id, upload.stream, upload.filename, upload.mimetype, actor().user_id)
    if request.form.get("form") and request.form.get("field"):
        try:
            field_types.get(f["type"]).check_upload(f, row.name, row.content_type, row.size)
        except FieldValueError as exc:
            raise ValidationFailed(str(exc), [{"field": f["key"], "message": str(exc)}]) from None
    response = jsonify({"id": row.id, "name": row.name, "size": row.size, "content_type": row.content_type})
    response.status_code = 201
    return response


@bp.get("/apps/<app_key>/files/<file_id>")
def download_file(app_key, file_id):
    rt = get_runtime(app_key)
    access.require_app(actor(), rt)
    row = db.session.get(StoredFile, file_id)
    if row is None or not access.may_download(actor(), rt, row):
        raise NotFound("No such file")
    return send_stored(row)
