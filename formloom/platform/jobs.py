"""One job API, two runners.

`enqueue(kind, payload)` writes a `jobs` row in the caller's transaction: the row is the
truth, so work asked for in a transaction that rolls back never runs, and work asked for in
one that commits is never lost. A runner only carries job ids:

- RQ on Redis when `REDIS_URL` is set (`formloom worker` runs the workers). A job is in
  Redis at most once while it waits: handing it over stamps `handed_at` on its row (under a
  row lock), the tick hands over only due jobs not handed over yet, and the reconciler hands
  a job over again only when its lease (`FORMLOOM_JOB_LEASE_SECONDS`) expired and Redis no
  longer holds it (the RQ job id is ours). A running job renews its heartbeat; one whose
  heartbeat is older than the lease lost its worker and is queued again.
- In-process otherwise (the embedded default): one long-lived thread per process takes job
  ids from a bounded queue and runs them in batches; when the queue is empty it looks in
  the database for due jobs (retries, work other processes asked for). Never a thread per
  commit. With `FORMLOOM_JOBS_EAGER` (tests) jobs run at once, in the committing thread.

Whatever runs a job first claims it with a conditional UPDATE (queued -> running), so a job
handed over twice runs once. A handler that raises is retried with exponential backoff up to
`max_attempts`, then the job is `failed` with the error kept. Handlers take the payload (a
plain dict of ids and values) and run inside an app context.
"""
from __future__ import annotations

import importlib
import logging
import os
import queue as queue_mod
import secrets
import threading
import time
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
# Defaults of the settings (see config.py and docs/operations.md); the app's config wins.
DEFAULTS = {
    "FORMLOOM_TICK_SECONDS": 2.0,  # how often events become jobs and due jobs are handed over
    "FORMLOOM_JOB_LEASE_SECONDS": 30.0,  # heartbeat older than this: the job lost its worker
    "FORMLOOM_RECONCILE_SECONDS": 15.0,  # how often lost jobs are looked for
    "FORMLOOM_JOB_BACKOFF_SECONDS": 10.0,  # first retry after this, then twice as long each time
    "FORMLOOM_JOB_BACKOFF_MAX_SECONDS": 3600.0,  # ... up to this
    "FORMLOOM_JOB_TIMEOUT_SECONDS": 600,  # an RQ work horse running longer is stopped
    "FORMLOOM_EMBEDDED_QUEUE": 10000,  # job ids the in-process runner holds in memory at most
}
HANDOVER_BATCH = 1000
_PENDING = "formloom_jobs_pending"


def setting(name: str) -> float:
    """An interval or size of the job system: the app's config, else the default."""
    value = current_app.config.get(name) if has_app_context() else None
    return DEFAULTS[name] if value is None else value


def lease() -> timedelta:
    return timedelta(seconds=float(setting("FORMLOOM_JOB_LEASE_SECONDS")))


def handler(kind: str):
    """Register the function that runs jobs of `kind` (`@jobs.handler("webhook.deliver")`)."""
    def register(fn):
        HANDLERS[kind] = fn
        return fn
    return register


class Fail(Exception):
    """Raised by a handler when trying again cannot help: the job fails now, with this error."""


class Hold(Exception):
    """Raised by a handler whose work must wait for a person (a webhook switched off): the job
    is `held`, its attempt not counted, until `release()` queues it again."""


_current = threading.local()


def current_job_id() -> str | None:
    """The id of the job this thread runs (a unique delivery id for what the job sends)."""
    return getattr(_current, "job_id", None)


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
    run_at = run_at or now
    # A due job goes to Redis right after the commit: stamped as handed over, so no tick
    # hands it over a second time (the in-process runner does not use the stamp).
    handed = now if run_at <= now and has_app_context() and current_app.config.get("REDIS_URL") else None
    return {"id": secrets.token_hex(16), "kind": kind, "payload": payload, "queue": queue, "status": "queued",
            "attempts": 0, "max_attempts": max_attempts, "run_at": run_at, "dedupe_key": dedupe_key,
            "app_id": app_id, "created_at": now, "handed_at": handed}


