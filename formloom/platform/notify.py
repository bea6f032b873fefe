"""Telling people: in-app notifications and, as preferences allow, the same by email.

Each notification made for a user who takes its kind by email gets one "email.send" job in
the same transaction, so a rolled-back change emails nobody and a committed one is not lost.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _

from formloom.platform import jobs, mail
from formloom.platform.extensions import db, write_transaction
from formloom.platform.i18n import localized
from formloom.platform.models import Notification, NotificationPreference, User, utcnow


def wants(user_id: int, kind: str, channel: str) -> bool:
    """Whether the user takes `kind` on `channel` ("in_app" or "email"); a kind's own setting
    beats the user's "*" setting, and both default to yes."""
    prefs = {p.kind: p for p in db.session.execute(sa.select(NotificationPreference).where(
        NotificationPreference.user_id == user_id, NotificationPreference.kind.in_((kind, "*")))).scalars()}
    pref = prefs.get(kind) or prefs.get("*")
    return True if pref is None else bool(getattr(pref, channel))


def message(title: str, body: str = "", /, **args) -> dict:
    """What a notification says, kept untranslated: `title` and `body` are msgids (marked
    with N_), `args` their parameters; an argument that is a dict {"name", "name_en"} is
    text in both languages. `text()` renders it in each reader's language when read."""
    return {"title": title, "body": body, "args": args}


def _render(msgid: str, args: dict) -> str:
    if not msgid:
        return ""
    return _(msgid, **{k: localized(v) if isinstance(v, dict) else v for k, v in args.items()})


def text(note: Notification, locale: str | None = None) -> tuple[str, str]:
    """(title, body) of `note` in `locale` (the reader's by default): rendered from its
    message when it has one, else the text it was made with (an author's own words)."""
    if not note.message:
        return note.title, note.body or ""
    if locale is None:
        return _render(note.message["title"], note.message["args"]), _render(note.message.get("body"),
                                                                             note.message["args"])
    with force_locale(locale):
        return text(note)


def notify(user_ids, kind: str, title: str | dict, body: str = "", url: str | None = None,
           app_id: int | None = None, dedupe_key: str | None = None) -> list[int]:
    """Add in-app notifications in the current transaction, and their email jobs; the ids
    made. With a `dedupe_key`, a user already told (same key) is not told again. `title` is
    the text itself (an app author's words) or a `message()`, read in each reader's language."""
    said = title if isinstance(title, dict) else None
    made = []
    emailing = mail.enabled()
    base = mail.base_url() if emailing else None
    for user_id in dict.fromkeys(u for u in user_ids if u):
        key = f"{dedupe_key}:{user_id}" if dedupe_key else None
        if key and db.session.execute(sa.select(Notification.id).where(Notification.dedupe_key == key)).first():
            continue
        if not wants(user_id, kind, "in_app"):
            continue
        if said is not None:  # title/body keep the text in the user's language (search, old clients)
            user = db.session.get(User, user_id)
            with force_locale(mail.locale_of(user) if user is not None else mail.default_locale()):
                title, body = _render(said["title"], said["args"]), _render(said.get("body"), said["args"])
        note = Notification(user_id=user_id, app_id=app_id, kind=kind, title=title[:300], body=body, url=url,
                            dedupe_key=key, message=said)
        db.session.add(note)
        db.session.flush()
        made.append(note.id)
        if emailing and wants(user_id, kind, "email"):
            jobs.enqueue("email.send", {"notification_id": note.id, "base_url": base}, queue=mail.QUEUE,
                         dedupe_key=f"email:notification:{note.id}", max_attempts=mail.MAX_ATTEMPTS, app_id=app_id)
    return made


@jobs.handler("email.send")
def send_email(payload: dict) -> dict:
    """Email one notification to its user, once, if they can and still want it.
    Raises mail.MailError (retried) or mail.Undeliverable (fails the job)."""
    note = db.session.get(Notification, payload["notification_id"])
    if note is None or note.emailed_at is not None:
        return {"status": "skipped", "reason": "gone" if note is None else "emailed already"}
    user = db.session.get(User, note.user_id)
    if not user.active or not user.email:
        return {"status": "skipped", "reason": "user cannot receive email"}
    if not wants(user.id, note.kind, "email"):
        return {"status": "skipped", "reason": "user turned email off"}
    base = payload.get("base_url")
    local = bool(note.url) and note.url.startswith("/") and not note.url.startswith(("//", "/\\"))
    link = base + note.url if base and local else mail.absolute(base, "notifications.index")
    locale = mail.locale_of(user)
    title, body = text(note, locale)
    plain, html = mail.render("notification", locale, title=title, body=body, link=link,
                              prefs_link=mail.absolute(base, "notifications.prefs"))
    msg, note_id, address = mail.message(user, title, plain, html), note.id, user.email
    db.session.rollback()  # no transaction held open across the network call
    mail.send(msg)
    with write_transaction():
        db.session.execute(sa.update(Notification).where(Notification.id == note_id).values(emailed_at=utcnow()))
    return {"status": "sent", "to": address}
