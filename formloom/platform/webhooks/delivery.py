"""Sending record events to webhooks: the outbox fan-out and the delivery job.

Permissions: the body carries the record as the event recorded it (every field), i.e. as
the app's administrator sees it. That is deliberate: only app admins can add webhooks, and
the receiving system acts for the app, not for the user who made the change.

One "webhook.fanout" job per record event makes one "webhook.deliver" job per active webhook
that wants it. A delivery that fails is retried with the jobs' exponential backoff; after
MAX_FAILURES failures in a row the webhook is switched off and the app's admins are told.
"""
from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from formloom.platform import audit, jobs, outbox
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import (
    App,
    AppMember,
    Job,
    OutboxEvent,
    Webhook,
    WebhookDelivery,
    utcnow,
)
from formloom.platform.notify import notify
from formloom.platform.webhooks import send
from formloom.platform.webhooks.safety import UnsafeURL, allowed_hosts, check_url

MAX_FAILURES = 5
MAX_ATTEMPTS = 6


def is_record_event(event: OutboxEvent) -> bool:
    return event.type.startswith("record.")


@jobs.handler("webhook.fanout")
def fanout(payload: dict) -> dict:
    """One delivery job per active webhook of the event's app that takes this event."""
    event = db.session.get(OutboxEvent, payload["event_id"])
    if event is None:
        return {"webhooks": 0}
    hooks = db.session.execute(sa.select(Webhook.id, Webhook.events, Webhook.form_key).where(
        Webhook.app_id == event.app_id, Webhook.active.is_(True))).all()
    wanted = [h.id for h in hooks if event.type in (h.events or []) and h.form_key in (None, event.form_key)]
    with write_transaction():
        for hook_id in wanted:
            jobs.enqueue("webhook.deliver", {"webhook_id": hook_id, "event_id": event.id}, queue="webhooks",
                         dedupe_key=f"webhook:{hook_id}:{event.id}", max_attempts=MAX_ATTEMPTS,
                         app_id=event.app_id)
    return {"webhooks": len(wanted)}


def body_of(event: OutboxEvent, app_key: str) -> bytes:
    """The JSON body sent for an event."""
    data = event.payload or {}
    body = {"id": event.id, "type": event.type, "app": app_key, "form": data.get("form", event.form_key),
            "record_id": data.get("record_id", event.record_id), "version": data.get("version"),
            "changes": data.get("changes"), "record": data.get("record"),
            "at": event.created_at.isoformat() + "Z"}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str).encode()


@jobs.handler("webhook.deliver")
def deliver(payload: dict) -> dict:
    """POST one event to one webhook and log the attempt. Raises jobs.Retry after a failure,
    unless the URL was refused (a retry would not change that) or the webhook is now off."""
    hook = db.session.get(Webhook, payload["webhook_id"])
    event = db.session.get(OutboxEvent, payload["event_id"])
    if hook is None or event is None or not hook.active:
        return {"status": "skipped"}
    attempt = _attempt(hook.id, event.id)
    app_key = db.session.execute(sa.select(App.key).where(App.id == hook.app_id)).scalar()
    url, secret, hook_id, body = hook.url, hook.secret, hook.id, body_of(event, app_key)
    event_id, event_type = event.id, event.type
    db.session.rollback()  # no transaction held open across the network call
    try:
        target = check_url(url, allowed_hosts())  # DNS may have changed since the save
    except UnsafeURL as exc:
        _log(hook_id, event_id, event_type, attempt, "refused", send.Outcome(False, None, f"refused: {exc}", 0))
        return {"status": "refused"}
    outcome = send.post(target, body, send.headers(secret, event_type, event_id, body))
    if outcome.ok:
        _log(hook_id, event_id, event_type, attempt, "ok", outcome)
        return {"status": "ok", "http_status": outcome.http_status}
    retry_in = jobs.backoff(attempt) if attempt < MAX_ATTEMPTS else None
    still_active = _log(hook_id, event_id, event_type, attempt, "failed", outcome, retry_in)
    if still_active:
        raise jobs.Retry(outcome.error or "failed", after=retry_in)
    return {"status": "failed", "http_status": outcome.http_status}


def _attempt(hook_id: int, event_id: int) -> int:
    """This delivery's attempt number: the job row counts them."""
    attempts = db.session.execute(sa.select(Job.attempts).where(
        Job.dedupe_key == f"webhook:{hook_id}:{event_id}")).scalar()
    return attempts or 1


def _log(hook_id: int, event_id: int, event_type: str, attempt: int, status: str, outcome: send.Outcome,
         retry_in: timedelta | None = None) -> bool:
    """Record the attempt and count failures in a row; whether the webhook is still active."""
    now = utcnow()
    with write_transaction():
        db.session.add(WebhookDelivery(
            webhook_id=hook_id, event_id=event_id, event_type=event_type, attempt=attempt, status=status,
            http_status=outcome.http_status, error=(outcome.error or None) and outcome.error[:500],
            duration_ms=outcome.duration_ms, at=now, next_attempt_at=now + retry_in if retry_in else None))
        where = Webhook.id == hook_id
        if status == "ok":
            db.session.execute(sa.update(Webhook).where(where).values(consecutive_failures=0))
            return True
        db.session.execute(sa.update(Webhook).where(where).values(
            consecutive_failures=Webhook.consecutive_failures + 1))
        failures = db.session.execute(sa.select(Webhook.consecutive_failures).where(where)).scalar() or 0
        if failures >= MAX_FAILURES:
            _disable(hook_id, now, f"{failures} failed deliveries in a row; the last: {outcome.error}")
            return False
    return True


def _disable(hook_id: int, now, reason: str) -> None:
    """Switch the webhook off and tell the app's admins (once: only the update that switches it)."""
    switched = db.session.execute(sa.update(Webhook).where(Webhook.id == hook_id, Webhook.active.is_(True)).values(
        active=False, disabled_at=now, disabled_reason=reason[:500])).rowcount
    if not switched:
        return
    hook = db.session.get(Webhook, hook_id)
    audit.record("webhook", None, app_id=hook.app_id, object_type="webhook", object_id=hook.id, label=hook.name,
                 after={"active": False}, detail=f"switched off: {reason}"[:1000])
    admins = db.session.execute(sa.select(AppMember.user_id).where(
        AppMember.app_id == hook.app_id, AppMember.is_admin.is_(True), AppMember.user_id.is_not(None))).scalars()
    notify(list(admins), "webhook_disabled",
           _('Webhook "%(name)s" was switched off', name=hook.name),
           _("%(count)s deliveries to %(url)s failed in a row. Fix the receiver, then switch the webhook "
             "on again.", count=MAX_FAILURES, url=hook.url),
           app_id=hook.app_id, dedupe_key=f"webhook-disabled:{hook_id}:{now.isoformat()}")


outbox.subscribe("webhook.fanout", is_record_event, queue="webhooks")
