"""Managing an app's webhooks: for the app's administrators only.

Webhook subscriptions belong to an app, so this service sits in the builder beside the app
service; sending them (the outbox fan-out, the delivery job, URL safety) is the platform's
`platform/webhooks/`, which knows no app definitions.

The URL is checked (see `safety`) when it is saved, and again at every send. The secret is
made here and shown once, in the answer to the create (or to a PATCH asking for a new one).
Raises NotFound (no such app or webhook), PermissionDenied (not an app admin, read-only
token) and ValidationFailed (with the field at fault).
"""
from __future__ import annotations

import secrets

import sqlalchemy as sa
from flask_babel import gettext as _

from formloom.builder.apps import get_app
from formloom.platform import audit
from formloom.platform.actor import Actor
from formloom.platform.exceptions import NotFound, PermissionDenied, ValidationFailed
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import App, Webhook, WebhookDelivery
from formloom.platform.webhooks.delivery import held_count, release_held
from formloom.platform.webhooks.safety import allowed_hosts, check_url, refusal
from formloom.runtime.apps import get_runtime

EVENTS = ("record.created", "record.updated", "record.deleted", "record.restored")
DELIVERIES_SHOWN = 100


def webhook_json(hook: Webhook, secret: bool = False, held: bool = False) -> dict:
    """A webhook as the API shows it; `held`: with how many deliveries wait while it is off."""
    body = {"id": hook.id, "name": hook.name, "url": hook.url, "events": list(hook.events or []),
            "form": hook.form_key, "active": hook.active, "consecutive_failures": hook.consecutive_failures,
            "disabled_at": _iso(hook.disabled_at), "disabled_reason": hook.disabled_reason,
            "created_at": _iso(hook.created_at)}
    if secret:
        body["secret"] = hook.secret
    if held:
        body["held"] = held_count(hook.id)
    return body


def delivery_json(row: WebhookDelivery) -> dict:
    return {"id": row.id, "event_id": row.event_id, "event": row.event_type, "attempt": row.attempt,
            "status": row.status, "http_status": row.http_status, "error": row.error,
            "duration_ms": row.duration_ms, "at": _iso(row.at), "next_attempt_at": _iso(row.next_attempt_at)}


def _iso(value) -> str | None:
    return value.isoformat() + "Z" if value is not None else None


def _admin_app(actor: Actor, app_key: str, write: bool = False) -> App:
    app = get_app(actor, app_key, admin=True)
    if write and actor.read_only:
        raise PermissionDenied(_("This API token is read-only"))
    return app


def _hook(app: App, webhook_id: int) -> Webhook:
    hook = db.session.get(Webhook, webhook_id)
    if hook is None or hook.app_id != app.id:
        raise NotFound(_('App "%(app)s" has no webhook %(id)s', app=app.key, id=webhook_id))
    return hook


def list_webhooks(actor: Actor, app_key: str) -> list[dict]:
    app = _admin_app(actor, app_key)
    hooks = db.session.execute(sa.select(Webhook).where(Webhook.app_id == app.id).order_by(Webhook.id)).scalars()
    return [webhook_json(h, held=True) for h in hooks]


def create_webhook(actor: Actor, app_key: str, data: dict) -> dict:
    """Add a webhook; the answer holds the secret, shown this once."""
    app = _admin_app(actor, app_key, write=True)
    values = _checked(app, data, creating=True)
    with write_transaction():
        hook = Webhook(app_id=app.id, secret=secrets.token_urlsafe(32), consecutive_failures=0,
                       created_by_id=actor.user_id, **{"active": True, **values})
        db.session.add(hook)
        db.session.flush()
        body = webhook_json(hook, secret=True)
        _audit(actor, hook, None, webhook_json(hook))
    return body


def _audit(actor: Actor, hook: Webhook, before: dict | None, after: dict | None, detail: str | None = None) -> None:
    """An audit line for a webhook change (never its secret: webhook_json leaves it out)."""
    audit.record("webhook", actor, app_id=hook.app_id, object_type="webhook", object_id=hook.id, label=hook.name,
                 before=before, after=after, detail=detail)


