"""What app administrators see of their automations: each one in words, its runs, and the
two things they may do about them (run a schedule now, retry a failed run).

Everything here needs the app's administrator; raises NotFound and PermissionDenied.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from formloom.platform import jobs
from formloom.platform.actor import Actor
from formloom.platform.exceptions import NotFound, PermissionDenied, ValidationFailed
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import AutomationRun, Job, utcnow
from formloom.runtime import access
from formloom.runtime.apps import get_runtime
from formloom.runtime.automations import messages as msg
from formloom.runtime.automations.actions import webhook_secret
from formloom.runtime.automations.engine import run_job_row
from formloom.runtime.automations.model import Automation, action_types, trigger_types
from formloom.runtime.automations.secrets import mask_url

STATUSES = ("done", "failed", "stopped")
PAGE = 50


@dataclass(frozen=True)
class Summary:
    """One automation as its list shows it."""

    automation: Automation
    trigger: str  # in words
    actions: list[str]  # in words, in order
    last: AutomationRun | None
    runs_24h: int
    failed_24h: int
    webhook_secret: str | None = None  # what its webhook calls are signed with, if it makes any

    @property
    def key(self) -> str:
        return self.automation.key


def _admin_runtime(actor: Actor, app_key: str, write: bool = False):
    runtime = get_runtime(app_key)
    access.require_app(actor, runtime, write=write, admin=True)
    return runtime


def automation_of(runtime, key: str) -> Automation:
    auto = runtime.definition.automations.get(key)
    if auto is None:
        raise NotFound.of(msg.NO_AUTOMATION, key=key)
    return auto


def describe(runtime, auto: Automation, locale: str) -> tuple[str, list[str]]:
    app = runtime.definition
    trigger = trigger_types.get(auto.on).describe(auto.trigger, app, locale)
    return trigger, [action_types.get(a["type"]).describe(a, app, locale) for a in auto.actions]


def summaries(actor: Actor, app_key: str, locale: str) -> tuple[object, list[Summary]]:
    """The app's runtime and each of its automations, in definition order."""
    runtime = _admin_runtime(actor, app_key)
    autos = sorted(runtime.definition.automations.values(), key=lambda a: a.index)
    since = utcnow() - timedelta(hours=24)
    base = sa.select(AutomationRun.automation_key, sa.func.count()).where(
        AutomationRun.app_id == runtime.app_id, AutomationRun.started_at >= since).group_by(AutomationRun.automation_key)
    counts = dict(db.session.execute(base).all())
    failed = dict(db.session.execute(base.where(AutomationRun.status.in_(("failed", "stopped")))).all())
    latest = sa.select(sa.func.max(AutomationRun.id)).where(AutomationRun.app_id == runtime.app_id).group_by(
        AutomationRun.automation_key)
    last = {r.automation_key: r for r in db.session.execute(
        sa.select(AutomationRun).where(AutomationRun.id.in_(latest))).scalars()}
    out = []
    for auto in autos:
        trigger, steps = describe(runtime, auto, locale)
        secret = (webhook_secret(runtime.app_id, auto.key)
                  if any(action_types.get(a["type"]).calls_out for a in auto.actions) else None)
        out.append(Summary(auto, trigger, steps, last.get(auto.key), counts.get(auto.key, 0),
                           failed.get(auto.key, 0), secret))
    return runtime, out


def runs(actor: Actor, app_key: str, key: str, status: str | None = None, before: int | None = None,
         limit: int = PAGE) -> tuple[object, Automation, list[AutomationRun], int | None]:
    """A page of the automation's runs, newest first: (runtime, automation, runs, next cursor)."""
    runtime = _admin_runtime(actor, app_key)
    auto = automation_of(runtime, key)
    if status and status not in (*STATUSES, "running"):
        raise ValidationFailed.of(msg.UNKNOWN_STATUS, [{"field": "status", "message": _(
            "must be one of: %(values)s", values=", ".join(STATUSES))}])
    stmt = sa.select(AutomationRun).where(AutomationRun.app_id == runtime.app_id,
                                          AutomationRun.automation_key == key)
    if status:
        stmt = stmt.where(AutomationRun.status == status)
    if before:
        stmt = stmt.where(AutomationRun.id < before)
    rows = list(db.session.execute(stmt.order_by(AutomationRun.id.desc()).limit(limit + 1)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return runtime, auto, rows, rows[-1].id if more else None


def run_json(row: AutomationRun) -> dict:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() + "Z" if value else None

    return {"id": row.id, "slot": row.slot, "trigger": row.trigger, "status": row.status, "attempts": row.attempts,
            "depth": row.depth, "event_id": row.event_id, "record_ids": row.record_ids or [],
            "results": [_masked(r) for r in row.results or []], "error": row.error, "started_at": iso(row.started_at),
            "finished_at": iso(row.finished_at)}


def _masked(result):
    """A step's result with its webhook URL masked (runs recorded before URLs were masked hold it whole)."""
    if isinstance(result, dict) and isinstance(result.get("url"), str):
        return {**result, "url": mask_url(result["url"])}
    return result


def run_now(actor: Actor, app_key: str, key: str) -> str:
    """Run a schedule automation (one without records to go through) now; the run's slot."""
    runtime = _admin_runtime(actor, app_key, write=True)
    auto = automation_of(runtime, key)
    if not trigger_types.get(auto.on).runs_by_hand(auto.trigger):
        raise ValidationFailed.of(msg.NOT_BY_HAND,
                               [{"field": "automation", "message": _("is started by its trigger")}])
    if not auto.enabled:
        raise ValidationFailed.of(msg.SWITCHED_OFF,
                               [{"field": "automation", "message": _("is switched off in the definition")}])
    now = utcnow()
    slot = f"manual:{now:%Y-%m-%dT%H:%M:%S.%f}"
    with write_transaction():
        row = run_job_row(runtime.app_id, key, slot, {"at": now.isoformat(), "by": actor.user_id})
        db.session.execute(sa.insert(Job), [row])
        jobs.submit_after_commit([row])
    return slot


def retry(actor: Actor, app_key: str, key: str, run_id: int) -> bool:
    """Run a failed run's job again now: one that used up its attempts with fresh ones, one
    waiting for its next automatic attempt at once. False if it is not failed."""
    runtime = _admin_runtime(actor, app_key, write=True)
    automation_of(runtime, key)
    row = db.session.execute(sa.select(AutomationRun).where(
        AutomationRun.id == run_id, AutomationRun.app_id == runtime.app_id,
        AutomationRun.automation_key == key)).scalar()
    if row is None:
        raise NotFound.of(msg.NO_RUN)
    if row.status != "failed":
        return False
    job_id = db.session.execute(sa.select(Job.id).where(
        Job.dedupe_key == f"automation:{runtime.app_id}:{key}:{row.slot}")).scalar()
    if job_id is None:
        raise PermissionDenied.of(msg.JOB_GONE)
    return jobs.retry(job_id) or jobs.run_now(job_id)
