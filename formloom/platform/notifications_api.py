"""/api/v1/notifications: the caller's own notifications, and marking them read.

A token limited to one app sees only that app's notifications.
"""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, jsonify, request

from formloom.platform import notify
from formloom.platform.api import actor, api_blueprint, json_body
from formloom.platform.audit_api import decode_cursor, encode_cursor
from formloom.platform.credentials import narrowed_to_token_app
from formloom.platform.exceptions import ValidationFailed
from formloom.platform.extensions import csrf
from formloom.platform.inputs import MAX_ID, is_id
from formloom.platform.models import Notification
from formloom.platform.notifications_web import app_names, find, mark_read, unread_count

bp = api_blueprint("notifications_api")
MAX_LIMIT = 100


def init_app(app: Flask) -> None:
    csrf.exempt(bp)  # api_blueprint checks X-CSRFToken itself for browser sessions
    app.register_blueprint(bp)


def _iso(moment: datetime | None) -> str | None:
    return moment.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z") if moment else None


def note_json(note: Notification, apps: dict[int, str]) -> dict:
    title, body = notify.text(note)
    return {"id": note.id, "kind": note.kind, "title": title, "body": body, "url": note.url,
            "app": note.app_id, "app_name": apps.get(note.app_id), "created_at": _iso(note.created_at),
            "read_at": _iso(note.read_at)}


def _limit() -> int:
    value = request.args.get("limit", "30")
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be a whole number from 1 to {MAX_LIMIT}",
                               [{"field": "limit", "message": "is out of range"}])
    return int(value)


@bp.get("/notifications")
@narrowed_to_token_app
def list_notifications():
    """Newest first; ?unread=1 keeps the unread ones; `unread` is the caller's unread count."""
    who = actor()
    cursor = request.args.get("cursor")
    unread_only = request.args.get("unread", "") in ("1", "true")
    notes, next_id = find(who.user_id, unread_only, decode_cursor(cursor) if cursor else None, _limit(), who.app_id)
    apps = app_names(notes)
    return jsonify({"items": [note_json(n, apps) for n in notes],
                    "next_cursor": encode_cursor(next_id) if next_id else None,
                    "unread": unread_count(who.user_id, who.app_id)})


def _ids(body: dict) -> list[int] | None:
    """The ids to mark, or None for all. Raises ValidationFailed for any other body."""
    if body.get("all") is True:
        return None
    ids = body.get("ids")
    if not isinstance(ids, list) or not ids:
        raise ValidationFailed('Send {"ids": [notification ids]} or {"all": true}',
                               [{"pointer": "/ids", "message": "must be a non-empty list of notification ids"}])
    wrong = [i for i, value in enumerate(ids) if not is_id(value)]
    if wrong:
        raise ValidationFailed('Send {"ids": [notification ids]} or {"all": true}',
                               [{"pointer": f"/ids/{i}", "message": f"must be an id (a whole number from 1 to {MAX_ID})"}
                                for i in wrong[:20]])
    return ids


@bp.post("/notifications/read")
@narrowed_to_token_app
def read():
    """Mark some (or all) of the caller's notifications read; ids of others' are ignored."""
    who = actor()
    marked = mark_read(who.user_id, _ids(json_body()), who.app_id)
    return jsonify({"marked": marked, "unread": unread_count(who.user_id, who.app_id)})