def submit_after_commit(rows: list[dict]) -> None:
    """Hand these new jobs to the runner once the current transaction commits (due ones only:
    the tick hands over the others when they are due)."""
    db.session.info.setdefault(_PENDING, []).extend((r["id"], r["queue"], r["run_at"]) for r in rows
                                                    if r["status"] == "queued" and (r.get("handed_at") or not _rq()))


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
    return run_batch([job_id]).get(job_id, "skipped")


def run_batch(ids: list[str]) -> dict[str, str]:
    """Claim the due ones of these jobs in one statement and run them in turn; the status each
    claimed job ended in. Finished jobs are marked done together at the end (a process that dies
    meanwhile leaves them running: they run again after their lease, as any job may)."""
    now = utcnow()
    with write_transaction():
        claimed = {r.id: r for r in db.session.execute(
            sa.update(Job).where(Job.id.in_(ids), Job.status == "queued", Job.run_at <= now)
            .values(status="running", attempts=Job.attempts + 1, started_at=now, heartbeat_at=now)
            .returning(Job.id, Job.kind, Job.payload, Job.attempts, Job.max_attempts))}
    outcome: dict[str, str] = {}
    done: list[dict] = []
    try:
        for job_id in ids:  # in the order asked
            if job_id in claimed:
                outcome[job_id] = _run_claimed(claimed[job_id], done)
    finally:
        if done:
            with write_transaction():
                table = Job.__table__
                db.session.execute(sa.update(table).where(table.c.id == sa.bindparam("job_id"),
                                                          table.c.status == "running")
                                   .values(status="done", finished_at=sa.bindparam("at"),
                                           result=sa.bindparam("value"), error=None), done)
    return outcome


def _run_claimed(job, done: list[dict]) -> str:
    job_id, kind, payload = job.id, job.kind, dict(job.payload)
    fn = HANDLERS.get(kind)
    heartbeat.add(job_id)
    _current.job_id = job_id
    try:
        if fn is None:
            raise LookupError(f"no handler for job kind {kind!r}")
        result = fn(payload)
    except Hold as exc:
        db.session.rollback()
        return _hold(job_id, str(exc))
    except Exception as exc:  # noqa: BLE001 - a job's failure is recorded, never lost
        db.session.rollback()
        return _failed(job_id, exc, job.attempts, job.max_attempts)
    finally:
        heartbeat.discard(job_id)
        _current.job_id = None
    db.session.rollback()  # whatever the handler left open
    done.append({"job_id": job_id, "at": utcnow(), "value": result if isinstance(result, (dict, list)) else None})
    return "done"


def _failed(job_id: str, exc: Exception, attempts: int, max_attempts: int) -> str:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:4000]
    later = attempts < max_attempts and not isinstance(exc, (Fail, LookupError))
    delay = exc.after if isinstance(exc, Retry) and exc.after else backoff(attempts)
    with write_transaction():
        values = {"error": text, "finished_at": None if later else utcnow()}
        if later:
            values.update(status="queued", run_at=utcnow() + delay, handed_at=None)
        else:
            values.update(status="failed")
        db.session.execute(sa.update(Job).where(Job.id == job_id).values(**values))
    if not later:
        log.warning("job %s failed for good after %s attempts: %s", job_id, attempts, text)
    return "retry" if later else "failed"


def _hold(job_id: str, why: str) -> str:
    with write_transaction():
        db.session.execute(sa.update(Job).where(Job.id == job_id).values(
            status="held", attempts=sa.func.max(Job.attempts - 1, 0) if db.engine.dialect.name == "sqlite"
            else sa.func.greatest(Job.attempts - 1, 0), error=why[:4000], handed_at=None))
    return "held"


def release(where) -> int:
    """Queue held jobs again (in the caller's transaction), due now, in the order of their events
    (then of their making), and hand them over after the commit; how many. `where` selects
    among the held jobs."""
    rows = db.session.execute(sa.select(Job.id, Job.payload, Job.created_at).where(Job.status == "held", where)).all()
    rows.sort(key=lambda r: ((r.payload or {}).get("event_id") or 0, r.created_at, r.id))
    now = utcnow()
    table = Job.__table__
    if rows:
        # run_at keeps their order (hand-over goes by run_at), all of them due already
        db.session.execute(sa.update(table).where(table.c.id == sa.bindparam("job_id"), table.c.status == "held")
                           .values(status="queued", run_at=sa.bindparam("at"), handed_at=None, error=None),
                           [{"job_id": r.id, "at": now - timedelta(microseconds=len(rows) - n)}
                            for n, r in enumerate(rows)])
        _hand_over_ids([r.id for r in rows])
    return len(rows)


