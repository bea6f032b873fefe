"""Automation runs per second: record events through the outbox to automation runs.

The example app gets one automation (a deal created -> its company's revenue set from the
deal's amount, with a condition); deals are bulk-created, then the clock runs while
`outbox.dispatch()` turns their events into run jobs and a runner runs them: each run loads
the deal, checks the condition, updates the company through the records service (revision,
event) and writes its history row. RQ with an in-process `SimpleWorker` when Redis is there
(as `events`), else the embedded runner.
"""
from __future__ import annotations

import time

import sqlalchemy as sa

from benchmarks import data, report
from benchmarks.env import definition, server_version
from benchmarks.events import _redis_url, _work
from formloom.builder.apps import publish, save_draft
from formloom.platform import outbox
from formloom.platform.extensions import db
from formloom.platform.models import AutomationRun, Job
from formloom.runtime.apps import get_runtime
from formloom.runtime.records import service

NAME = "automations"
RUNS = 2_000
AUTOMATION = {"key": "revenue", "name": "Company revenue from its latest deal",
              "trigger": {"on": "record_created", "form": "deal",
                          "when": {"field": "amount", "op": "gt", "value": 0}},
              "actions": [{"type": "update_records", "form": "company",
                           "where": {"field": "$id", "op": "eq", "value": {"var": "record.company"}},
                           "set": {"revenue": {"var": "record.amount"}}}]}


def run(env, scale: float = 1.0, **_options) -> dict:
    n = max(50, round(RUNS * scale))
    redis_url = _redis_url()
    env.app.config["REDIS_URL"] = redis_url
    env.app.config["FORMLOOM_JOBS_EAGER"] = redis_url is None
    with env.app.app_context():
        actor = env.actor()
        key = env.runtime().key
        defn = definition()
        defn["automations"] = [AUTOMATION]
        save_draft(actor, key, defn)
        publish(actor, key)
        runtime = get_runtime(key)
        company_ids = data.create_companies(actor, runtime)
        outbox.dispatch()
        db.session.execute(sa.delete(Job))
        db.session.commit()
        for start in range(0, n, 5000):
            service.bulk_create(actor, runtime, "deal", data.deals(min(5000, n - start), company_ids, start=start))
        version = server_version()
    if redis_url:
        from redis import Redis

        Redis.from_url(redis_url).flushdb()
    env.app.extensions.pop("formloom_runner", None)
    with env.app.app_context():
        start = time.perf_counter()
        while outbox.dispatch():  # the runs' own company updates are events too: until quiet
            if redis_url:
                _work(env.app, redis_url)
        seconds = time.perf_counter() - start
        done = db.session.execute(sa.select(sa.func.count()).select_from(AutomationRun).where(
            AutomationRun.status == "done")).scalar()
        failed = db.session.execute(sa.select(AutomationRun.error).where(AutomationRun.status != "done")
                                    .limit(3)).scalars().all()
    if done != n:
        raise RuntimeError(f"expected {n} done runs, got {done}; some errors: {failed}")
    return {
        "benchmark": NAME, "db": env.db, "scale": scale, "machine": report.machine(version),
        "params": {"runs": n, "runner": "RQ (SimpleWorker, burst)" if redis_url else "embedded (in-process)",
                   "automation": AUTOMATION},
        "results": {"runs": n, "seconds": round(seconds, 2), "per_second": round(n / seconds, 1)},
    }


def format_result(result: dict) -> str:
    r = result["results"]
    return report.table(
        f"automations: runs from record events, {result['params']['runner']} ({result['db']})",
        ["db", "runs", "total s", "runs/s"], [[result["db"], r["runs"], r["seconds"], r["per_second"]]])
