"""Uploaded files: kept under generated names in the instance folder, served to app members.

An upload is "attached" once a record takes it (`attach`, in the record's transaction). One
that no record takes counts against its uploader's quota (`FORMLOOM_UPLOAD_QUOTA_MB`) and is
removed by the daily `files.sweep` job a day after it was uploaded.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, send_file
from sqlalchemy.exc import IntegrityError

from formloom.platform import jobs, outbox
from formloom.platform.exceptions import FormloomError
from formloom.platform.extensions import db, write_transaction, writing
from formloom.platform.models import StoredFile, User, utcnow

MB = 1024 * 1024
KEEP_UNATTACHED = timedelta(days=1)
SWEEP_BATCH = 500
TICK_EVERY = 300.0  # seconds between looks for today's sweep
_last_tick = [0.0]


class UploadQuotaExceeded(FormloomError):
    """An upload that would take the uploader's unattached files past their quota."""

    status = 413
    title = "Upload quota exceeded"
    code = "upload_quota_exceeded"


def files_dir() -> Path:
    return Path(current_app.config["FORMLOOM_FILES_DIR"])


def path_of(file_id: str) -> Path:
    return files_dir() / file_id[:2] / file_id


def quota_bytes() -> int:
    """How many bytes of unattached uploads one person may have; 0: no quota."""
    return int(current_app.config.get("FORMLOOM_UPLOAD_QUOTA_MB") or 0) * MB


def pending_bytes(user_id: int) -> int:
    """The size of the user's uploads that no record has taken yet."""
    return db.session.execute(sa.select(sa.func.coalesce(sa.func.sum(StoredFile.size), 0)).where(
        StoredFile.attached_at.is_(None), StoredFile.created_by_id == user_id)).scalar()


def _over_quota(name: str, pending: int, quota: int) -> UploadQuotaExceeded:
    return UploadQuotaExceeded(
        f'"{name}" would take your uploads that no record holds yet past the quota of {quota // MB} MB '
        f"({pending / MB:.1f} MB now). Save them in records or wait: such uploads are removed a day after upload",
        [{"field": "file", "message": f"exceeds the upload quota of {quota // MB} MB"}],
        quota_mb=quota // MB, pending_mb=round(pending / MB, 1))


def store_upload(app_id: int, stream, name: str, content_type: str, user_id: int | None) -> StoredFile:
    """Save an upload under a generated name; the client's name is kept only as metadata.

    Raises UploadQuotaExceeded (nothing kept) when it would take the user past their quota.
    """
    safe_name = os.path.basename(name or "file").replace("\x00", "")[:255] or "file"
    quota = quota_bytes() if user_id is not None else 0
    room = quota - pending_bytes(user_id) if quota else None
    file_id = secrets.token_hex(16)
    target = path_of(file_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    tmp = target.with_suffix(".part")
    try:
        with open(tmp, "wb") as out:
            while chunk := stream.read(1024 * 256):
                digest.update(chunk)
                size += len(chunk)
                if room is not None and size > room:  # stop reading: it cannot be kept
                    raise _over_quota(safe_name, quota - room, quota)
                out.write(chunk)
        os.replace(tmp, target)
        row = StoredFile(id=file_id, app_id=app_id, name=safe_name, size=size, sha256=digest.hexdigest(),
                         content_type=(content_type or "").replace("\x00", "")[:120] or "application/octet-stream",
                         created_by_id=user_id)
        with write_transaction():
            if quota:
                # One upload at a time per user decides (PostgreSQL; SQLite has one writer anyway).
                db.session.execute(sa.select(User.id).where(User.id == user_id).with_for_update())
                pending = pending_bytes(user_id)
                if pending + size > quota:
                    raise _over_quota(safe_name, pending, quota)
            db.session.add(row)
    except BaseException:
        tmp.unlink(missing_ok=True)
        target.unlink(missing_ok=True)
        raise
    return row


def attach(app_id: int, ids: list[str]) -> None:
    """Mark these files of the app as held by a record, in the caller's write transaction
    (outside one nothing is being saved, so nothing is marked).

    Runs before the files are looked up: on PostgreSQL the row lock it takes makes a sweep
    running at the same moment skip them, or (if the sweep was first) the lookup finds them
    gone, so no record ever holds a removed file.
    """
    if ids and writing():
        db.session.execute(sa.update(StoredFile).where(
            StoredFile.id.in_(ids), StoredFile.app_id == app_id, StoredFile.attached_at.is_(None))
            .values(attached_at=utcnow()).execution_options(synchronize_session=False))


def send_stored(row: StoredFile, inline: bool = False):
    # Served as an attachment unless it is an image, so an uploaded HTML file never runs
    # in our origin.
    inline = inline and row.content_type in ("image/png", "image/jpeg", "image/gif", "image/webp")
    return send_file(path_of(row.id), mimetype=row.content_type if inline else "application/octet-stream",
                     as_attachment=not inline, download_name=row.name, max_age=0)


# --- the daily sweep -------------------------------------------------------------------------

@jobs.handler("files.sweep")
def sweep(payload: dict) -> dict:
    """Remove the uploads no record took within a day of their upload: rows, then files."""
    cutoff = utcnow() - KEEP_UNATTACHED
    removed = freed = 0
    while True:
        with write_transaction():
            ids = list(db.session.execute(sa.select(StoredFile.id).where(
                StoredFile.attached_at.is_(None), StoredFile.created_at < cutoff).limit(SWEEP_BATCH)).scalars())
            gone = db.session.execute(sa.delete(StoredFile).where(
                StoredFile.id.in_(ids), StoredFile.attached_at.is_(None))
                .returning(StoredFile.id, StoredFile.size).execution_options(synchronize_session=False)).all()
        for file_id, size in gone:
            path_of(file_id).unlink(missing_ok=True)
            removed, freed = removed + 1, freed + size
        if len(ids) < SWEEP_BATCH:
            return {"removed": removed, "bytes": freed}


def schedule_sweep(now=None) -> str | None:
    """Ask for today's sweep (UTC) unless it was asked for already; the job's id."""
    day = (now or utcnow()).strftime("%Y-%m-%d")
    try:
        with write_transaction():
            return jobs.enqueue("files.sweep", {"day": day}, dedupe_key=f"files.sweep:{day}")
    except IntegrityError:
        return None  # another process asked a moment ago


def tick() -> dict | None:
    if time.monotonic() - _last_tick[0] < TICK_EVERY:
        return None
    _last_tick[0] = time.monotonic()
    schedule_sweep()
    return None


def init() -> None:
    """Register the sweep of unattached uploads with the background tick (platform init_app)."""
    outbox.on_tick(tick)
