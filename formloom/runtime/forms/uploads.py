"""File and image fields on a form: keep attached files, store new uploads, list them again.

A file field posts the uploads (multipart) plus `_keep-<key>`: the ids of files to keep.
Only ids already on the record or uploaded by this user into this app may be kept, so a
page cannot attach someone else's file by guessing its id. Uploads are stored before the
record is saved; when saving fails they come back as kept files, so nobody uploads twice.
"""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field

import sqlalchemy as sa

from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.files import UploadQuotaExceeded, store_upload
from formloom.platform.models import StoredFile
from formloom.runtime.definition import FormDef
from formloom.runtime.fields import FieldValueError, field_types, type_of
from formloom.runtime.forms.builder import attr, entry_fields

KEEP = "_keep-"


def file_keys(form: FormDef) -> list[str]:
    return [k for k in entry_fields(form) if type_of(form.fields[k]).holds_files]


@dataclass
class Collected:
    """What the uploads on one submit came to."""

    data: dict = dc_field(default_factory=dict)  # {key: [{"id": ...}]} for the service
    errors: list[dict] = dc_field(default_factory=list)  # {field, message}, as the service words them
    items: dict = dc_field(default_factory=dict)  # {key: [file meta + "kept"]} to show the form again


def _size(stream) -> int:
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


def _meta(row: StoredFile) -> dict:
    return {"id": row.id, "name": row.name, "size": row.size, "content_type": row.content_type}


def _allowed(actor: Actor, app_id: int, ids: list[str], current: dict[str, dict]) -> dict[str, dict]:
    """The kept ids this actor may attach, with their metadata."""
    allowed = {i: current[i] for i in ids if i in current}
    others = [i for i in ids if i not in current]
    if others:
        rows = db.session.execute(sa.select(StoredFile).where(
            StoredFile.id.in_(others), StoredFile.app_id == app_id,
            StoredFile.created_by_id == actor.user_id)).scalars()
        allowed.update({row.id: _meta(row) for row in rows})
    return allowed


def collect(actor: Actor, app_id: int, form: FormDef, wt, keep: dict[str, list[str]],
            current: dict | None) -> Collected:
    """Store the uploads of every file field and work out each field's new list of files."""
    out = Collected()
    for key in file_keys(form):
        f = form.fields[key]
        ftype = field_types.get(f["type"])
        on_record = {m["id"]: m for m in (current or {}).get(key) or [] if isinstance(m, dict)}
        kept = _allowed(actor, app_id, keep.get(key, []), on_record)
        new = []
        for upload in wt._fields[attr(key)].data or []:
            if not getattr(upload, "filename", ""):
                continue
            try:
                ftype.check_upload(f, upload.filename, upload.mimetype or "", _size(upload.stream))
            except FieldValueError as exc:
                out.errors.append({"field": key, "message": str(exc)})
                continue
            try:
                row = store_upload(app_id, upload.stream, upload.filename, upload.mimetype, actor.user_id)
            except UploadQuotaExceeded as exc:
                out.errors.append({"field": key, "message": exc.message})
                continue
            new.append(_meta(row))
        chosen = list(kept.values()) + new
        out.data[key] = [{"id": m["id"]} for m in chosen]
        listed = {**on_record, **{m["id"]: m for m in chosen}}
        kept_ids = {m["id"] for m in chosen}
        out.items[key] = [{**m, "kept": m["id"] in kept_ids} for m in listed.values()]
    return out


def items_of(form: FormDef, values: dict) -> dict:
    """The files on a record, all kept: what an edit page starts with."""
    return {key: [{**m, "kept": True} for m in values.get(key) or [] if isinstance(m, dict)]
            for key in file_keys(form)}