def backoff(attempts: int) -> timedelta:
    first = float(setting("FORMLOOM_JOB_BACKOFF_SECONDS"))
    return timedelta(seconds=min(first * 2 ** max(0, attempts - 1), float(setting("FORMLOOM_JOB_BACKOFF_MAX_SECONDS"))))


# -- admin actions -------------------------------------------------------------------------
def retry(job_id: str) -> bool:
    """Queue a failed or cancelled job again, now, with a fresh count of attempts."""
    with write_transaction():
        now = utcnow()
        changed = db.session.execute(sa.update(Job).where(Job.id == job_id, Job.status.in_(("failed", "cancelled")))
                                     .values(status="queued", attempts=0, run_at=now, finished_at=None,
                                             handed_at=None)).rowcount
        if changed:
            _hand_over_ids([job_id])
    return bool(changed)


def run_now(job_id: str) -> bool:
    """Bring a queued job's next attempt forward to now (a retry waiting out its backoff)."""
    with write_transaction():
        now = utcnow()
        changed = db.session.execute(sa.update(Job).where(Job.id == job_id, Job.status == "queued",
                                                          Job.handed_at.is_(None))
                                     .values(run_at=now)).rowcount
        if changed:
            _hand_over_ids([job_id])
    return bool(changed)


def cancel(job_id: str) -> bool:
    """Cancel a job that has not started (a running one finishes)."""
    with write_transaction():
        changed = db.session.execute(sa.update(Job).where(Job.id == job_id, Job.status.in_(("queued", "held")))
                                     .values(status="cancelled", finished_at=utcnow())).rowcount
    return bool(changed)


# -- what is due, and what was lost ------------------------------------------------------------
def due(limit: int = 500) -> list[tuple[str, str, datetime]]:
    """(id, queue, run_at) of queued jobs that are due, oldest first."""
    return [tuple(r) for r in db.session.execute(
        sa.select(Job.id, Job.queue, Job.run_at).where(Job.status == "queued", Job.run_at <= utcnow())
        .order_by(Job.run_at).limit(limit))]


def _rq() -> bool:
    return bool(has_app_context() and current_app.config.get("REDIS_URL"))


def _hand_over_ids(ids: list[str]) -> None:
    """Stamp these queued jobs as handed over and hand them to the runner after the commit."""
    now = utcnow()
    if _rq():
        db.session.execute(sa.update(Job).where(Job.id.in_(ids)).values(handed_at=now))
    found = {r.id: tuple(r) for r in db.session.execute(
        sa.select(Job.id, Job.queue, Job.run_at).where(Job.id.in_(ids)))}
    db.session.info.setdefault(_PENDING, []).extend(found[i] for i in ids if i in found)  # in the order given


def hand_over(limit: int = HANDOVER_BATCH) -> int:
    """Hand due jobs that the runner does not hold yet to it; how many.

    On RQ these are the due jobs without a `handed_at` stamp, taken under a row lock that
    other workers skip, so each goes to Redis once. In-process, the runner keeps them apart.
    """
    limit = min(limit, runner().capacity())
    if limit <= 0:
        return 0
    with write_transaction():
        stmt = sa.select(Job.id).where(Job.status == "queued", Job.run_at <= utcnow())
        if _rq():
            stmt = stmt.where(Job.handed_at.is_(None))
            if db.engine.dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
        ids = list(db.session.execute(stmt.order_by(Job.run_at, Job.id).limit(limit)).scalars())
        if ids:
            _hand_over_ids(ids)
    return len(ids)


