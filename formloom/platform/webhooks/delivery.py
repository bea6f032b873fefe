"""Sending record events to webhooks: the outbox fan-out and the delivery job.

Permissions: the body carries the record as the event recorded it (every field), i.e. as
the app's administrator sees it. That is deliberate: only app admins can add webhooks, and
the receiving system acts for the app, not for the user who made the change.

The outbox dispatcher asks `delivery_rows(events)` for one "webhook.deliver" job per webhook
and record event it wants (an event no webhook wants makes no job). A delivery that fails is
retried with the jobs' exponential backoff. Health is counted in delivery order: after
MAX_FAILURES failed attempts started after the newest successful one, the webhook is switched
off and the app's admins are told. While it is off its deliveries are `held` (jobs that wait,
neither sent nor dropped); switching it on again queues them in the order of their events.
"""
from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from formloom.platform import audit, jobs, outbox
from formloom.platform.extensions import db, write_transaction
from formloom.platform.i18n import N_
from formloom.platform.models import (
    App,
    AppMember,
    Job,
    OutboxEvent,
    Webhook,
    WebhookDelivery,
    utcnow,
)
from formloom.platform.notify import message, notify
from formloom.platform.webhooks import send
from formloom.platform.webhooks.safety import UnsafeURL, allowed_hosts, check_url

MAX_FAILURES = 5
MAX_ATTEMPTS = 6


def is_record_event(event: OutboxEvent) -> bool:
    return event.type.startswith("record.")


def delivery_rows(events: list[OutboxEvent]) -> list[dict]:
    """The delivery jobs for a batch of events: one per (webhook, event) it takes; `held` for a
    webhook that is switched off."""
    apps = {e.app_id for e in events if is_record_event(e)}
    if not apps:
        return []
    hooks: dict[int, list] = {}
    for h in db.session.execute(sa.select(Webhook.id, Webhook.app_id, Webhook.events, Webhook.form_key,
                                          Webhook.active).where(Webhook.app_id.in_(apps)).order_by(Webhook.id)):
        hooks.setdefault(h.app_id, []).append(h)
    rows = []
    for event in events:
        if not is_record_event(event):
            continue
        for h in hooks.get(event.app_id, ()):
            if event.type in (h.events or []) and h.form_key in (None, event.form_key):
                row = jobs.job_row("webhook.deliver", {"webhook_id": h.id, "event_id": event.id}, queue="webhooks",
                                   dedupe_key=f"webhook:{h.id}:{event.id}", max_attempts=MAX_ATTEMPTS,
                                   app_id=event.app_id)
                if not h.active:
                    row.update(status="held", handed_at=None, error="the webhook is switched off")
                rows.append(row)
    return rows


def held_count(hook_id: int) -> int:
    """How many deliveries of this webhook wait for it to be switched on."""
    return db.session.execute(sa.select(sa.func.count()).select_from(Job).where(
        Job.status == "held", Job.kind == "webhook.deliver", Job.dedupe_key.like(f"webhook:{hook_id}:%"))).scalar()


def release_held(hook_id: int) -> int:
    """Queue the held deliveries of a webhook switched on again, in event order (in the caller's
    transaction); how many."""
    return jobs.release(sa.and_(Job.kind == "webhook.deliver", Job.dedupe_key.like(f"webhook:{hook_id}:%")))


@jobs.handler("webhook.fanout")
def fanout(payload: dict) -> dict:
    """One delivery job per active webhook of the event's app that takes this event (jobs made
    before deliveries were chosen at dispatch; kept so that those still run)."""
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
    if hook is None or event is None:
        return {"status": "skipped"}
    if not hook.active:
        raise jobs.Hold("the webhook is switched off; its deliveries wait until it is switched on")
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
    started = utcnow()
    outcome = send.post(target, body, send.headers(secret, event_type, event_id, body,
                                                   delivery_id=jobs.current_job_id()))
    if outcome.ok:
        _log(hook_id, event_id, event_type, attempt, "ok", outcome, started=started)
        return {"status": "ok", "http_status": outcome.http_status}
    retry_in = jobs.backoff(attempt) if attempt < MAX_ATTEMPTS else None
    still_active = _log(hook_id, event_id, event_type, attempt, "failed", outcome, retry_in, started=started)
    if still_active:
        raise jobs.Retry(outcome.error or "failed", after=retry_in)
    raise jobs.Hold("the webhook was switched off; this delivery waits until it is switched on")


def _attempt(hook_id: int, event_id: int) -> int:
    """This delivery's attempt number: the job row counts them."""
    attempts = db.session.execute(sa.select(Job.attempts).where(
        Job.dedupe_key == f"webhook:{hook_id}:{event_id}")).scalar()
    return attempts or 1


def _log(hook_id: int, event_id: int, event_type: str, attempt: int, status: str, outcome: send.Outcome,
         retry_in: timedelta | None = None, started=None) -> bool:
    """Record the attempt and count the failures in delivery order; whether the webhook is still
    active. An attempt is placed by when it started: a success resets only the failures of
    attempts started before it, so a slow success cannot hide newer failures."""
    now = utcnow()
    started = started or now
    with write_transaction():
        lock = sa.select(Webhook.id).where(Webhook.id == hook_id)
        if db.engine.dialect.name == "postgresql":
            lock = lock.with_for_update()  # concurrent deliveries of one webhook count one after another
        db.session.execute(lock)
        db.session.add(WebhookDelivery(
            webhook_id=hook_id, event_id=event_id, event_type=event_type, attempt=attempt, status=status,
            http_status=outcome.http_status, error=(outcome.error or None) and outcome.error[:500],
            duration_ms=outcome.duration_ms, at=started, next_attempt_at=now + retry_in if retry_in else None))
        db.session.flush()
        failures = _failures_in_a_row(hook_id)
        where = Webhook.id == hook_id
        db.session.execute(sa.update(Webhook).where(where).values(consecutive_failures=failures))
        if status != "ok" and failures >= MAX_FAILURES:
            _disable(hook_id, now, f"{failures} failed deliveries in a row; the last: {outcome.error}")
            return False
        active = db.session.execute(sa.select(Webhook.active).where(where)).scalar()
    return bool(active) or status == "ok"


def _failures_in_a_row(hook_id: int) -> int:
    """Failed attempts started after the newest successful one."""
    last_ok = db.session.execute(sa.select(sa.func.max(WebhookDelivery.at)).where(
        WebhookDelivery.webhook_id == hook_id, WebhookDelivery.status == "ok")).scalar()
    stmt = sa.select(sa.func.count()).select_from(WebhookDelivery).where(
        WebhookDelivery.webhook_id == hook_id, WebhookDelivery.status == "failed")
    if last_ok is not None:
        stmt = stmt.where(WebhookDelivery.at > last_ok)
    return db.session.execute(stmt).scalar() or 0


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
           message(N_('Webhook "%(name)s" was switched off'),
                   N_("%(count)s deliveries to %(url)s failed in a row. Fix the receiver, then switch the webhook "
                      "on again."), name=hook.name, count=MAX_FAILURES, url=hook.url),
           app_id=hook.app_id, dedupe_key=f"webhook-disabled:{hook_id}:{now.isoformat()}")


def init() -> None:
    """Subscribe the delivery fan-out to the outbox (platform init_app)."""
    outbox.subscribe_batch("webhook.deliver", delivery_rows)
