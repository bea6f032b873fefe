"""Import: a 100,000-row CSV of deals (a link column matched by company name) through the
import service and its job, end to end (read, convert, check, write), on_error "skip"."""
from __future__ import annotations

import csv
import resource
import threading
import time

import sqlalchemy as sa

from benchmarks import data, report
from benchmarks.env import server_version
from formloom.platform.extensions import db
from formloom.platform.models import ImportRun
from formloom.runtime.imports import service

NAME = "imports"
RECORDS = 100_000
AIM_SECONDS = 12.0  # the aims: 100,000 rows in 12 s on SQLite, 1,000,000 in 120 s on PostgreSQL
HEADER = ["Title", "Company", "Stage", "Amount", "Probability", "Close date", "Lost reason"]


def write_csv(path, n: int) -> None:
    """`n` deals as the CSV a person would export from Excel (company by name, not id)."""
    names = [c["name"] for c in data.companies()]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for start in range(0, n, 10_000):
            rows = data.deals(min(10_000, n - start), list(range(len(names))), start=start)
            out.writerows([r["title"], names[r["company"]], r["stage"], f"{r['amount']:,.2f}", r["probability"],
                           r["close_date"], r.get("lost_reason", "")] for r in rows)


def wait(import_id: int) -> ImportRun:
    """The import once its job has finished (the embedded runner runs it in its thread)."""
    while True:
        db.session.rollback()
        row = db.session.get(ImportRun, import_id)
        db.session.refresh(row)
        if row.status not in ("queued", "running"):
            return row
        threading.Event().wait(0.05)


def run(env, scale: float = 1.0, **_options) -> dict:
    n = max(100, round(RECORDS * scale))
    path = env.folder / "deals.csv"
    write_csv(path, n)
    size = path.stat().st_size
    with env.app.app_context():
        actor, runtime = env.actor(), env.runtime()
        data.create_companies(actor, runtime)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start, cpu = time.perf_counter(), time.process_time()
        with open(path, "rb") as fh:
            row = service.start(actor, runtime, "deal", fh, "deals.csv", {"on_error": "skip"})
        row = wait(row.id)
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu  # this process's CPU (every thread): what the import cost,
        # whatever else the machine was doing
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        stored = db.session.execute(sa.select(sa.func.count()).select_from(runtime.form_tables("deal").table)).scalar()
        outcome = {"status": row.status, "created": row.created, "failed_rows": row.failed_rows, "error": row.error}
        version = server_version()
    rate = n / seconds
    aim = AIM_SECONDS * n / RECORDS
    return {
        "benchmark": NAME, "db": env.db, "scale": scale, "machine": report.machine(version),
        "params": {"form": "deal", "rows": n, "columns": len(HEADER), "file_bytes": size, "on_error": "skip",
                   "path": "POST .../imports -> job imports.run (formloom.runtime.imports)"},
        "results": {"rows": n, "seconds": round(seconds, 2), "rows_per_second": round(rate), "stored": stored,
                    "cpu_seconds": round(cpu, 2), "rows_per_cpu_second": round(n / cpu) if cpu else None,
                    "peak_rss_mb": round(max(rss_before, rss_after) / 1024), **outcome},
        "aims": [{"aim": f"{n:,} rows in under {aim:g} s (SQLite: 100,000 in 12 s; PostgreSQL: 1,000,000 in 120 s)",
                  "value": round(seconds, 2),
                  "met": seconds < aim}],
    }


def format_result(result: dict) -> str:
    r = result["results"]
    aim = result["aims"][0]
    return report.table(
        f"imports: a {result['params']['columns']}-column CSV with a link column ({result['db']})",
        ["db", "rows", "seconds", "rows/s", "CPU s", "rows/CPU s", "created", "failed", "peak RSS MB", "aim"],
        [[result["db"], r["rows"], r["seconds"], r["rows_per_second"], r["cpu_seconds"], r["rows_per_cpu_second"],
          r["created"], r["failed_rows"],
          r["peak_rss_mb"], f"{aim['aim']}: {'met' if aim['met'] else 'NOT met'}"]])
