"""Telling people: in-app notifications (and, as preferences allow, email)."""
from __future__ import annotations

import sqlalchemy as sa

from formloom.platform.extensions import db
from formloom.platform.models import Notification, NotificationPreference


def wants(user_id: int, kind: str, channel: str) -> bool:
    """Whether the user takes `kind` on `channel` ("in_app" or "email"); a kind's own setting
    beats the user's "*" setting, and both default to yes."""
    prefs = {p.kind: p for p in db.session.execute(sa.select(NotificationPreference).where(
        NotificationPreference.user_id == user_id, NotificationPreference.kind.in_((kind, "*")))).scalars()}
    pref = prefs.get(kind) or prefs.get("*")
    return True if pref is None else bool(getattr(pref, channel))


def notify(user_ids, kind: str, title: str, body: str = "", url: str | None = None, app_id: int | None = None,
           dedupe_key: str | None = None) -> list[int]:
    """Add in-app notifications in the current transaction; the ids made. With a
    `dedupe_key`, a user already told (same key) is not told again."""
    made = []
    for user_id in dict.fromkeys(u for u in user_ids if u):
        key = f"{dedupe_key}:{user_id}" if dedupe_key else None
        if key and db.session.execute(sa.select(Notification.id).where(Notification.dedupe_key == key)).first():
            continue
        if not wants(user_id, kind, "in_app"):
            continue
        note = Notification(user_id=user_id, app_id=app_id, kind=kind, title=title[:300], body=body, url=url,
                            dedupe_key=key)
        db.session.add(note)
        db.session.flush()
        made.append(note.id)
    return made
