"""A filtered, sorted page of deals over many records: service call and HTTP API, p50/p95."""
from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import sqlalchemy as sa

from benchmarks import data, loader, report
from benchmarks.env import APP_KEY, server_version
from formloom.platform.extensions import db, write_transaction
from formloom.runtime.records import query

NAME = "list"
RECORDS = 1_000_000
RUNS = 200
LIMIT = 50
THRESHOLD = 250_000  # about half the deals match
CONDITION = {"field": "amount", "op": "gt", "value": THRESHOLD}
SORT = "-amount"
AIM_MS = 50.0
WARMUP = 3
REP_SHARE = 100  # the rep owns one deal in this many


def run(env, scale: float = 1.0, load: str = "sql", **_options) -> dict:
    """Load the deals, then time the first page, a deep page and both through the API."""
    n = max(500, round(RECORDS * scale))
    runs = max(5, min(RUNS, round(RUNS * scale * 10)))
    with env.app.app_context():
        load_seconds = _load(env, n, load)
        actor, runtime = env.actor(), env.runtime()
        cursor, depth, matching = _deep_cursor(actor, runtime)
        rep_owned = _give_rep_deals(env, runtime)
        rep_cursor, rep_depth = _rep_cursor(env.rep(), runtime)
        plans = {"first_page": _plan(actor, runtime, None), "deep_page": _plan(actor, runtime, cursor),
                 "rep_first_page": _plan(env.rep(), runtime, None)}
        version = server_version()
    samples = _samples(env, actor, runtime, runs, cursor, rep_cursor)
    timings = {key: report.latency(values) for key, values in samples.items()}
    results = {"records": n, "matching": matching, "deep_page_after": depth, "load": load,
               "rep_owns": rep_owned, "rep_deep_page_after": rep_depth,
               "load_seconds": round(load_seconds, 1), "timings": timings,
               "api_overhead_ms": {page: _overhead(samples[f"api_{page}"], samples[page])
                                   for page in ("first_page", "deep_page")}}
    first = timings["first_page"]["p95_ms"]
    rep_first = timings["rep_first_page"]["p95_ms"]
    aims = [{"aim": f"first page p95 under {AIM_MS:g} ms on PostgreSQL (index on amount)",
             "value": first, "met": first < AIM_MS},
            {"aim": f"a rep's first page (own deals only) p95 under {AIM_MS:g} ms on PostgreSQL",
             "value": rep_first, "met": rep_first < AIM_MS}] if env.db == "postgres" else []
    return {
        "benchmark": NAME, "db": env.db, "scale": scale, "machine": report.machine(version),
        "params": {"form": "deal", "records": n, "runs": runs, "limit": LIMIT, "filter": CONDITION,
                   "sort": SORT, "load": _load_note(load),
                   "path": "formloom.runtime.records.query.list_records; GET .../records via the Flask test client"},
        "results": results, "plans": plans, "aims": aims,
    }


def _load_note(load: str) -> str:
    if load == "service":
        return "service.bulk_create in requests of 10,000"
    return "one INSERT ... SELECT into the form's table (benchmarks/loader.py), then ANALYZE"


def _load(env, n: int, load: str) -> float:
    actor, runtime = env.actor(), env.runtime()
    company_ids = data.create_companies(actor, runtime)
    start = time.perf_counter()
    if load == "service":
        loader.load_via_service(actor, runtime, n, company_ids)
    else:
        loader.load_via_sql(runtime, n, company_ids, env.user_id)
    return time.perf_counter() - start


def _page(actor, runtime, cursor=None) -> tuple[list[dict], str | None]:
    return query.list_records(actor, runtime, "deal", condition=CONDITION, sort=SORT, limit=LIMIT, cursor=cursor)


def _check(page: list[dict]) -> None:
    amounts = [r["fields"]["amount"] for r in page]
    if len(page) != LIMIT or amounts != sorted(amounts, reverse=True) or min(amounts) <= THRESHOLD:
        raise RuntimeError(f"unexpected page: {len(page)} rows, amounts {amounts[:3]}...")


