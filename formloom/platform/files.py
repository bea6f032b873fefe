"""Uploaded files: kept under generated names in the instance folder, served to app members."""
from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from flask import current_app, send_file

from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import StoredFile


def files_dir() -> Path:
    return Path(current_app.config["FORMLOOM_FILES_DIR"])


def path_of(file_id: str) -> Path:
    return files_dir() / file_id[:2] / file_id


def store_upload(app_id: int, stream, name: str, content_type: str, user_id: int | None) -> StoredFile:
    """Save an upload under a generated name; the client's name is kept only as metadata."""
    file_id = secrets.token_hex(16)
    target = path_of(file_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    tmp = target.with_suffix(".part")
    with open(tmp, "wb") as out:
        while chunk := stream.read(1024 * 256):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    os.replace(tmp, target)
    safe_name = os.path.basename(name or "file").replace("\x00", "")[:255] or "file"
    row = StoredFile(id=file_id, app_id=app_id, name=safe_name, content_type=content_type or "application/octet-stream",
                     size=size, sha256=digest.hexdigest(), created_by_id=user_id)
    with write_transaction():
        db.session.add(row)
    return row


def send_stored(row: StoredFile, inline: bool = False):
    # Served as an attachment unless it is an image, so an uploaded HTML file never runs
    # in our origin.
    inline = inline and row.content_type in ("image/png", "image/jpeg", "image/gif", "image/webp")
    return send_file(path_of(row.id), mimetype=row.content_type if inline else "application/octet-stream",
                     as_attachment=not inline, download_name=row.name, max_age=0)