def update_webhook(actor: Actor, app_key: str, webhook_id: int, data: dict) -> dict:
    """Change a webhook. `active: true` re-enables it with a fresh count of failures;
    `new_secret: true` makes a new secret, returned this once."""
    app = _admin_app(actor, app_key, write=True)
    values = _checked(app, data, creating=False)
    with write_transaction():
        hook = _hook(app, webhook_id)
        before = webhook_json(hook)
        for key, value in values.items():
            setattr(hook, key, value)
        if data.get("active") is True:
            hook.consecutive_failures, hook.disabled_at, hook.disabled_reason = 0, None, None
            release_held(hook.id)  # sent in the order of their events
        renewed = data.get("new_secret") is True
        if renewed:
            hook.secret = secrets.token_urlsafe(32)
        db.session.flush()
        body = webhook_json(hook, secret=renewed, held=True)
        _audit(actor, hook, before, webhook_json(hook), "new secret" if renewed else None)
    return body


def delete_webhook(actor: Actor, app_key: str, webhook_id: int) -> None:
    app = _admin_app(actor, app_key, write=True)
    with write_transaction():
        hook = _hook(app, webhook_id)
        _audit(actor, hook, webhook_json(hook), None)
        db.session.execute(sa.delete(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id))
        db.session.delete(hook)


def list_deliveries(actor: Actor, app_key: str, webhook_id: int, limit: int = DELIVERIES_SHOWN) -> list[dict]:
    """The webhook's latest delivery attempts, newest first (status only: bodies are never kept)."""
    app = _admin_app(actor, app_key)
    hook = _hook(app, webhook_id)
    rows = db.session.execute(sa.select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)
                              .order_by(WebhookDelivery.id.desc()).limit(limit)).scalars()
    return [delivery_json(r) for r in rows]


# --- checking what was sent ------------------------------------------------------------------

def _checked(app: App, data: dict, creating: bool) -> dict:
    """The model values `data` sets, each checked. Raises ValidationFailed listing every problem."""
    values, errors = {}, []
    for key, check in (("url", _url), ("name", _name), ("events", _events), ("form", _form), ("active", _active)):
        if key in data or (creating and key in ("url", "events")):
            try:
                values.update(check(app, data.get(key)))
            except _Bad as bad:
                errors.append({"field": key, "message": str(bad)})
    if errors:
        raise ValidationFailed(_("The webhook was not saved: %(problems)s",
                                 problems="; ".join(f'{e["field"]}: {e["message"]}' for e in errors)), errors)
    if creating and "name" not in values:
        values["name"] = check_url(values["url"], allowed_hosts()).host
    return values


class _Bad(Exception):
    pass


def _url(_app, value) -> dict:
    if not isinstance(value, str) or not value.strip():
        raise _Bad(_("is required: the http:// or https:// address to send events to"))
    reason = refusal(value)
    if reason:
        raise _Bad(_("is not allowed: %(reason)s", reason=reason))
    return {"url": value.strip()}


def _name(_app, value) -> dict:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 200:
        raise _Bad(_("must be text of 1 to 200 characters"))
    return {"name": value.strip()}


def _events(_app, value) -> dict:
    if value is None:
        return {"events": list(EVENTS)}
    if not isinstance(value, list) or not value or any(v not in EVENTS for v in value):
        raise _Bad(_("must be a non-empty list of: %(events)s", events=", ".join(EVENTS)))
    return {"events": [e for e in EVENTS if e in value]}


def _form(app, value) -> dict:
    if value is None:
        return {"form_key": None}
    if not isinstance(value, str):
        raise _Bad(_("must be a form key, or null for every form"))
    try:
        get_runtime(app.key).form(value)
    except NotFound:
        raise _Bad(_('the published app has no form "%(form)s"', form=value)) from None
    return {"form_key": value}


def _active(_app, value) -> dict:
    if not isinstance(value, bool):
        raise _Bad(_("must be true or false"))
    return {"active": value}
