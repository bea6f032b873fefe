"""Views over many deals (issue 15): a kanban's first paint, a grouped table page, a calendar month.

The example app's views (formloom/app_templates/sales_mini): `pipeline` (kanban by stage,
totals of amount and weighted), `my_deals` (table), `closing` (calendar by close date).
Measured through `runtime/views/query.py`, as the view API calls it:

- kanban first paint: every column's count and totals (one GROUP BY) and the first 20
  cards of each of the 6 stages (one page each, the view's sort);
- table page: a page of 50 with a 3-condition filter, and its groups by stage with totals;
- calendar month: the deals closing in one month (a page of up to 500).
"""
from __future__ import annotations

import time

from benchmarks import data, loader, report
from benchmarks.env import server_version
from formloom.runtime.views import query

NAME = "views"
RECORDS = 1_000_000
RUNS = 100
WARMUP = 3
CARDS = 20
FILTER = {"all": [{"field": "amount", "op": "gt", "value": 100_000},
                  {"field": "probability", "op": "gte", "value": 50},
                  {"field": "close_date", "op": "between", "value": ["2026-03-01", "2026-09-30"]}]}
MONTH = {"field": "close_date", "op": "between", "value": ["2026-05-01", "2026-05-31"]}
AIMS_MS = {"kanban_first_paint": 150.0, "table_page": 200.0, "calendar_month": 50.0}


def _kanban(actor, runtime) -> int:
    groups = query.view_groups(actor, runtime, "pipeline")["groups"]
    cards = 0
    for g in groups:
        if g["value"] is None:
            continue
        items, _cursor = query.view_records(actor, runtime, "pipeline", limit=CARDS, group=g["value"])[1:]
        cards += len(items)
    return cards


def _table(actor, runtime) -> int:
    _ov, items, _cursor = query.view_records(actor, runtime, "my_deals", condition=FILTER, limit=50)
    groups = query.view_groups(actor, runtime, "my_deals", condition=FILTER, group_by="stage",
                               totals="amount:sum,probability:avg")["groups"]
    return len(items) + len(groups)


def _calendar(actor, runtime) -> int:
    _ov, items, _cursor = query.view_records(actor, runtime, "closing", condition=MONTH, limit=500)
    return len(items)


MEASURES = {"kanban_first_paint": _kanban, "table_page": _table, "calendar_month": _calendar}


def run(env, scale: float = 1.0, **_options) -> dict:
    n = max(600, round(RECORDS * scale))
    runs = max(5, min(RUNS, round(RUNS * scale * 10)))
    with env.app.app_context():
        actor, runtime = env.actor(), env.runtime()
        company_ids = data.create_companies(actor, runtime)
        start = time.perf_counter()
        loader.load_via_sql(runtime, n, company_ids, env.user_id)
        load_seconds = time.perf_counter() - start
        sizes = {key: measure(actor, runtime) for key, measure in MEASURES.items()}
        version = server_version()
    samples: dict[str, list[float]] = {key: [] for key in MEASURES}
    for i in range(WARMUP + runs):
        for key, measure in MEASURES.items():
            with env.app.app_context():  # a fresh session per call, as each request has
                actor, runtime = env.actor(), env.runtime()
                begin = time.perf_counter()
                measure(actor, runtime)
                elapsed = (time.perf_counter() - begin) * 1000
            if i >= WARMUP:
                samples[key].append(elapsed)
    timings = {key: report.latency(values) for key, values in samples.items()}
    aims = [{"aim": f"{key.replace('_', ' ')} p95 under {ms:g} ms on PostgreSQL",
             "value": timings[key]["p95_ms"], "met": timings[key]["p95_ms"] < ms}
            for key, ms in AIMS_MS.items()] if env.db == "postgres" else []
    return {
        "benchmark": NAME, "db": env.db, "scale": scale, "machine": report.machine(version),
        "params": {"form": "deal", "records": n, "runs": runs, "cards_per_column": CARDS, "table_filter": FILTER,
                   "calendar_month": MONTH, "path": "formloom.runtime.views.query (view_groups, view_records)"},
        "results": {"records": n, "load_seconds": round(load_seconds, 1), "rows_returned": sizes, "timings": timings},
        "aims": aims,
    }


def format_result(result: dict) -> str:
    return report.timed_measures(result, f"views over {result['results']['records']:,} deals on {result['db']}")
