"""One job API, two runners.

`enqueue(kind, payload)` writes a `jobs` row in the caller's transaction: the row is the
truth, so work asked for in a transaction that rolls back never runs, and work asked for in
one that commits is never lost. A runner only carries job ids:

- RQ on Redis when `REDIS_URL` is set (`formloom worker` runs the workers with RQ's
  scheduler); a worker killed mid-job or a Redis that restarts empty loses nothing, because
  `reconcile()` hands every job still due back to the runner.
- In-process otherwise (the embedded default): jobs run after the commit that made them,
  on a background thread, and a ticker thread runs what is due later (retries, schedules).
  With `FORMLOOM_JOBS_EAGER` (tests) they run at once, in the committing thread.

Whatever runs a job first claims it with a conditional UPDATE (queued -> running), so a job
handed over twice runs once. A handler that raises is retried with exponential backoff up to
`max_attempts`, then the job is `failed` with the error kept. Handlers take the payload (a
plain dict of ids and values) and run inside an app context.
"""
from __future__ import annotations

import logging
import os
import secrets
import threading
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import Job, utcnow

log = logging.getLogger(__name__)

QUEUES = ("default", "events", "webhooks", "email")  # every queue a worker listens to, in order
HANDLERS: dict[str, Callable[[dict], Any]] = {}
BACKOFF_SECONDS = 10  # first retry after 10 s, then 20, 40, ... (capped at an hour)
STALE_AFTER = timedelta(minutes=10)  # a running job this old lost its worker
_PENDING = "formloom_jobs_pending"


def handler(kind: str):
    """Register the function that runs jobs of `kind` (`@jobs.handler("webhook.deliver")`)."""
    def register(fn):
        HANDLERS[kind] = fn
        return fn
    return register


class Fail(Exception):
    """Raised by a handler when trying again cannot help: the job fails now, with this error."""


class Retry(Exception):
    """Raised by a handler to be run again later, at `after` if given."""

    def __init__(self, message: str, after: timedelta | None = None):
        super().__init__(message)
        self.after = after


def enqueue(kind: str, payload: dict, *, run_at: datetime | None = None, dedupe_key: str | None = None,
            queue: str = "default", max_attempts: int = 5, app_id: int | None = None) -> str | None:
    """Ask for a job in the current transaction; it reaches a runner after the commit.

    With a `dedupe_key` already used, nothing new is made and the existing job's id is returned.
    """
    if kind not in HANDLERS:
        raise ValueError(f"no handler for job kind {kind!r}")
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}; queues: {', '.join(QUEUES)}")
    if dedupe_key is not None:
        existing = db.session.execute(sa.select(Job.id).where(Job.dedupe_key == dedupe_key)).scalar()
        if existing:
            return existing
    row = job_row(kind, payload, run_at=run_at, dedupe_key=dedupe_key, queue=queue, max_attempts=max_attempts,
                  app_id=app_id)
    db.session.add(Job(**row))
    submit_after_commit([row])
    return row["id"]


def job_row(kind: str, payload: dict, *, run_at: datetime | None = None, dedupe_key: str | None = None,
            queue: str = "default", max_attempts: int = 5, app_id: int | None = None) -> dict:
    """The column values of a new queued job (for `enqueue`, and for bulk inserts of many)."""
    now = utcnow()
    return {"id": secrets.token_hex(16), "kind": kind, "payload": payload, "queue": queue, "status": "queued",
            "attempts": 0, "max_attempts": max_attempts, "run_at": run_at or now, "dedupe_key": dedupe_key,
            "app_id": app_id, "created_at": now}


def submit_after_commit(rows: list[dict]) -> None:
    """Hand these new jobs to the runner once the current transaction commits."""
    db.session.info.setdefault(_PENDING, []).extend((r["id"], r["queue"], r["run_at"]) for r in rows)


def _after_commit(session: Session) -> None:
    # No SQL here (the session is between transactions): the pending list carries what
    # the runner needs.
    # A runner that cannot take them now (Redis down) must not turn a committed change into an
    # error: the job rows exist, and the reconciler hands them over once Redis is back.
    pending = session.info.pop(_PENDING, None)
    if pending and has_app_context():
        try:
            runner().submit(pending)
        except Exception as exc:  # noqa: BLE001 - logged (once per outage) and left to the reconciler
            handover_failed(exc, len(pending))
        else:
            handover_ok()


