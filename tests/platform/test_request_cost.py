"""What a token request costs the database: authentication is one query, a read by id loads
the record once, a write is one write transaction. Counted in statements, never in time."""
from __future__ import annotations

import re

from support_formloom import Api, statements

RECORDS = "/api/v1/apps/sales_mini/forms/deal/records"


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


def test_a_known_token_costs_one_query_of_the_cache_epoch(any_db, client, make):
    """Token, user, roles, membership and the app's published version come from the process's
    cache once verified: the request reads the epoch row, and nothing else about who is asking."""
    api, deal = _setup(client, make)
    api.get(f"{RECORDS}/{deal}")  # the token's last use was just noted: no write follows
    with statements() as seen:
        resp = api.get(f"{RECORDS}/{deal}")
    assert resp.status_code == 200, resp.get_json()
    assert _touching(seen, "api_tokens", "users", "user_roles", "roles", "app_members", "apps") == []
    assert len(_touching(seen, "cache_epoch")) == 1, seen


def test_an_unknown_token_is_checked_every_time(any_db, client, make):
    _setup(client, make)
    for _ in range(2):
        with statements() as seen:
            resp = client.get(f"{RECORDS}/1", headers={"Authorization": "Bearer flt_never-issued"})
        assert resp.status_code == 401
        assert len(_touching(seen, "api_tokens")) == 1, seen


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
