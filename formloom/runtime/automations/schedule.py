"""Time-driven automations: cron schedules and dates reached, in each app's time zone.

`scan(now)` looks at every published app's schedule and date triggers, works out which
slots are due (a cron minute, a record's day), claims each slot once with an
`AutomationMark` row and makes its run job in the same transaction, so however many
tickers and workers scan, a slot runs once. `now` is a parameter so tests move the clock.

A slot is due from its time until `CATCH_UP` later, and never before the app's current
version was published: a worker that was down for an hour still runs the 09:00 schedule
when it comes back, and publishing a new schedule does not run yesterday's slots.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from formloom.platform import jobs, outbox
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import App, AppVersion, AutomationMark, Job, utcnow
from formloom.runtime import conditions
from formloom.runtime.apps import runtime_for
from formloom.runtime.automations.engine import automations_of, run_job_row
from formloom.runtime.automations.model import Automation, trigger_types
from formloom.runtime.records import query
from formloom.runtime.records.context import app_timezone

CATCH_UP = timedelta(hours=24)
MAX_RECORDS = 10_000  # records one slot of one automation may start runs for
SCAN_EVERY = 30.0  # seconds between scans from the background tick
_last_scan = [0.0]


def scan(now: datetime | None = None) -> dict:
    """Claim every due slot and make its run job; how many runs were asked for."""
    now = now or utcnow()
    apps = db.session.execute(
        sa.select(App.id, App.published_version, AppVersion.published_at)
        .join(AppVersion, sa.and_(AppVersion.app_id == App.id, AppVersion.number == App.published_version))
        .where(App.deleted_at.is_(None))
    ).all()
    wanted: list[tuple[str, dict]] = []  # (mark slot, job row)
    for app_id, version, published_at in apps:
        runtime = runtime_for(app_id, version)
        floor = max(now - CATCH_UP, published_at)
        for auto in automations_of(runtime).values():
            if auto.enabled and trigger_types.get(auto.on).timed:
                wanted.extend(due_slots(runtime, auto, now, floor))
    db.session.rollback()
    return {"scheduled": claim(wanted)}


def due_slots(runtime, auto: Automation, now: datetime, floor: datetime) -> list[tuple[int, str, str, dict]]:
    """(app id, automation key, slot, extra payload) of the automation's slots due in [floor, now]."""
    return trigger_types.get(auto.on).slots(runtime, auto, now, floor, ZoneInfo(app_timezone(runtime)))


def records_due(runtime, auto: Automation, now: datetime, tz: ZoneInfo, extra=None, *columns):
    """Ids (or rows of id and `columns`) of the live records the trigger's condition takes."""
    ft = runtime.form_tables(auto.form)
    t = ft.table
    env = conditions.Env(now=now, tz=tz.key)
    clause = conditions.to_sql(auto.trigger.get("when"), query.sql_resolver(runtime, auto.form), env)
    stmt = sa.select(t.c.id, *columns).where(t.c.deleted_at.is_(None), clause).order_by(t.c.id).limit(MAX_RECORDS)
    if extra is not None:
        stmt = stmt.where(extra)
    result = db.session.execute(stmt)
    return list(result.scalars()) if not columns else [tuple(r) for r in result]


def claim(wanted: list[tuple[int, str, str, dict]]) -> int:
    """Mark the slots not marked yet and make their jobs, in one transaction; how many."""
    if not wanted:
        return 0
    made = 0
    for start in range(0, len(wanted), 500):
        batch = wanted[start:start + 500]
        try:
            with write_transaction():
                taken = set(db.session.execute(sa.select(AutomationMark.app_id, AutomationMark.automation_key,
                                                         AutomationMark.slot).where(sa.or_(*(
                    sa.and_(AutomationMark.app_id == a, AutomationMark.automation_key == k, AutomationMark.slot == s)
                    for a, k, s, _ in batch)))).all())
                fresh = [w for w in batch if tuple(w[:3]) not in taken]
                if not fresh:
                    continue
                now = utcnow()
                db.session.execute(sa.insert(AutomationMark), [
                    {"app_id": a, "automation_key": k, "slot": s, "at": now} for a, k, s, _ in fresh])
                rows = [run_job_row(a, k, s, extra) for a, k, s, extra in fresh]
                db.session.execute(sa.insert(Job), rows)
                jobs.submit_after_commit(rows)
                made += len(fresh)
        except IntegrityError:
            continue  # another scanner claimed some of these a moment ago; the next scan sees the rest
    return made


def tick() -> dict | None:
    """The background tick's hook: a scan at most every SCAN_EVERY seconds per process."""
    if time.monotonic() - _last_scan[0] < SCAN_EVERY:
        return None
    _last_scan[0] = time.monotonic()
    return scan()


def init() -> None:
    """Register the scan with the background tick (automations.init)."""
    outbox.on_tick(tick)