_outage = {"since": None}


def handover_failed(exc: Exception, count: int) -> None:
    """Say once per outage that jobs could not be handed to the runner."""
    if _outage["since"] is None:
        _outage["since"] = utcnow()
        log.warning("could not hand %s job(s) to the runner (%s: %s); they stay queued in the database and "
                    "the reconciler hands them over when it can", count, type(exc).__name__, exc)


def handover_ok() -> None:
    if _outage["since"] is not None:
        log.warning("the runner takes jobs again (unreachable since %s)", _outage["since"].isoformat())
        _outage["since"] = None


def _after_rollback(session: Session, _previous) -> None:
    session.info.pop(_PENDING, None)


# -- running one job ---------------------------------------------------------------------
def run_job(job_id: str) -> str:
    """Claim and run one job if it is due and nobody else has; the status it ends in."""
    now = utcnow()
    with write_transaction():
        claimed = db.session.execute(
            sa.update(Job).where(Job.id == job_id, Job.status == "queued", Job.run_at <= now)
            .values(status="running", attempts=Job.attempts + 1, started_at=now, heartbeat_at=now)
        ).rowcount
    if not claimed:
        return "skipped"
    job = db.session.get(Job, job_id)
    kind, payload, attempts, max_attempts = job.kind, dict(job.payload), job.attempts, job.max_attempts
    db.session.rollback()
    fn = HANDLERS.get(kind)
    try:
        if fn is None:
            raise LookupError(f"no handler for job kind {kind!r}")
        result = fn(payload)
    except Exception as exc:  # noqa: BLE001 - a job's failure is recorded, never lost
        db.session.rollback()
        return _failed(job_id, exc, attempts, max_attempts)
    with write_transaction():
        db.session.execute(sa.update(Job).where(Job.id == job_id, Job.status == "running").values(
            status="done", finished_at=utcnow(), result=result if isinstance(result, (dict, list)) else None,
            error=None))
    return "done"


def _failed(job_id: str, exc: Exception, attempts: int, max_attempts: int) -> str:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:4000]
    later = attempts < max_attempts and not isinstance(exc, (Fail, LookupError))
    delay = exc.after if isinstance(exc, Retry) and exc.after else backoff(attempts)
    with write_transaction():
        values = {"error": text, "finished_at": None if later else utcnow()}
        if later:
            values.update(status="queued", run_at=utcnow() + delay)
        else:
            values.update(status="failed")
        db.session.execute(sa.update(Job).where(Job.id == job_id).values(**values))
    if not later:
        log.warning("job %s failed for good after %s attempts: %s", job_id, attempts, text)
    return "retry" if later else "failed"


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_SECONDS * 2 ** max(0, attempts - 1), 3600))


# -- admin actions -------------------------------------------------------------------------
def retry(job_id: str) -> bool:
    """Queue a failed or cancelled job again, now, with a fresh count of attempts."""
    with write_transaction():
        now = utcnow()
        changed = db.session.execute(sa.update(Job).where(Job.id == job_id, Job.status.in_(("failed", "cancelled")))
                                     .values(status="queued", attempts=0, run_at=now, finished_at=None)).rowcount
        if changed:
            queue = db.session.execute(sa.select(Job.queue).where(Job.id == job_id)).scalar()
            db.session.info.setdefault(_PENDING, []).append((job_id, queue, now))
    return bool(changed)


def run_now(job_id: str) -> bool:
    """Bring a queued job's next attempt forward to now (a retry waiting out its backoff)."""
    with write_transaction():
        now = utcnow()
        changed = db.session.execute(sa.update(Job).where(Job.id == job_id, Job.status == "queued")
                                     .values(run_at=now)).rowcount
        if changed:
            queue = db.session.execute(sa.select(Job.queue).where(Job.id == job_id)).scalar()
            db.session.info.setdefault(_PENDING, []).append((job_id, queue, now))
    return bool(changed)


def cancel(job_id: str) -> bool:
    """Cancel a job that has not started (a running one finishes)."""
    with write_transaction():
        changed = db.session.execute(sa.update(Job).where(Job.id == job_id, Job.status == "queued")
                                     .values(status="cancelled", finished_at=utcnow())).rowcount
    return bool(changed)


