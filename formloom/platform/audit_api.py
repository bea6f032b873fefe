"""GET /api/v1/audit: the audit log for organisation administrators. Read only, as the log is."""
from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Flask, jsonify, request
from flask_babel import get_timezone

from formloom.platform import audit
from formloom.platform.api import actor, api_blueprint
from formloom.platform.exceptions import PermissionDenied, ValidationFailed
from formloom.platform.inputs import is_id
from formloom.platform.models import AuditEvent

bp = api_blueprint("audit_api")
MAX_LIMIT = 200


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.before_request
def admins_only():
    if not actor().org_admin:
        raise PermissionDenied("Only organisation administrators may read the audit log")


def _iso(moment: datetime) -> str:
    return moment.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def event_json(e: AuditEvent) -> dict:
    return {"id": e.id, "at": _iso(e.at), "action": e.action, "actor": e.actor_id, "actor_name": e.actor_name,
            "via": e.via, "ip": e.ip, "app": e.app_id, "object_type": e.object_type, "object_id": e.object_id,
            "object_label": e.object_label, "before": e.before, "after": e.after, "detail": e.detail}


def encode_cursor(event_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"before": event_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor continues below. Raises ValidationFailed for anything we did not hand out."""
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["before"]
    except (ValueError, TypeError, KeyError):
        value = None
    if not is_id(value):
        raise ValidationFailed("The cursor is not valid; start again from the first page",
                               [{"field": "cursor", "message": "is not valid"}])
    return value


def _limit() -> int:
    value = request.args.get("limit", "50")
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be a whole number from 1 to {MAX_LIMIT}",
                               [{"field": "limit", "message": "is out of range"}])
    return int(value)


@bp.get("/audit")
def list_audit():
    """Lines newest first; filters: action, actor, app, object_type, object_id, from, to, q."""
    filters = audit.parse_filters(request.args, ZoneInfo(str(get_timezone())))
    cursor = request.args.get("cursor")
    events, next_id = audit.find(filters, decode_cursor(cursor) if cursor else None, _limit())
    return jsonify({"items": [event_json(e) for e in events],
                    "next_cursor": encode_cursor(next_id) if next_id else None})
