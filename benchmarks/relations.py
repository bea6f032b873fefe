"""Lookups and rollups at scale: a tier change fanned out to 10,000 deals, and bulk loads.

The example app gets a lookup on deal (`company_tier`, the company's tier), a formula over
it (`tier_amount`: twice the amount for tier A) and three rollups on company (the amount
of won deals, the count of deals, the latest close date). Measured:

- **Tier change.** One company with `FAN_OUT` deals; `records.service.update` of its tier,
  timed until it returns (what the user waits for: the change, and the deals marked
  "updating"), then until the background refresh (the embedded job runner's thread, as
  `make run` has it) reports done: every lookup and formula rewritten, a revision and an
  event per deal. Three times, alternating tiers; after each, one SQL query checks that
  every linked deal has the new tier and the moved formula. SQL statements of the change
  itself are counted.
- **Bulk.** `RECORDS` deals over `COMPANIES` companies through `service.bulk_create` in
  requests of `REQUEST`: first on the example app as installed (no relations), then with
  the relations published, on new companies; then the rollups are compared with fresh
  aggregates. The second load goes into a table that already holds the first one.
"""
from __future__ import annotations

import time
from contextlib import contextmanager

import sqlalchemy as sa
from flask import current_app

from benchmarks import data, report
from benchmarks.env import definition, server_version
from formloom.builder.apps import publish, save_draft
from formloom.platform.extensions import db
from formloom.platform.models import Job, RecordRevision, RelationRefresh
from formloom.runtime.apps import get_runtime
from formloom.runtime.records import service

NAME = "relations"
FAN_OUT = 10_000
RECORDS = 100_000
REQUEST = 10_000
COMPANIES = 50
TIERS = ["B", "A", "B"]  # the company starts at A: each change moves every deal
WON = {"field": "stage", "op": "eq", "value": "won"}
DEAL_FIELDS = [
    {"key": "company_tier", "type": "lookup", "label": "Company tier", "link": "company", "field": "tier"},
    {"key": "tier_amount", "type": "formula", "label": "Tier amount",
     "expr": 'IF(company_tier = "A", amount * 2, amount)'},
]
COMPANY_FIELDS = [
    {"key": "won_total", "type": "rollup", "label": "Won", "form": "deal", "link": "company", "agg": "sum",
     "field": "amount", "where": WON},
    {"key": "deal_count", "type": "rollup", "label": "Deals", "form": "deal", "link": "company", "agg": "count"},
    {"key": "last_close", "type": "rollup", "label": "Last close", "form": "deal", "link": "company",
     "agg": "max", "field": "close_date"},
]


def run(env, scale: float = 1.0, **_options) -> dict:
    fan_out = max(10, round(FAN_OUT * scale))
    n = max(100, round(RECORDS * scale))
    size = min(REQUEST, n)
    with env.app.app_context():
        actor = env.actor()
        baseline = _bulk(actor, env.runtime(), "Base", n, size)
        runtime = _with_relations(env, actor)
        bulk = _bulk(actor, runtime, "Bulk", n, size)
        mismatched = _rollup_mismatches(runtime, bulk.pop("company_ids"))
        if mismatched:
            raise RuntimeError(f"rollups differ from fresh aggregates for companies {mismatched[:5]}")
        baseline.pop("company_ids")
        changes, setup_seconds = _tier_changes(actor, runtime, fan_out)
        version = server_version()
    bulk["slower_than_baseline"] = round(bulk["seconds"] / baseline["seconds"], 2)
    return {
        "benchmark": NAME, "db": env.db, "scale": scale, "machine": report.machine(version),
        "params": {"fan_out": fan_out, "records": n, "request_size": size, "companies": COMPANIES,
                   "deal_fields": DEAL_FIELDS, "company_fields": COMPANY_FIELDS},
        "results": {"tier_changes": changes, "fan_out_setup_seconds": round(setup_seconds, 2),
                    "bulk_baseline": baseline, "bulk_with_relations": bulk, "rollups_checked": COMPANIES},
    }


def _with_relations(env, actor):
    key = env.runtime().key
    defn = definition()
    forms = {f["key"]: f for f in defn["forms"]}
    forms["deal"]["fields"].extend(DEAL_FIELDS)
    forms["company"]["fields"].extend(COMPANY_FIELDS)
    save_draft(actor, key, defn)
    publish(actor, key)
    runtime = get_runtime(key)
    _wait_for_refreshes(runtime)  # the new fields filled in for the baseline's records
    return runtime


def _bulk(actor, runtime, prefix: str, n: int, size: int) -> dict:
    """Create `n` deals over new companies, request by request; time each and the total."""
    company_ids = service.bulk_create(actor, runtime, "company",
                                      [{"name": f"{prefix} {i + 1}", "tier": "ABC"[i % 3]} for i in range(COMPANIES)])
    rows = data.deals(n, company_ids, seed=23)
    start = time.perf_counter()
    requests = data.load_in_requests(actor, runtime, "deal", rows, size)
    _wait_for_refreshes(runtime)  # rollups of many companies at once are finished in the background
    seconds = time.perf_counter() - start
    return {"records": n, "seconds": round(seconds, 2), "rows_per_second": round(n / seconds),
            "request_seconds": requests, "company_ids": company_ids}