def _deep_cursor(actor, runtime) -> tuple[str, int, int]:
    """A cursor halfway through the matching deals, the rows before it, and all that match.

    A cursor is the last row's sort values, so a one-row page that starts at the middle
    amount yields the cursor page N/2 of the real listing would hand out.
    """

    ft = runtime.form_tables("deal")
    amount = ft.columns["amount"]
    live = [amount > THRESHOLD, ft.table.c.deleted_at.is_(None)]
    matching = db.session.execute(sa.select(sa.func.count()).where(*live)).scalar()
    middle = db.session.execute(sa.select(amount).where(*live).order_by(amount.desc())
                                .offset(matching // 2).limit(1)).scalar()
    condition = {"all": [CONDITION, {"field": "amount", "op": "lte", "value": middle}]}
    page, cursor = query.list_records(actor, runtime, "deal", condition=condition, sort=SORT, limit=1)
    _check(_page(actor, runtime)[0])
    _check(_page(actor, runtime, cursor)[0])
    db.session.rollback()
    return cursor, matching // 2 + len(page), matching


def _give_rep_deals(env, runtime) -> int:
    """Make the rep the owner of one deal in REP_SHARE (then ANALYZE): a rep's own rows are few."""
    t = runtime.form_tables("deal").table
    with write_transaction():
        moved = db.session.execute(t.update().where(t.c.id % REP_SHARE == 0).values(owner_id=env.rep_id)).rowcount
    with write_transaction():
        db.session.execute(sa.text(f"ANALYZE {t.name}"))
    return moved


def _rep_cursor(rep, runtime) -> tuple[str | None, int]:
    """The cursor halfway through the rep's matching deals, walked page by page as the rep."""
    pages, cursor, seen = [], None, 0
    while True:
        page, next_cursor = _page(rep, runtime, cursor)
        if any("probability" in r["fields"] for r in page):
            raise RuntimeError("the rep sees a field their grant hides")
        seen += len(page)
        pages.append((seen, next_cursor))
        if next_cursor is None:
            break
        cursor = next_cursor
    db.session.rollback()
    depth, middle = pages[max(0, len(pages) // 2 - 1)]
    return middle, depth


def _overhead(api: list[float], service: list[float]) -> float:
    """The median of paired differences: run i through the API minus run i through the service."""
    return round(report.percentile([a - s for a, s in zip(api, service, strict=True)], 50), 2)


def _samples(env, actor, runtime, runs: int, cursor: str, rep_cursor: str | None) -> dict[str, list[float]]:
    """Milliseconds of the four measures, taken in turn so a busy moment of the machine hits all alike."""
    client = env.app.test_client()
    headers = {"Authorization": f"Bearer {env.token}"}
    url = f"/api/v1/apps/{APP_KEY}/forms/deal/records?"

    def service(page_cursor, who=None):
        def measure() -> float:
            with env.app.app_context():  # a fresh session per call, as each request has
                as_actor = who() if who else actor
                start = time.perf_counter()
                _page(as_actor, runtime, page_cursor)
                return (time.perf_counter() - start) * 1000
        return measure

    def api(page_cursor):
        params = {"filter": json.dumps(CONDITION), "sort": SORT, "limit": LIMIT}
        target = url + urlencode({**params, "cursor": page_cursor} if page_cursor else params)

        def measure() -> float:
            start = time.perf_counter()
            response = client.get(target, headers=headers)
            elapsed = (time.perf_counter() - start) * 1000
            if response.status_code != 200 or len(response.get_json()["items"]) != LIMIT:
                raise RuntimeError(f"API list failed: {response.status_code} {response.get_data(as_text=True)[:300]}")
            return elapsed
        return measure

    measures = {"first_page": service(None), "deep_page": service(cursor),
                "api_first_page": api(None), "api_deep_page": api(cursor),
                "rep_first_page": service(None, env.rep), "rep_deep_page": service(rep_cursor, env.rep)}
    samples: dict[str, list[float]] = {key: [] for key in measures}
    for i in range(WARMUP + runs):
        for key, measure in measures.items():
            elapsed = measure()
            if i >= WARMUP:
                samples[key].append(elapsed)
    return samples


def _plan(actor, runtime, cursor: str | None) -> dict:
    """The database's plan for the page's id query (EXPLAIN), as evidence."""
    captured = []

    def keep(conn, cursor_, statement, parameters, context, executemany):
        if not captured and "ORDER BY" in statement:
            captured.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", keep)
    try:
        _page(actor, runtime, cursor)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", keep)
    db.session.rollback()
    statement, parameters = captured[0]
    conn = db.session.connection()
    if db.engine.dialect.name == "sqlite":
        lines = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
    else:
        lines = [row[0] for row in conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)]
    db.session.rollback()
    return {"sql": statement, "parameters": parameters, "plan": lines}


def format_result(result: dict) -> str:
    r = result["results"]
    t = r["timings"]
    names = [("first_page", "service: first page"), ("deep_page", f"service: page after {r['deep_page_after']:,} rows"),
             ("api_first_page", "API: first page"), ("api_deep_page", "API: deep page"),
             ("rep_first_page", f"rep (own {r['rep_owns']:,} deals): first page"),
             ("rep_deep_page", f"rep: page after {r['rep_deep_page_after']:,} rows")]
    rows = [[label, t[key]["runs"], t[key]["p50_ms"], t[key]["p95_ms"], t[key]["max_ms"]] for key, label in names]
    out = report.table(
        f"list: amount > {THRESHOLD:,} sorted {SORT}, {LIMIT} per page, over {r['records']:,} deals "
        f"({r['matching']:,} match) on {result['db']}",
        ["measure", "runs", "p50 ms", "p95 ms", "max ms"], rows)
    out += f"\nloaded in {r['load_seconds']} s by {result['params']['load']}"
    overhead = r["api_overhead_ms"]
    out += (f"\nAPI overhead (median of paired differences): first page {overhead['first_page']} ms, "
            f"deep page {overhead['deep_page']} ms")
    for aim in result["aims"]:
        out += f"\naim: {aim['aim']}: {aim['value']} ms, {'met' if aim['met'] else 'NOT met'}"
    return out