def reconcile(stale_after: timedelta | None = None) -> dict:
    """Find what was lost and hand it over again:

    - a running job whose heartbeat is older than the lease lost its worker: queued again;
    - a job handed to Redis longer than a lease ago that Redis no longer holds (Redis restarted
      empty, or the hand-over failed): handed over again; one Redis still holds gets a new lease.

    Running twice is harmless: claims are conditional.
    """
    now = utcnow()
    cutoff = now - (lease() if stale_after is None else stale_after)
    with write_transaction():
        revived = db.session.execute(
            sa.update(Job).where(Job.status == "running", sa.func.coalesce(Job.heartbeat_at, Job.started_at) < cutoff)
            .values(status="queued", run_at=now, handed_at=None,
                    error="the worker running it stopped; run again")).rowcount
    resubmitted = 0
    if _rq():
        with write_transaction():
            stmt = (sa.select(Job.id).where(Job.status == "queued", Job.handed_at < now - lease())
                    .order_by(Job.handed_at).limit(HANDOVER_BATCH))
            if db.engine.dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            expired = list(db.session.execute(stmt).scalars())
            lost = runner().lost(expired) if expired else []
            if expired:
                db.session.execute(sa.update(Job).where(Job.id.in_(expired)).values(handed_at=now))
            if lost:
                _hand_over_ids(lost)
        resubmitted = len(lost)
    resubmitted += hand_over()
    return {"revived": revived, "resubmitted": resubmitted}


# -- runners ------------------------------------------------------------------------------------
class EmbeddedRunner:
    """Runs jobs in this process: one long-lived thread, a bounded queue of job ids drained in
    batches, and the database for what did not fit (or at once, in the caller, when eager)."""

    BATCH = 100

    def __init__(self, app: Flask):
        self.app = app
        self.eager = bool(app.config.get("FORMLOOM_JOBS_EAGER"))
        self.size = int(app.config.get("FORMLOOM_EMBEDDED_QUEUE") or DEFAULTS["FORMLOOM_EMBEDDED_QUEUE"])
        self.queue: queue_mod.Queue = queue_mod.Queue(maxsize=self.size)
        self.known: set[str] = set()  # ids in the queue
        self.guard = threading.Lock()
        self.thread: threading.Thread | None = None
        self.local = threading.local()  # eager: jobs a running job asked for, run after it

    def capacity(self) -> int:
        return HANDOVER_BATCH if self.eager else self.size - self.queue.qsize()

    def lost(self, ids: list[str]) -> list[str]:
        return [i for i in ids if i not in self.known]

    def submit(self, pending: list[tuple]) -> None:
        ids = [p[0] for p in pending if p[2] <= utcnow()]  # later ones: handed over when due
        if not ids:
            return
        if self.eager:
            if getattr(self.local, "later", None) is not None:  # asked for by the job this thread runs
                self.local.later.extend(ids)
            else:
                self._run_eagerly(ids)
            return
        with self.guard:
            for job_id in ids:
                if job_id in self.known:
                    continue
                try:
                    self.queue.put_nowait(job_id)
                except queue_mod.Full:
                    self.more = True  # the rest stays in the database; the thread looks there
                    break
                self.known.add(job_id)
            self._start()

    more = False
    stopped = False

    def stop(self) -> None:
        """End the thread after its current batch (tests; a process ends it by exiting)."""
        self.stopped = True
        if self.thread is not None:
            self.thread.join(30)

    def _start(self) -> None:
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self._loop, name="formloom-jobs", daemon=True)
            self.thread.start()

    def _loop(self) -> None:
        wait = float(self.app.config.get("FORMLOOM_TICK_SECONDS") or DEFAULTS["FORMLOOM_TICK_SECONDS"])
        while not self.stopped:
            try:
                batch = [self.queue.get(timeout=wait)]
            except queue_mod.Empty:
                batch = []
            while len(batch) < self.BATCH:
                try:
                    batch.append(self.queue.get_nowait())
                except queue_mod.Empty:
                    break
            try:
                with self.app.app_context():
                    try:
                        if batch:
                            run_batch(batch)
                        with self.guard:
                            self.known.difference_update(batch)
                        if self.queue.empty() and (self.more or not batch) and not self.stopped:
                            # what did not fit, retries now due, work other processes asked for
                            self.more = False
                            hand_over(self.BATCH)
                    finally:
                        db.session.remove()
            except Exception:  # noqa: BLE001 - the thread must live on; the job rows keep the work
                log.exception("background job runner")
                with self.guard:
                    self.known.difference_update(batch)
                time.sleep(wait)

    def _run_eagerly(self, ids: list[str]) -> None:
        todo = list(ids)
        while todo:
            todo.extend(self._run_one(todo.pop(0)))

    def _run_one(self, job_id: str) -> list[str]:
        """Run one job; the ids of the jobs it asked for (run next, not inside it)."""
        with self.app.app_context():
            self.local.later = []
            try:
                run_job(job_id)
                return self.local.later
            finally:
                self.local.later = None
                db.session.remove()


