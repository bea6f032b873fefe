"""Filling the deal form with many rows: through `bulk_create` (the real path) or plain SQL.

The SQL path writes the form's own table only, in one `INSERT ... SELECT` over a generated
series, with the values `service.create` would store (the formula included); it writes no
revisions or outbox events, which listing never reads. Amounts are a permutation of
5,000.00-499,999.99, so the data are the same on every database and every run.
"""
from __future__ import annotations

import sqlalchemy as sa

from benchmarks import data
from formloom.platform.extensions import db, write_transaction
from formloom.runtime.records import service

STAGES = "CASE s.i % 6 " + " ".join(f"WHEN {n} THEN '{v}'" for n, v in enumerate(data.STAGES)) + " END"
PROBABILITY = "CASE s.i % 5 WHEN 0 THEN 10 WHEN 1 THEN 25 WHEN 2 THEN 50 WHEN 3 THEN 75 ELSE 90 END"
AMOUNT = "5000 + (s.i * 104729 % 49500000) / 100.0"  # 104729 is prime: no two rows share an amount

SERIES = {
    "postgresql": ("", "generate_series(CAST(1 AS BIGINT), CAST(:n AS BIGINT)) AS s(i)"),
    "sqlite": ("WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < :n) ", "g AS s"),
}
TIMESTAMP = {
    "postgresql": "TIMESTAMP '2026-01-01 00:00:00' + s.i * INTERVAL '1 second'",
    "sqlite": "datetime('2026-01-01', '+' || s.i || ' seconds') || '.000000'",
}
DATE = {
    "postgresql": "DATE '2026-01-01' + CAST(s.i % 365 AS INTEGER)",
    "sqlite": "date('2026-01-01', '+' || (s.i % 365) || ' days')",
}


def load_via_service(actor, runtime, n: int, company_ids: list[int], request: int = 10_000) -> None:
    """Create `n` deals with `service.bulk_create`, `request` rows at a time."""
    for start in range(0, n, request):
        rows = data.deals(min(request, n - start), company_ids, start=start)
        service.bulk_create(actor, runtime, "deal", rows)


def insert_sql(runtime, dialect: str) -> str:
    """The `INSERT ... SELECT` that writes `:n` deals into the form's table."""
    ft = runtime.form_tables("deal")
    col = {key: ft.columns[key].name for key in ft.columns}
    prefix, series = SERIES[dialect]
    inner = (f"SELECT s.i, {TIMESTAMP[dialect]} AS ts, {STAGES} AS stage, {AMOUNT} AS amount, "
             f"{PROBABILITY} AS probability, {DATE[dialect]} AS close_date FROM {series}")
    return (
        f"{prefix}INSERT INTO {ft.table.name} (created_at, created_by, updated_at, updated_by, owner_id, version, "
        f"{col['title']}, {col['company']}, {col['stage']}, {col['amount']}, {col['probability']}, "
        f"{col['weighted']}, {col['close_date']}, {col['lost_reason']}) "
        "SELECT ts, :user, ts, :user, :user, 1, 'Deal ' || s.i, :first_company + s.i % :companies, "
        "stage, amount, probability, ROUND(amount * probability / 100, 2), close_date, "
        f"CASE WHEN stage = 'lost' THEN 'Price' END FROM ({inner}) AS s"
    )


def load_via_sql(runtime, n: int, company_ids: list[int], user_id: int) -> None:
    """Insert `n` deals with one statement, then ANALYZE so the planner knows the table."""
    first = min(company_ids)
    if sorted(company_ids) != list(range(first, first + len(company_ids))):
        raise RuntimeError("the SQL loader expects consecutive company ids")
    dialect = db.engine.dialect.name
    with write_transaction():
        db.session.execute(sa.text(insert_sql(runtime, dialect)),
                           {"n": n, "user": user_id, "first_company": first, "companies": len(company_ids)})
    with write_transaction():
        db.session.execute(sa.text(f"ANALYZE {runtime.form_tables('deal').table.name}"))
