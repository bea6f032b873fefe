"""Records created per second, one at a time, through the records service (`deal` form)."""
from __future__ import annotations

import time

import sqlalchemy as sa

from benchmarks import data, report
from benchmarks.env import server_version
from formloom.platform.extensions import db
from formloom.runtime.records import service

NAME = "creates"
RECORDS = 2_000
WARMUP = 10


def run(env, scale: float = 1.0, **_options) -> dict:
    """Create `RECORDS * scale` deals, each in its own transaction, as a form submit does."""
    n = max(20, round(RECORDS * scale))
    with env.app.app_context():
        actor, runtime = env.actor(), env.runtime()
        company_ids = data.create_companies(actor, runtime)
        rows = data.deals(WARMUP + n, company_ids)
        for row in rows[:WARMUP]:
            service.create(actor, runtime, "deal", row)
        samples = []
        start = time.perf_counter()
        for row in rows[WARMUP:]:
            t0 = time.perf_counter()
            service.create(actor, runtime, "deal", row)
            samples.append((time.perf_counter() - t0) * 1000)
        seconds = time.perf_counter() - start
        stored = db.session.execute(sa.select(sa.func.count()).select_from(
            runtime.form_tables("deal").table)).scalar()
        version = server_version()
    return {
        "benchmark": NAME, "db": env.db, "scale": scale, "machine": report.machine(version),
        "params": {"form": "deal", "records": n, "warmup": WARMUP,
                   "path": "formloom.runtime.records.service.create, one transaction each"},
        "results": {"records": n, "seconds": round(seconds, 3), "per_second": round(n / seconds, 1),
                    "stored": stored, **report.latency(samples)},
    }


def format_result(result: dict) -> str:
    r = result["results"]
    return report.table(
        f"creates: deal records created one at a time via service.create ({result['db']})",
        ["db", "records", "seconds", "records/s", "p50 ms", "p95 ms"],
        [[result["db"], r["records"], r["seconds"], r["per_second"], r["p50_ms"], r["p95_ms"]]])
