"""Handing outbox events to jobs: the bridge between "it happened" and "react to it".

Every record change writes an `outbox_events` row in its own transaction. `dispatch()`
takes undelivered events (locked, so several dispatchers never take the same one), makes one
job per subscriber and event (`<job kind>:<event id>` as the job's dedupe key) and marks the
events dispatched, all in one transaction. Jobs are rows too, so a crash anywhere between
loses nothing; handlers get the event id and must be idempotent by it.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from formloom.platform import jobs
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import Job, OutboxEvent, utcnow

log = logging.getLogger(__name__)
BATCH = 1000


@dataclass(frozen=True)
class Subscriber:
    kind: str  # the job kind that handles the event (or the name of a batch subscriber)
    matches: Callable[[OutboxEvent], bool]
    queue: str = "events"
    # A batch subscriber looks at a whole batch at once and says which jobs it wants, as
    # `jobs.job_row` dicts with a dedupe key each (several per event, or none).
    rows: Callable[[list[OutboxEvent]], list[dict]] | None = None


SUBSCRIBERS: list[Subscriber] = []
TICK_HOOKS: list[Callable[[], dict | None]] = []


def subscribe(kind: str, matches: Callable[[OutboxEvent], bool] = lambda _event: True, queue: str = "events") -> None:
    """Make a job of `kind` (payload {"event_id": id}) for every event `matches` accepts."""
    if not any(s.kind == kind for s in SUBSCRIBERS):
        SUBSCRIBERS.append(Subscriber(kind, matches, queue))


def subscribe_batch(name: str, rows: Callable[[list[OutboxEvent]], list[dict]]) -> None:
    """Let `rows(events)` choose the jobs for each batch of events (see `Subscriber.rows`)."""
    if not any(s.kind == name for s in SUBSCRIBERS):
        SUBSCRIBERS.append(Subscriber(name, lambda _event: False, rows=rows))


def on_tick(hook: Callable[[], dict | None]) -> None:
    """Run `hook` at every background tick (after dispatching); what it returns is reported."""
    if hook not in TICK_HOOKS:
        TICK_HOOKS.append(hook)


def dispatch(limit: int = BATCH) -> int:
    """Turn up to `limit` undelivered events into jobs; how many events were taken."""
    with write_transaction():
        stmt = sa.select(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None)).order_by(OutboxEvent.id).limit(limit)
        if db.engine.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        events = list(db.session.execute(stmt).scalars())
        if not events:
            return 0
        rows = [jobs.job_row(s.kind, {"event_id": e.id}, queue=s.queue, dedupe_key=f"{s.kind}:{e.id}",
                             app_id=e.app_id) for e in events for s in SUBSCRIBERS if s.matches(e)]
        for s in SUBSCRIBERS:
            if s.rows is not None:
                rows.extend(s.rows(events))
        taken = _new_jobs(rows)
        db.session.execute(sa.update(OutboxEvent).where(OutboxEvent.id.in_([e.id for e in events]))
                           .values(dispatched_at=utcnow(), attempts=OutboxEvent.attempts + 1))
        jobs.submit_after_commit(taken)
    return len(events)


def _new_jobs(rows: list[dict]) -> list[dict]:
    """Insert the jobs whose dedupe key is new (an event handed over again makes none)."""
    if not rows:
        return []
    keys = [r["dedupe_key"] for r in rows]
    seen = set()
    for start in range(0, len(keys), 500):
        seen.update(db.session.execute(sa.select(Job.dedupe_key).where(Job.dedupe_key.in_(keys[start:start + 500])))
                    .scalars())
    fresh = [r for r in rows if r["dedupe_key"] not in seen]
    for start in range(0, len(fresh), 1000):
        db.session.execute(sa.insert(Job), fresh[start:start + 1000])
    return fresh


_last_reconcile: dict[int, float] = {}


def tick(reconcile: bool | None = None) -> dict:
    """One round of background housekeeping: dispatch events, run the tick hooks (scheduled
    automations), hand due jobs to the runner, and every FORMLOOM_RECONCILE_SECONDS look for
    lost jobs (`reconcile` True or False: now, or not)."""
    taken = 0
    while True:
        n = dispatch()
        taken += n
        if n < BATCH:
            break
    report = {"dispatched": taken}
    for hook in TICK_HOOKS:
        try:
            report.update(hook() or {})
        except Exception:  # noqa: BLE001 - one failing hook must not stop the others or reconcile
            db.session.rollback()
            log.exception("tick hook %s failed", getattr(hook, "__name__", hook))
    app = current_app._get_current_object()
    now = time.monotonic()
    if reconcile is None:
        every = float(jobs.setting("FORMLOOM_RECONCILE_SECONDS"))
        reconcile = now - _last_reconcile.get(id(app), float("-inf")) >= every
    if reconcile:
        _last_reconcile[id(app)] = now
        return {**report, **jobs.reconcile()}
    return {**report, "revived": 0, "resubmitted": jobs.hand_over()}