# -- what is due, and what was lost ------------------------------------------------------------
def due(limit: int = 500) -> list[tuple[str, str, datetime]]:
    """(id, queue, run_at) of queued jobs that are due, oldest first."""
    return [tuple(r) for r in db.session.execute(
        sa.select(Job.id, Job.queue, Job.run_at).where(Job.status == "queued", Job.run_at <= utcnow())
        .order_by(Job.run_at).limit(limit))]


def reconcile(stale_after: timedelta = STALE_AFTER) -> dict:
    """Put jobs whose worker died back in the queue, and hand every due job to the runner
    again (a Redis that restarted empty forgot them). Running twice is harmless: claims are
    conditional."""
    cutoff = utcnow() - stale_after
    with write_transaction():
        revived = db.session.execute(
            sa.update(Job).where(Job.status == "running", sa.func.coalesce(Job.heartbeat_at, Job.started_at) < cutoff)
            .values(status="queued", run_at=utcnow(), error="the worker running it stopped; run again")).rowcount
    pending = due()
    db.session.rollback()
    if pending:
        runner().submit(pending)
    return {"revived": revived, "resubmitted": len(pending)}


# -- runners ------------------------------------------------------------------------------------
class EmbeddedRunner:
    """Runs jobs in this process: after commit on a worker thread (or at once when eager)."""

    def __init__(self, app: Flask):
        self.app = app
        self.lock = threading.Lock()
        self.local = threading.local()  # jobs a running job asked for, run after it

    def submit(self, pending: list[tuple]) -> None:
        ids = [p[0] for p in pending if p[2] <= utcnow()]  # later ones: the ticker runs them when due
        if not ids:
            return
        if getattr(self.local, "later", None) is not None:  # asked for by the job this thread runs
            self.local.later.extend(ids)
            return
        if self.app.config.get("FORMLOOM_JOBS_EAGER"):
            self._run_all(ids)
            return
        threading.Thread(target=self._run_all, args=(ids,), name="formloom-job", daemon=True).start()

    def _run_all(self, ids: list[str]) -> None:
        queue = list(ids)
        while queue:
            queue.extend(self._run(queue.pop(0)))

    def _run(self, job_id: str) -> list[str]:
        """Run one job; the ids of the jobs it asked for (run next, not inside it)."""
        # One job at a time per process: SQLite has one writer anyway.
        with self.lock, self.app.app_context():
            self.local.later = []
            try:
                run_job(job_id)
                return self.local.later
            finally:
                self.local.later = None
                db.session.remove()


class RQRunner:
    """Hands job ids to RQ queues on Redis; `formloom worker` runs them."""

    def __init__(self, app: Flask):
        from redis import Redis

        self.app = app
        # Short timeouts: a request waits at most this long for a Redis that is gone.
        self.redis = Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5)

    def queue(self, name: str):
        from rq import Queue

        return Queue(name, connection=self.redis)

    def submit(self, pending: list[tuple]) -> None:
        now = utcnow()
        for job_id, queue, run_at in pending:
            q = self.queue(queue)
            if run_at > now:
                q.enqueue_in(run_at - now, "formloom.platform.jobs.rq_entry", job_id, job_timeout=600)
            else:
                q.enqueue("formloom.platform.jobs.rq_entry", job_id, job_timeout=600)


_runners: dict[int, Any] = {}
_worker_app: Flask | None = None
_parent_pid = os.getpid()


def runner():
    app = current_app._get_current_object()
    if id(app) not in _runners:
        _runners[id(app)] = RQRunner(app) if app.config.get("REDIS_URL") else EmbeddedRunner(app)
    return _runners[id(app)]


def rq_entry(job_id: str) -> str:
    """What an RQ worker runs: the job, inside the worker's app.

    RQ forks a work horse per job; the pooled connections it inherits belong to the parent,
    so the horse drops them (without closing them) and opens its own.
    """
    app = _worker_app or current_app._get_current_object()
    with app.app_context():
        if os.getpid() != _parent_pid:
            db.engine.dispose(close=False)
        try:
            return run_job(job_id)
        finally:
            db.session.remove()


def init_app(app: Flask) -> None:
    import importlib

    for module in app.config.get("FORMLOOM_JOB_MODULES") or ():
        importlib.import_module(module)
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)
