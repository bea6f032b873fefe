"""Dashboards over many deals (issue 17): widget data p95, uncached, through the one
aggregation service (`runtime/dashboards/service.py`), as the widget data API calls it.

The example app's dashboard `sales_review` (formloom/app_templates/sales_mini), 8 widgets:
- group by month: `by_month`, the sum of amount per close-date month (one GROUP BY);
- pivot: `tier_stage`, company tier (through the link) x stage, sum and count, with its row,
  column and grand totals (a GROUP BY each);
- whole dashboard: every widget once (KPIs with their previous period, the funnel, the
  leaderboard with its top 10 and others, the pivot, the pie by the company's industry);
- the same group by month for a rep, who may list only their own deals (the row scope ANDed).
No cache: every call reads the database.
"""
from __future__ import annotations

import time

from benchmarks import data, loader, report
from benchmarks.env import server_version
from formloom.runtime.dashboards import service

NAME = "dashboards"
RECORDS = 1_000_000
RUNS = 20
WARMUP = 2
DASHBOARD = "sales_review"
AIMS_MS = {"group_by_month": 300.0, "pivot_tier_stage": 500.0, "whole_dashboard": 1000.0}


def _widget(key: str, rep: bool = False):
    def measure(env, actor, runtime) -> int:
        who = env.rep() if rep else actor
        return len(service.widget_data(who, runtime, DASHBOARD, key, {})["rows"])

    return measure


def _whole(env, actor, runtime) -> int:
    dash = runtime.definition.dashboards[DASHBOARD]
    return sum(len(service.widget_data(actor, runtime, DASHBOARD, key, {})["rows"]) for key in dash.widgets)


MEASURES = {"group_by_month": _widget("by_month"), "pivot_tier_stage": _widget("tier_stage"),
            "whole_dashboard": _whole, "rep_group_by_month": _widget("by_month", rep=True)}


def run(env, scale: float = 1.0, **_options) -> dict:
    n = max(600, round(RECORDS * scale))
    runs = max(5, min(RUNS, round(RUNS * scale * 10)))
    with env.app.app_context():
        actor, runtime = env.actor(), env.runtime()
        company_ids = data.create_companies(actor, runtime)
        start = time.perf_counter()
        loader.load_via_sql(runtime, n, company_ids, env.user_id)
        load_seconds = time.perf_counter() - start
        sizes = {key: measure(env, actor, runtime) for key, measure in MEASURES.items()}
        version = server_version()
    samples: dict[str, list[float]] = {key: [] for key in MEASURES}
    for i in range(WARMUP + runs):
        for key, measure in MEASURES.items():
            with env.app.app_context():  # a fresh session per call, as each request has
                actor, runtime = env.actor(), env.runtime()
                begin = time.perf_counter()
                measure(env, actor, runtime)
                elapsed = (time.perf_counter() - begin) * 1000
            if i >= WARMUP:
                samples[key].append(elapsed)
    timings = {key: report.latency(values) for key, values in samples.items()}
    aims = [{"aim": f"{key.replace('_', ' ')} p95 under {ms:g} ms uncached on PostgreSQL",
             "value": timings[key]["p95_ms"], "met": timings[key]["p95_ms"] < ms}
            for key, ms in AIMS_MS.items()] if env.db == "postgres" and n >= RECORDS else []
    return {
        "benchmark": NAME, "db": env.db, "scale": scale, "machine": report.machine(version),
        "params": {"form": "deal", "records": n, "runs": runs, "dashboard": DASHBOARD, "cache": "none",
                   "path": "formloom.runtime.dashboards.service.widget_data"},
        "results": {"records": n, "load_seconds": round(load_seconds, 1), "rows_returned": sizes, "timings": timings},
        "aims": aims,
    }


def format_result(result: dict) -> str:
    return report.timed_measures(result, f"dashboard widgets over {result['results']['records']:,} deals on {result['db']}")