class RQRunner:
    """Hands job ids to RQ queues on Redis (the RQ job id is ours); `formloom worker` runs them."""

    def __init__(self, app: Flask):
        from redis import Redis  # loaded only with REDIS_URL (the in-process runner needs neither)

        self.app = app
        # Short timeouts: a request waits at most this long for a Redis that is gone.
        self.redis = Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5)

    def queue(self, name: str):
        from rq import Queue  # loaded only with REDIS_URL (the in-process runner needs neither)

        return Queue(name, connection=self.redis)

    def capacity(self) -> int:
        return HANDOVER_BATCH

    def lost(self, ids: list[str]) -> list[str]:
        """The ids Redis holds no job for."""
        from rq.job import (
            Job as RQJob,  # loaded only with REDIS_URL (the in-process runner needs neither)
        )

        with self.redis.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.exists(RQJob.key_for(job_id))
            found = pipe.execute()
        return [job_id for job_id, there in zip(ids, found, strict=True) if not there]

    def submit(self, pending: list[tuple]) -> None:
        from rq import Queue  # loaded only with REDIS_URL (the in-process runner needs neither)

        timeout = int(self.app.config.get("FORMLOOM_JOB_TIMEOUT_SECONDS") or DEFAULTS["FORMLOOM_JOB_TIMEOUT_SECONDS"])
        by_queue: dict[str, list] = {}
        for job_id, name, _run_at in pending:
            by_queue.setdefault(name, []).append(Queue.prepare_data(
                "formloom.platform.jobs.rq_entry", args=(job_id,), job_id=job_id, timeout=timeout, result_ttl=0,
                failure_ttl=3600))
        with self.redis.pipeline() as pipe:
            for name, datas in by_queue.items():
                self.queue(name).enqueue_many(datas, pipeline=pipe)
            pipe.execute()


class Heartbeat:
    """One thread per process renewing the heartbeat of the jobs this process runs."""

    def __init__(self):
        self.running: dict[str, Flask] = {}
        self.guard = threading.Lock()
        self.thread: threading.Thread | None = None
        self.pid = None

    def add(self, job_id: str) -> None:
        app = current_app._get_current_object()
        with self.guard:
            self.running[job_id] = app
            if self.thread is None or self.pid != os.getpid() or not self.thread.is_alive():
                self.pid = os.getpid()  # a forked work horse starts its own
                self.thread = threading.Thread(target=self._loop, name="formloom-heartbeat", daemon=True)
                self.thread.start()

    def discard(self, job_id: str) -> None:
        with self.guard:
            self.running.pop(job_id, None)

    def _loop(self) -> None:
        while True:
            with self.guard:
                apps: dict[int, tuple[Flask, list[str]]] = {}
                for job_id, app in self.running.items():
                    apps.setdefault(id(app), (app, []))[1].append(job_id)
            seconds = 10.0
            for app, ids in apps.values():
                seconds = min(seconds, float(app.config.get("FORMLOOM_JOB_LEASE_SECONDS")
                                             or DEFAULTS["FORMLOOM_JOB_LEASE_SECONDS"]) / 3)
                try:
                    with app.app_context():
                        with write_transaction():
                            db.session.execute(sa.update(Job).where(Job.id.in_(ids), Job.status == "running")
                                               .values(heartbeat_at=utcnow()))
                        db.session.remove()
                except Exception:  # noqa: BLE001 - the next beat tries again
                    log.exception("job heartbeat")
            time.sleep(max(0.05, seconds))


heartbeat = Heartbeat()
_worker_app: Flask | None = None
_parent_pid = os.getpid()


def runner():
    """This app's runner (kept on the app: an id() of an app that is gone may be reused)."""
    app = current_app._get_current_object()
    found = app.extensions.get("formloom_runner")
    if found is None:
        found = app.extensions["formloom_runner"] = RQRunner(app) if app.config.get("REDIS_URL") else EmbeddedRunner(app)
    return found


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

    for module in app.config.get("FORMLOOM_JOB_MODULES") or ():
        importlib.import_module(module)
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)
