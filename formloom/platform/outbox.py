"""Handing outbox events to jobs: the bridge between "it happened" and "react to it".

Every record change writes an `outbox_events` row in its own transaction. `dispatch()`
takes undelivered events (locked, so several dispatchers never take the same one), makes one
job per subscriber and event (`<job kind>:<event id>` as the job's dedupe key) and marks the
events dispatched, all in one transaction. Jobs are rows too, so a crash anywhere between
loses nothing; handlers get the event id and must be idempotent by it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from formloom.platform import jobs
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import Job, OutboxEvent, utcnow

BATCH = 1000


@dataclass(frozen=True)
class Subscriber:
    kind: str  # the job kind that handles the event
    matches: Callable[[OutboxEvent], bool]
    queue: str = "events"


SUBSCRIBERS: list[Subscriber] = []


def subscribe(kind: str, matches: Callable[[OutboxEvent], bool] = lambda _event: True, queue: str = "events") -> None:
    """Make a job of `kind` (payload {"event_id": id}) for every event `matches` accepts."""
    if not any(s.kind == kind for s in SUBSCRIBERS):
        SUBSCRIBERS.append(Subscriber(kind, matches, queue))


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


def tick() -> dict:
    """One round of background housekeeping: dispatch events, revive and resubmit due jobs."""
    taken = 0
    while True:
        n = dispatch()
        taken += n
        if n < BATCH:
            break
    return {"dispatched": taken, **jobs.reconcile()}
