"""The notification centre: the bell's unread count, the list, and each user's preferences.

Everyone sees only their own notifications; another user's id is a 404, not a 403, so ids
tell nothing. The small service functions here are shared with notifications_api.
"""
from __future__ import annotations

from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    flash,
    has_request_context,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from formloom.platform import i18n, mail, notify
from formloom.platform.auth import current_actor
from formloom.platform.exceptions import NotFound
from formloom.platform.extensions import db, write_transaction
from formloom.platform.inputs import as_id
from formloom.platform.models import Notification, NotificationPreference, utcnow

bp = Blueprint("notifications", __name__)
PAGE_SIZE = 30
BADGE_CAP = 100  # the bell shows "99+" beyond this, so counting further is wasted work

# Every kind a user may switch on or off, in the order the preferences page lists them.
KINDS = {"*": _l("Every kind"), "automation": _l("Messages from automations"),
         "webhook_disabled": _l("A webhook was switched off after repeated failures")}
CHANNELS = {"in_app": _l("In the app"), "email": _l("By email")}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.context_processor(bell_context)


# --- the service -------------------------------------------------------------------------

def _own(user_id: int, app_id: int | None = None):
    query = Notification.user_id == user_id
    return sa.and_(query, Notification.app_id == app_id) if app_id else query


def unread_count(user_id: int, app_id: int | None = None, cap: int | None = None) -> int:
    """Unread notifications of the user (up to `cap`), counted on ix_notifications_user_unread."""
    ids = sa.select(Notification.id).where(_own(user_id, app_id), Notification.read_at.is_(None))
    if cap:
        ids = ids.limit(cap)
    return db.session.execute(sa.select(sa.func.count()).select_from(ids.subquery())).scalar_one()


def find(user_id: int, unread_only: bool, before: int | None, limit: int,
         app_id: int | None = None) -> tuple[list[Notification], int | None]:
    """A page of the user's notifications, newest first, and the id the next page starts below."""
    query = sa.select(Notification).where(_own(user_id, app_id))
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    if before is not None:
        query = query.where(Notification.id < before)
    rows = list(db.session.execute(query.order_by(Notification.id.desc()).limit(limit + 1)).scalars())
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)


def mark_read(user_id: int, ids=None, app_id: int | None = None) -> int:
    """Mark the user's notifications read (all unread when `ids` is None); how many changed."""
    query = sa.update(Notification).where(_own(user_id, app_id), Notification.read_at.is_(None))
    if ids is not None:
        query = query.where(Notification.id.in_(ids))
    with write_transaction() as session:
        return session.execute(query.values(read_at=utcnow())).rowcount


def own_notification(user_id: int, note_id: int) -> Notification:
    """One of the user's notifications. Raises NotFound for anyone else's."""
    note = db.session.get(Notification, note_id)
    if note is None or note.user_id != user_id:
        raise NotFound(_("There is no such notification."))
    return note


def app_names(notes) -> dict[int, str]:
    return i18n.app_names({n.app_id for n in notes if n.app_id})


def is_local(url: str | None) -> bool:
    """Whether a notification's link stays on this site ("/x", never "//host" or "/\\host")."""
    return bool(url) and url.startswith("/") and not url.startswith(("//", "/\\"))


def preferences(user_id: int) -> dict[str, dict[str, bool]]:
    """{kind: {channel: on}} for every kind in KINDS; a kind without a row is on everywhere."""
    rows = {p.kind: p for p in db.session.execute(sa.select(NotificationPreference).where(
        NotificationPreference.user_id == user_id)).scalars()}
    return {kind: {ch: bool(getattr(rows[kind], ch)) if kind in rows else True for ch in CHANNELS} for kind in KINDS}


def save_preferences(user_id: int, chosen: dict[str, dict[str, bool]]) -> None:
    """Upsert one NotificationPreference row per kind in KINDS."""
    with write_transaction() as session:
        rows = {p.kind: p for p in session.execute(sa.select(NotificationPreference).where(
            NotificationPreference.user_id == user_id)).scalars()}
        for kind in KINDS:
            row = rows.get(kind) or NotificationPreference(user_id=user_id, kind=kind)
            for channel in CHANNELS:
                setattr(row, channel, chosen[kind][channel])
            session.add(row)


# --- the bell ----------------------------------------------------------------------------

def bell_context() -> dict:
    """`unread_notifications` for the top bar; no query at all for visitors."""
    if not has_request_context() or not current_user.is_authenticated:
        return {}
    return {"unread_notifications": unread_count(current_user.id, cap=BADGE_CAP)}


# --- the pages ---------------------------------------------------------------------------

def _before() -> int | None:
    return as_id(request.args.get("before", ""))


@bp.get("/notifications")
@login_required
def index():
    """The user's notifications, newest first; `tab=unread` keeps only the unread ones."""
    user_id = current_actor().user_id
    unread_only = request.args.get("tab") == "unread"
    tab = "unread" if unread_only else None
    notes, next_id = find(user_id, unread_only, _before(), PAGE_SIZE)
    tz = ZoneInfo(str(get_timezone()))
    times = {n.id: i18n.format_moment(n.created_at, tz) for n in notes}
    return render_template(
        "notifications/index.html", notes=notes, times=times, apps=app_names(notes),
        texts={n.id: notify.text(n) for n in notes}, tab=tab or "all",
        local={n.id: is_local(n.url) for n in notes}, timezone=str(tz),
        unread=unread_count(user_id), kinds=KINDS,
        next_url=url_for("notifications.index", tab=tab, before=next_id) if next_id else None,
        first_url=url_for("notifications.index", tab=tab) if _before() is not None else None)


@bp.post("/notifications/<int:note_id>/open")
@login_required
def open_one(note_id: int):
    """Mark one notification read and follow its link when the link stays on this site."""
    user_id = current_actor().user_id
    note = own_notification(user_id, note_id)
    url = note.url
    mark_read(user_id, [note_id])
    return redirect(url if is_local(url) else url_for("notifications.index"))


@bp.post("/notifications/read-all")
@login_required
def read_all():
    changed = mark_read(current_actor().user_id)
    if changed:
        flash(_("All notifications are marked as read."), "success")
    return redirect(url_for("notifications.index", tab=request.form.get("tab") or None))


@bp.route("/notifications/preferences", methods=["GET", "POST"])
@login_required
def prefs():
    """Which kinds arrive in the app and by email; one row of checkboxes per kind."""
    user_id = current_actor().user_id
    if request.method == "POST":
        chosen = {kind: {ch: f"{kind}:{ch}" in request.form for ch in CHANNELS} for kind in KINDS}
        save_preferences(user_id, chosen)
        flash(_("Your notification preferences are saved."), "success")
        return redirect(url_for("notifications.prefs"))
    return render_template("notifications/preferences.html", kinds=KINDS, channels=CHANNELS,
                           chosen=preferences(user_id), mail_enabled=mail.enabled())
