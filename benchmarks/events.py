"""Record events through the outbox to jobs, handed to RQ and handled by a worker: events/s.

Deals are bulk-created (each writes an outbox event in its transaction); then the clock
runs while `outbox.dispatch()` turns the events into jobs and hands them to the runner, and
a worker runs them. With Redis (FORMLOOM_BENCH_REDIS_URL, default redis://127.0.0.1:6379/14,
flushed first) that is RQ and an in-process `SimpleWorker` in burst mode; without it, the
embedded runner. The handler does nothing but count, so the number is the machinery's (other subscribers,
such as webhook fan-out, make their jobs too and are part of the time).
"""
from __future__ import annotations

import os
import time

import sqlalchemy as sa

from benchmarks import data, report
from benchmarks.env import server_version
from formloom.platform import jobs, outbox
from formloom.platform.extensions import db
from formloom.platform.models import Job
from formloom.runtime.records import service

NAME = "events"
EVENTS = 5_000
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
HANDLED: list[int] = []


@jobs.handler("bench.count")
def _count(payload: dict) -> None:
    HANDLED.append(payload["event_id"])


def _redis_url() -> str | None:
    url = os.environ.get("FORMLOOM_BENCH_REDIS_URL", DEFAULT_REDIS)
    if not url:
        return None
    try:
        from redis import Redis

        Redis.from_url(url).ping()
        return url
    except Exception:  # noqa: BLE001 - no Redis: measure the embedded runner instead
        return None


def run(env, scale: float = 1.0, **_options) -> dict:
    n = max(50, round(EVENTS * scale))
    redis_url = _redis_url()
    env.app.config["REDIS_URL"] = redis_url
    env.app.config["FORMLOOM_JOBS_EAGER"] = redis_url is None
    outbox.subscribe("bench.count", lambda e: e.type == "record.created")
    HANDLED.clear()
    with env.app.app_context():
        actor, runtime = env.actor(), env.runtime()
        company_ids = data.create_companies(actor, runtime)
        outbox.dispatch()  # the setup's own events (companies, publish) out of the way
        db.session.execute(sa.delete(Job))
        db.session.commit()
        HANDLED.clear()
        for start in range(0, n, 5000):
            service.bulk_create(actor, runtime, "deal", data.deals(min(5000, n - start), company_ids, start=start))
        version = server_version()
    if redis_url:
        from redis import Redis

        Redis.from_url(redis_url).flushdb()
    env.app.extensions.pop("formloom_runner", None)
    with env.app.app_context():
        start = time.perf_counter()
        taken = 0
        while (step := outbox.dispatch()):
            taken += step
        dispatched = time.perf_counter() - start
        if redis_url:
            _work(env.app, redis_url)
        seconds = time.perf_counter() - start
        done = db.session.execute(sa.select(sa.func.count()).select_from(Job).where(
            Job.status == "done", Job.kind == "bench.count")).scalar()
    if done != n or len(set(HANDLED)) != n:
        with env.app.app_context():
            states = db.session.execute(sa.select(Job.status, Job.error, sa.func.count()).where(
                Job.kind == "bench.count").group_by(Job.status, Job.error)).all()
        raise RuntimeError(f"expected {n} handled events, got {done} done jobs and {len(set(HANDLED))} handled; "
                           f"job states: {states}")
    return {
        "benchmark": NAME, "db": env.db, "scale": scale, "machine": report.machine(version),
        "params": {"events": n, "runner": "RQ (SimpleWorker, burst)" if redis_url else "embedded (in-process)",
                   "path": "outbox.dispatch -> jobs rows -> runner -> jobs.run_job -> handler"},
        "results": {"events": n, "dispatch_seconds": round(dispatched, 2), "seconds": round(seconds, 2),
                    "per_second": round(n / seconds, 1), "dispatch_per_second": round(taken / dispatched, 1)},
    }


def _work(app, redis_url: str) -> None:
    from redis import Redis
    from rq import Queue, SimpleWorker

    jobs._worker_app = app
    redis = Redis.from_url(redis_url)
    SimpleWorker([Queue(q, connection=redis) for q in jobs.QUEUES], connection=redis).work(burst=True,
                                                                                           logging_level="WARNING")


def format_result(result: dict) -> str:
    r = result["results"]
    return report.table(
        f"events: record events through the outbox, {result['params']['runner']} ({result['db']})",
        ["db", "events", "dispatch s", "total s", "events/s", "dispatch events/s"],
        [[result["db"], r["events"], r["dispatch_seconds"], r["seconds"], r["per_second"], r["dispatch_per_second"]]])
