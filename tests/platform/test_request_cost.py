"""What a token request costs the database: authentication is one query, a read by id loads
the record once, a write is one write transaction. Counted in statements, never in time."""
from __future__ import annotations

import re
from contextlib import contextmanager

import sqlalchemy as sa

from formloom.platform.extensions import db

from support_formloom import Api

RECORDS = "/api/v1/apps/sales_mini/forms/deal/records"


@contextmanager
def statements():
    seen: list[str] = []

    def note(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    def commit(conn):
        seen.append("COMMIT")

    sa.event.listen(db.engine, "before_cursor_execute", note)
    sa.event.listen(db.engine, "commit", commit)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", note)
        sa.event.remove(db.engine, "commit", commit)


def _setup(client, make):
    owner = make.user("Owner")
    make.install(owner=owner)
    api = Api(client, make.token(owner))
    company = api.post("/api/v1/apps/sales_mini/forms/company/records", json={"fields": {"name": "Acme"}})
    assert company.status_code == 201, company.get_json()
    deal = api.post(RECORDS, json={"fields": {"title": "Big", "company": company.get_json()["id"],
                                              "stage": "new", "amount": 10}})
    assert deal.status_code == 201, deal.get_json()
    return api, deal.get_json()["id"]


def _touching(seen: list[str], *tables: str) -> list[str]:
    pattern = re.compile(r"\b(" + "|".join(tables) + r")\b")
    return [s for s in seen if pattern.search(s)]


def test_a_token_is_checked_with_one_query(any_db, client, make):
    api, deal = _setup(client, make)
    api.get(f"{RECORDS}/{deal}")  # the token's last use was just noted: no write follows
    with statements() as seen:
        resp = api.get(f"{RECORDS}/{deal}")
    assert resp.status_code == 200, resp.get_json()
    auth = _touching(seen, "api_tokens", "users", "user_roles")
    assert len(auth) == 1, auth


def test_a_read_by_id_loads_the_record_once(any_db, client, make):
    api, deal = _setup(client, make)
    api.get(f"{RECORDS}/{deal}")
    with statements() as seen:
        resp = api.get(f"{RECORDS}/{deal}")
    assert resp.get_json()["fields"]["title"] == "Big"
    deal_table = [s for s in seen if re.search(r"\bFROM a\d+_deal\b", s)]
    assert len(deal_table) == 1, deal_table


def test_an_update_writes_in_one_transaction(any_db, client, make):
    api, deal = _setup(client, make)
    with statements() as seen:
        resp = api.patch(f"{RECORDS}/{deal}", json={"fields": {"amount": 20}})
    assert resp.status_code == 200, resp.get_json()
    transactions, current = [], []
    for statement in seen:
        current.append(statement)
        if statement == "COMMIT":
            transactions.append(current)
            current = []
    writing = [t for t in transactions if any(s.startswith(("INSERT", "UPDATE", "DELETE")) for s in t)]
    assert len(writing) == 1, writing
