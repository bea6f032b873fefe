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


def _queries(seen: list[str]) -> list[str]:
    """The statements that ask or change something (not BEGIN / COMMIT)."""
    return [s for s in seen if not s.startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"))]


def _deal_reads(seen: list[str]) -> list[str]:
    return [s for s in seen if re.search(r"^SELECT .* FROM a\d+_deal\b", s)]


def test_a_read_by_id_is_two_queries_when_no_record_waits_for_a_refresh(any_db, client, make):
    """The epoch and the record: whether records are "updating" is not asked of a form none
    of whose records wait for a background refresh."""
    api, deal = _setup(client, make)
    api.get(f"{RECORDS}/{deal}")
    with statements() as seen:
        assert api.get(f"{RECORDS}/{deal}").status_code == 200
    assert len(_queries(seen)) == 2, seen
    assert _touching(seen, "relation_pending") == []


def test_a_create_reads_back_nothing_it_wrote(any_db, client, make):
    """The INSERT returns the row; the revision and the event are one INSERT each."""
    api, deal = _setup(client, make)
    company = api.get(f"{RECORDS}/{deal}").get_json()["fields"]["company"]
    with statements() as seen:
        resp = api.post(RECORDS, json={"fields": {"title": "More", "company": company, "stage": "new", "amount": 5}})
    assert resp.status_code == 201, resp.get_json()
    assert _deal_reads(seen) == [], seen
    assert len(_touching(seen, "record_revisions")) == 1 and len(_touching(seen, "outbox_events")) == 1, seen
    # epoch, the linked company, the record, its revision, its event
    assert len(_queries(seen)) == 5, seen


def test_an_update_reads_the_record_once_and_writes_three_rows(any_db, client, make):
    api, deal = _setup(client, make)
    api.get(f"{RECORDS}/{deal}")
    with statements() as seen:
        assert api.patch(f"{RECORDS}/{deal}", json={"fields": {"amount": 30}}).status_code == 200
    assert len(_deal_reads(seen)) == 1, seen  # what it was; what it is comes back from the UPDATE
    # epoch, the record, the UPDATE, its revision, its event
    assert len(_queries(seen)) == 5, seen


def test_a_list_page_counts_nothing(any_db, client, make):
    """A page is the epoch, the page's ids (with the sort's values), and their records: no
    count of what matches, however many rows there are."""
    api, deal = _setup(client, make)
    company = api.get(f"{RECORDS}/{deal}").get_json()["fields"]["company"]
    api.post(RECORDS, json={"fields": {"title": "Small", "company": company, "stage": "new", "amount": 5}})
    flt = '{"field": "amount", "op": "gte", "value": 1}'
    first = api.get(f"{RECORDS}?limit=1&sort=-amount&filter={flt}").get_json()
    assert first["next_cursor"]
    with statements() as seen:
        page = api.get(f"{RECORDS}?limit=1&sort=-amount&filter={flt}&cursor={first['next_cursor']}")
    assert [r["fields"]["title"] for r in page.get_json()["items"]] == ["Small"]
    assert not [s for s in seen if "count(" in s.lower()], seen
    assert len(_queries(seen)) <= 4, seen  # epoch, ids (values, then blanks), records
