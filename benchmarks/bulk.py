"""Bulk create: 100,000 deals through `service.bulk_create`, in requests of 10,000."""
from __future__ import annotations

import time

import sqlalchemy as sa

from benchmarks import data, report
from benchmarks.env import server_version
from formloom.platform.extensions import db

NAME = "bulk"
RECORDS = 100_000
REQUEST = 10_000  # the API's limit per bulk request
AIM_ROWS_PER_SECOND = 10_000  # the aim: 100,000 rows in under 10 s


def run(env, scale: float = 1.0, **_options) -> dict:
    """Load `RECORDS * scale` deals request by request; time each request and the total."""
    n = max(100, round(RECORDS * scale))
    size = min(REQUEST, n)
    with env.app.app_context():
        actor, runtime = env.actor(), env.runtime()
        company_ids = data.create_companies(actor, runtime)
        rows = data.deals(n, company_ids)  # generated up front: not part of the timing
        start = time.perf_counter()
        requests = data.load_in_requests(actor, runtime, "deal", rows, size)
        seconds = time.perf_counter() - start
        stored = db.session.execute(sa.select(sa.func.count()).select_from(
            runtime.form_tables("deal").table)).scalar()
        version = server_version()
    rate = n / seconds
    return {
        "benchmark": NAME, "db": env.db, "scale": scale, "machine": report.machine(version),
        "params": {"form": "deal", "records": n, "request_size": size,
                   "path": "formloom.runtime.records.service.bulk_create"},
        "results": {"records": n, "requests": len(requests), "seconds": round(seconds, 2),
                    "rows_per_second": round(rate), "request_seconds": requests, "stored": stored},
        "aims": [{"aim": f"at least {AIM_ROWS_PER_SECOND:,} rows/s (100,000 rows in under 10 s)",
                  "value": round(rate), "met": rate >= AIM_ROWS_PER_SECOND}],
    }


def format_result(result: dict) -> str:
    r = result["results"]
    aim = result["aims"][0]
    slowest = max(r["request_seconds"])
    return report.table(
        f"bulk: service.bulk_create in requests of {result['params']['request_size']:,} ({result['db']})",
        ["db", "records", "requests", "seconds", "rows/s", "slowest request s", "aim"],
        [[result["db"], r["records"], r["requests"], r["seconds"], r["rows_per_second"], slowest,
          f"{aim['aim']}: {'met' if aim['met'] else 'NOT met'}"]])
