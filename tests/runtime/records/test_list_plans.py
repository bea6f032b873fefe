"""List queries stay index-friendly: what reaches PostgreSQL, and which rows come back."""
from decimal import Decimal

import pytest
import sqlalchemy as sa

from formloom.platform.extensions import db
from formloom.runtime.records import query, service


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


def test_a_large_bulk_load_leaves_the_planner_fresh_statistics(any_db, acme):
    # Without them planners misjudge which index to use for lists (docs/performance.md).
    actor, rt, company = acme
    table = rt.form_tables("deal").table
    service.bulk_create(actor, rt, "deal", [{"title": f"D{i}", "company": company["id"]}
                                            for i in range(service.ANALYZE_AFTER)])
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            rows = conn.execute(sa.text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"),
                                {"t": table.name}).scalar()
        else:
            rows = conn.execute(sa.text("SELECT CAST(stat AS INTEGER) FROM sqlite_stat1 WHERE tbl = :t"),
                                {"t": table.name}).scalar()
    assert rows is not None and rows >= service.ANALYZE_AFTER * 0.9
