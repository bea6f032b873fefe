"""List queries stay index-friendly: what reaches PostgreSQL, and which rows come back."""
import json
from decimal import Decimal
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from formloom.platform.extensions import db
from formloom.runtime.apps import get_runtime
from formloom.runtime.records import query, service
from formloom.runtime.storage import store

from support_formloom import Api, statements


@pytest.mark.parametrize("any_db", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_fractional_numbers_reach_postgresql_as_decimals(any_db, acme):
    # A float parameter makes PostgreSQL cast the NUMERIC column to double precision, and
    # then no index on the column can serve the filter or the cursor.
    actor, rt, company = acme
    service.bulk_create(actor, rt, "deal", [{"title": f"D{i}", "company": company["id"], "amount": i + 0.5}
                                            for i in range(5)])
    sent = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "f_amount" in statement and statement.lstrip().upper().startswith("SELECT"):
            sent.append(parameters)

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        page, cursor = query.list_records(actor, rt, "deal", condition={"field": "amount", "op": "gt", "value": 1.5},
                                          sort="-amount", limit=2)
        rest, _ = query.list_records(actor, rt, "deal", condition={"field": "amount", "op": "gt", "value": 1.5},
                                     sort="-amount", limit=2, cursor=cursor)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    assert [r["fields"]["amount"] for r in page + rest] == [4.5, 3.5, 2.5]
    numbers = [v for params in sent for v in params.values() if isinstance(v, (float, Decimal))]
    assert numbers and all(isinstance(v, Decimal) for v in numbers)


def test_blank_sort_values_come_last_in_both_directions(any_db, acme):
    actor, rt, company = acme
    amounts = [None, 5, None, 1, 3]
    service.bulk_create(actor, rt, "deal", [{"title": f"D{i}", "company": company["id"], "amount": a}
                                            for i, a in enumerate(amounts)])
    for sort, expected in (("-amount", [5, 3, 1, None, None]), ("amount", [1, 3, 5, None, None])):
        seen, cursor = [], None
        while True:  # one record a page: every step crosses the cursor logic
            page, cursor = query.list_records(actor, rt, "deal", sort=sort, limit=1, cursor=cursor)
            seen += [r["fields"]["amount"] for r in page]
            if cursor is None:
                break
        assert seen == expected


def _planned_rows(table: sa.Table) -> float | None:
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            return conn.execute(sa.text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"),
                                {"t": table.name}).scalar()
        return conn.execute(sa.text("SELECT CAST(stat AS INTEGER) FROM sqlite_stat1 WHERE tbl = :t"),
                            {"t": table.name}).scalar()


def test_a_large_bulk_load_leaves_the_planner_fresh_statistics(any_db, acme):
    # Without them planners misjudge which index to use for lists (docs/performance.md).
    actor, rt, company = acme
    service.bulk_create(actor, rt, "deal", [{"title": f"D{i}", "company": company["id"]}
                                            for i in range(store.ANALYZE_FROM)])
    rows = _planned_rows(rt.form_tables("deal").table)
    assert rows is not None and rows >= store.ANALYZE_FROM * 0.9


def test_small_bulk_loads_add_up_to_fresh_statistics(any_db, acme):
    """Loads of a few hundred rows (an HTTP client's batches) leave statistics too, once the
    table has grown: before, only a single load of 5,000 rows did, so the HTTP benchmark's
    100,000 deals in batches of 1,000 were planned with none."""
    actor, rt, company = acme
    for batch in range(3):
        service.bulk_create(actor, rt, "deal", [{"title": f"D{batch}-{i}", "company": company["id"]}
                                                for i in range(store.ANALYZE_FROM // 2)])
    rows = _planned_rows(rt.form_tables("deal").table)
    assert rows is not None and rows >= store.ANALYZE_FROM * 0.9


STAGES = ["new", "qualified", "proposal", "negotiation", "won", "lost"]
LIST_FILTER = json.dumps({"all": [{"field": "stage", "op": "in", "value": ["won", "negotiation"]},
                                  {"field": "amount", "op": "gte", "value": 100_000}]})


def test_a_worker_opened_before_a_load_plans_lists_with_the_new_statistics(app, app_with, make, client):
    """SQLite keeps the statistics a connection read when it opened. A web worker whose
    connection predates a bulk load (made by another worker) sorted every deal of a stage
    for each page; it now plans with the sort's index, as a new connection would."""
    owner = make.user("Owner")
    rt = make.install(owner=owner)
    token = make.token(owner)
    # Statistics exist (of the companies), none yet of the deals.
    companies = service.bulk_create(make.actor(owner), rt, "company",
                                    [{"name": f"C{i}"} for i in range(store.ANALYZE_FROM)])
    other = app_with()  # worker B, pushed on top: its own pool
    worker_b = Api(other.test_client(), token)
    page = f"/api/v1/apps/sales_mini/forms/deal/records?{urlencode({'filter': LIST_FILTER, 'sort': '-amount'})}"
    assert worker_b.get(page).status_code == 200  # B's connection opens before the deals exist
    with app.app_context():  # worker A loads them
        actor = make.actor(owner)
        rt = get_runtime("sales_mini")
        service.bulk_create(actor, rt, "deal", [
            {"title": f"D{i}", "company": companies[i % 50], "stage": STAGES[i % 6], "amount": (i * 7919) % 500_000,
             **({"lost_reason": "Price"} if STAGES[i % 6] == "lost" else {})} for i in range(3_000)])
    for _ in range(2):  # the first request notices, the next one has a fresh connection
        assert worker_b.get(page).status_code == 200
    with statements() as seen:
        assert len(worker_b.get(page).get_json()["items"]) == 50
    listing = next(s for s in seen if "f_stage IN" in s)
    with db.engine.connect() as conn:  # B's pool: the connection its requests use
        literal = listing.replace("?", "{}").format("'won'", "'negotiation'", 100000, 51, 0)
        plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + literal))
    assert "f_amount" in plan and "FOR ORDER BY" not in plan.replace("RIGHT PART OF ORDER BY", ""), plan