def _rollup_mismatches(runtime, company_ids: list[int]) -> list[int]:
    """Companies whose stored rollups differ from a GROUP BY over their deals."""
    deal, company = runtime.form_tables("deal"), runtime.form_tables("company")
    d, dc = deal.table, deal.columns
    won = sa.func.sum(sa.case((dc["stage"] == "won", dc["amount"]), else_=0))
    fresh = {cid: (float(w or 0), c, str(last)[:10]) for cid, w, c, last in db.session.execute(
        sa.select(dc["company"], won, sa.func.count(d.c.id), sa.func.max(dc["close_date"]))
        .where(dc["company"].in_(company_ids), d.c.deleted_at.is_(None)).group_by(dc["company"]))}
    cc = company.columns
    stored = db.session.execute(sa.select(company.table.c.id, cc["won_total"], cc["deal_count"], cc["last_close"])
                                .where(company.table.c.id.in_(company_ids)))
    empty = (0.0, 0, str(None))  # a company without deals: sum and count 0, no last close
    out = []
    for cid, w, c, last in stored:
        won_fresh, count_fresh, last_fresh = fresh.get(cid, empty)
        if abs(float(w or 0) - won_fresh) > 0.005 or int(c or 0) != count_fresh or str(last)[:10] != last_fresh:
            out.append(cid)
    return sorted(out)


@contextmanager
def _statements():
    """Count the SQL statements sent while the block runs."""
    count = [0]

    def seen(*_args):
        count[0] += 1

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        yield count
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)


def _tier_changes(actor, runtime, fan_out: int) -> tuple[list[dict], float]:
    """One company with `fan_out` deals; change its tier `len(TIERS)` times, timed and checked."""
    started = time.perf_counter()
    cid = service.create(actor, runtime, "company", {"name": "Fan-out customer", "tier": "A"})["id"]
    for i in range(0, fan_out, REQUEST):
        service.bulk_create(actor, runtime, "deal", data.deals(min(REQUEST, fan_out - i), [cid], seed=31, start=i))
    setup = time.perf_counter() - started
    out = []
    config = current_app.config
    limit = config["FORMLOOM_RELATIONS_INLINE"]
    background = min(limit, fan_out // 2)  # a smoke run's small fan-out still goes to the background
    # The last change runs with the inline limit raised: the whole fan-out in the change's own
    # transaction, as before background refreshes, for comparison.
    for tier, inline in [(t, False) for t in TIERS] + [("A", True)]:
        config["FORMLOOM_RELATIONS_INLINE"] = fan_out + 1 if inline else background
        revisions = _deal_revisions(runtime)
        with _statements() as count:
            t0 = time.perf_counter()
            service.update(actor, runtime, "company", cid, {"tier": tier})
            saved = time.perf_counter() - t0
        _wait_for_refreshes(runtime)
        seconds = time.perf_counter() - t0
        linked, current = _check(runtime, cid, tier)
        if linked != fan_out or current != fan_out:
            raise RuntimeError(f"after the change to {tier}: {current} of {linked} deals current, expected {fan_out}")
        out.append({"tier": tier, "inline": inline, "deals": fan_out, "seconds": round(seconds, 3),
                    "saved_seconds": round(saved, 3),
                    "deals_per_second": round(fan_out / seconds), "statements": count[0],
                    "revisions": _deal_revisions(runtime) - revisions})
    config["FORMLOOM_RELATIONS_INLINE"] = limit
    return out, setup


def _wait_for_refreshes(runtime, limit: float = 900.0) -> None:
    """Until no refresh of the app is queued or running (the job runs on the runner's thread)."""
    deadline = time.perf_counter() + limit
    while True:
        db.session.rollback()
        left = db.session.execute(sa.select(sa.func.count()).select_from(RelationRefresh).where(
            RelationRefresh.app_id == runtime.app_id, RelationRefresh.status != "done")).scalar()
        if not left:
            return
        failed = db.session.execute(sa.select(Job.error).join(RelationRefresh, RelationRefresh.job_id == Job.id).where(
            RelationRefresh.app_id == runtime.app_id, Job.status == "failed")).scalars().first()
        if failed:
            raise RuntimeError(f"a background refresh failed: {failed}")
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{left} refreshes still not done after {limit} s")
        time.sleep(0.02)


def _deal_revisions(runtime) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(RecordRevision).where(
        RecordRevision.app_id == runtime.app_id, RecordRevision.form_key == "deal")).scalar()


def _check(runtime, cid: int, tier: str) -> tuple[int, int]:
    """Linked deals, and how many of them have `tier` and the formula it gives (one query)."""
    ft = runtime.form_tables("deal")
    c = ft.columns
    factor = 2 if tier == "A" else 1
    ok = sa.and_(c["company_tier"] == tier, sa.func.abs(c["tier_amount"] - c["amount"] * factor) < 0.005)
    return tuple(db.session.execute(
        sa.select(sa.func.count(), sa.func.sum(sa.case((ok, 1), else_=0)))
        .where(c["company"] == cid, ft.table.c.deleted_at.is_(None))).one())


def format_result(result: dict) -> str:
    r = result["results"]
    rows = [[f"tier -> {c['tier']}" + (" (inline)" if c.get("inline") else ""), c["deals"], c["seconds"], c["deals_per_second"],
             f"saved in {c.get('saved_seconds', c['seconds'])} s ({c['statements']:,} statements), "
             f"{c['revisions']:,} revisions"] for c in r["tier_changes"]]
    for label, b in (("bulk, no relations", r["bulk_baseline"]), ("bulk, with relations", r["bulk_with_relations"])):
        note = f"slowest request {max(b['request_seconds'])} s"
        if "slower_than_baseline" in b:
            note += f", x{b['slower_than_baseline']} the baseline, rollups checked"
        rows.append([label, b["records"], b["seconds"], b["rows_per_second"], note])
    return report.table(f"relations: lookups and rollups kept current ({result['db']})",
                        ["measure", "deals", "seconds", "deals/s", "notes"], rows)
