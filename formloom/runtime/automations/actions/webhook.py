"""`webhook`: POST the run (and the triggering record) to a URL, signed, retried like webhooks."""
from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from formloom.platform import jobs
from formloom.platform.extensions import db
from formloom.platform.models import Job
from formloom.platform.webhooks import send
from formloom.platform.webhooks.safety import UnsafeURL, allowed_hosts, check_url
from formloom.runtime.automations.actions.common import schema, words
from formloom.runtime.automations.engine import update_result
from formloom.runtime.automations.model import ActionType
from formloom.runtime.automations.secrets import mask_url
from formloom.runtime.records.serialize import record_json

WEBHOOK_JOB = "automation.webhook"
WEBHOOK_ATTEMPTS = 6


class CallWebhook(ActionType):
    """POST the run (and the triggering record) to a URL, signed, retried like webhooks."""

    type = "webhook"
    calls_out = True
    schema = schema(("url",), url={"type": "string", "minLength": 1, "maxLength": 2000})

    def check(self, action, ptr, ctx):
        parts = urlsplit(action["url"])
        if parts.scheme not in ("http", "https") or not parts.hostname:
            ctx.err(ptr + "/url", "must be an http:// or https:// URL")

    def run(self, run, action, index):
        form = run.runtime.form(run.form_key) if run.record is not None else None
        body = {"automation": run.automation.key, "app": run.runtime.key, "run": run.slot,
                "trigger": run.automation.on, "event_id": run.event_id, "form": run.form_key,
                "record": record_json(form, run.record) if form else None,
                "at": run.now.isoformat() + "Z"}
        job = jobs.enqueue(WEBHOOK_JOB, {"app_id": run.runtime.app_id, "automation": run.automation.key,
                                         "slot": run.slot, "index": index, "url": action["url"],
                                         "body": json.loads(json.dumps(body, default=str))},
                           queue="webhooks", max_attempts=WEBHOOK_ATTEMPTS, app_id=run.runtime.app_id,
                           dedupe_key=f"automation-webhook:{run.runtime.app_id}:{run.automation.key}:{run.slot}:{index}")
        return {"status": "queued", "job": job, "url": mask_url(action["url"])}  # the run history is read

    def describe(self, action, app, locale):
        return words(locale, "Call the webhook %(url)s", url=mask_url(action["url"]))

    def done_words(self, result):
        return _("Webhook: HTTP %(status)s", status=result.get("http_status"))


def webhook_secret(app_id: int, key: str) -> str:
    """The signing secret of an automation's webhook calls (derived: nothing to store or leak)."""
    return hmac.new(current_app.config["SECRET_KEY"].encode(), f"automation-webhook:{app_id}:{key}".encode(),
                    hashlib.sha256).hexdigest()


@jobs.handler(WEBHOOK_JOB)
def deliver(payload: dict) -> dict:
    app_id, key, slot, index = payload["app_id"], payload["automation"], payload["slot"], payload["index"]
    body = json.dumps(payload["body"], ensure_ascii=False, separators=(",", ":")).encode()
    try:
        target = check_url(payload["url"], allowed_hosts())
    except UnsafeURL as exc:
        update_result(app_id, key, slot, index, {"status": "refused", "error": f"refused: {exc}"})
        return {"status": "refused"}
    event = payload["body"].get("event_id") or slot  # a scheduled run has no event: its slot names it
    outcome = send.post(target, body, send.headers(webhook_secret(app_id, key), "automation", event, body,
                                                   delivery_id=jobs.current_job_id()))
    attempt = db.session.execute(sa.select(Job.attempts).where(
        Job.dedupe_key == f"automation-webhook:{app_id}:{key}:{slot}:{index}")).scalar() or 1
    if outcome.ok:
        update_result(app_id, key, slot, index, {"status": "ok", "http_status": outcome.http_status,
                                                 "attempt": attempt, "error": None})
        return {"status": "ok", "http_status": outcome.http_status}
    last = attempt >= WEBHOOK_ATTEMPTS
    update_result(app_id, key, slot, index, {"status": "failed" if last else "retrying", "attempt": attempt,
                                             "http_status": outcome.http_status, "error": outcome.error})
    raise jobs.Retry(outcome.error or "failed")
