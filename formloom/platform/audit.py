"""The audit log: who did what to which object, when, with before and after.

`record()` adds a line to the current transaction, so a change and its audit line commit
or roll back together. `record_now()` writes at once on its own connection, for what
must be kept even though the request fails: failed sign-ins and denied access.
Nothing updates or deletes audit lines.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request
from flask_babel import lazy_gettext as _l

from formloom.platform.actor import Actor
from formloom.platform.exceptions import ValidationFailed
from formloom.platform.extensions import db
from formloom.platform.models import AuditEvent, utcnow

# Every action the log knows, with the words the admin page shows for it (translated there).
ACTIONS = {
    "signin": _l("Signed in"),
    "signin_failed": _l("Sign-in failed"),
    "signout": _l("Signed out"),
    "denied": _l("Access denied"),
    "publish": _l("Definition published"),
    "restore": _l("Version restored"),
    "app_import": _l("App imported"),
    "app_bin": _l("App moved to the bin or restored"),
    "permissions": _l("Permissions changed"),
    "member": _l("App members changed"),
    "user": _l("User changed"),
    "department": _l("Department changed"),
    "role": _l("Role changed"),
    "token": _l("API token changed"),
    "import": _l("Records imported"),
    "export": _l("Records exported"),
    "reassign": _l("Records reassigned"),
    "webhook": _l("Webhook changed"),
    "reveal": _l("Secrets revealed"),
    "job": _l("Job retried or cancelled"),
}


def _fields(action: str, actor: Actor | None, *, app_id=None, object_type=None, object_id=None,
            label=None, before=None, after=None, detail=None) -> dict[str, Any]:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    ip = request.remote_addr if has_request_context() else None
    return {
        "at": utcnow(), "action": action,
        "actor_id": actor.user_id if actor else None,
        "actor_name": (actor.name if actor else "")[:254],
        "via": actor.via if actor else "session",
        "ip": ip, "app_id": app_id, "object_type": object_type,
        "object_id": None if object_id is None else str(object_id)[:64],
        "object_label": None if label is None else str(label)[:300],
        "before": before, "after": after,
        "detail": None if detail is None else str(detail)[:1000],
    }


def record(action: str, actor: Actor | None, **fields) -> None:
    """Add an audit line to the current transaction."""
    db.session.add(AuditEvent(**_fields(action, actor, **fields)))


def record_now(action: str, actor: Actor | None, **fields) -> None:
    """Write an audit line at once, outside the session's transaction (which may roll back)."""
    with db.engine.begin() as conn:
        conn.execute(AuditEvent.__table__.insert().values(**_fields(action, actor, **fields)))


# --- reading the log (the admin page and the API) ------------------------------------------

RANGE_ERROR = "is not after from"

@dataclass
class AuditFilter:
    """What to look for; every part is optional. `since` is inclusive, `until` exclusive (UTC)."""

    action: str | None = None
    actor_id: int | None = None
    app_id: int | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None

    def conditions(self) -> list:
        e, out = AuditEvent, []
        for value, column in ((self.action, e.action), (self.actor_id, e.actor_id), (self.app_id, e.app_id),
                              (self.object_type, e.object_type), (self.object_id, e.object_id)):
            if value is not None:
                out.append(column == value)
        if self.since is not None:
            out.append(e.at >= self.since)
        if self.until is not None:
            out.append(e.at < self.until)
        if self.text:
            out.append(sa.or_(e.detail.icontains(self.text, autoescape=True),
                              e.object_label.icontains(self.text, autoescape=True)))
        return out


def find(filters: AuditFilter, before_id: int | None = None, limit: int = 50) -> tuple[list[AuditEvent], int | None]:
    """A page of lines, newest first, and the id the next page starts below (None: last page).

    Keyset paging by id: ids grow with time, and a page stays the same while lines are added.
    """
    stmt = sa.select(AuditEvent).where(*filters.conditions()).order_by(AuditEvent.id.desc())
    if before_id is not None:
        stmt = stmt.where(AuditEvent.id < before_id)
    rows = list(db.session.execute(stmt.limit(limit + 1)).scalars())
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f'"{field}" {message}', [{"field": field, "message": message}])


def _int(args, key: str) -> int | None:
    value = (args.get(key) or "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise _invalid(key, "must be a whole number (an id)")
    return int(value)


def _moment(args, key: str, tz: tzinfo, end: bool) -> datetime | None:
    """A date (a whole day in `tz`; `end` takes the day after) or an ISO date-time, as naive UTC."""
    value = (args.get(key) or "").strip()
    if not value:
        return None
    try:
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), time(), tz) + (timedelta(days=1) if end else timedelta())
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            moment = moment if moment.tzinfo else moment.replace(tzinfo=tz)
    except ValueError:
        raise _invalid(key, "must be a date (YYYY-MM-DD) or an ISO 8601 date-time") from None
    return moment.astimezone(UTC).replace(tzinfo=None)


def _text(args, key: str, max_len: int) -> str | None:
    value = (args.get(key) or "").strip()
    if len(value) > max_len:
        raise _invalid(key, f"is longer than {max_len} characters")
    return value or None


def parse_filters(args, tz: tzinfo) -> AuditFilter:
    """The filters in query parameters (action, actor, app, object_type, object_id, from, to, q).

    Dates are days in `tz`, the reader's time zone; `to` includes its whole day.
    Raises ValidationFailed naming the parameter that is wrong.
    """
    errors: list[dict] = []

    def read(parse, *a):
        try:
            return parse(args, *a)
        except ValidationFailed as exc:
            errors.extend(exc.errors)

    found = AuditFilter(action=read(_text, "action", 40), actor_id=read(_int, "actor"), app_id=read(_int, "app"),
                        object_type=read(_text, "object_type", 40), object_id=read(_text, "object_id", 64),
                        since=read(_moment, "from", tz, False), until=read(_moment, "to", tz, True),
                        text=read(_text, "q", 200))
    if found.action is not None and found.action not in ACTIONS:
        errors.append({"field": "action", "message": f"is not one of: {', '.join(ACTIONS)}"})
    if found.since and found.until and found.since >= found.until:
        errors.append({"field": "to", "message": RANGE_ERROR})
    if errors:
        raise ValidationFailed("; ".join(f'"{e["field"]}" {e["message"]}' for e in errors), errors)
    return found


def changes(before: Any, after: Any) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for every field of either side; a non-object side is one row "".

    Fields keep the order they were written in: before's first, then any only in after.
    """
    if before is None and after is None:
        return []
    if not isinstance(before, dict | None) or not isinstance(after, dict | None):
        return [("", before, after)]
    before, after = before or {}, after or {}
    keys = list(before) + [k for k in after if k not in before]
    return [(k, before.get(k), after.get(k)) for k in keys]
