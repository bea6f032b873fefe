"""Keyset pagination: every record exactly once, in order, whatever the sort, on both databases."""
import random

import pytest

from formloom.runtime.records import query, service


@pytest.fixture
def deals(any_db, acme):
    actor, rt, company = acme
    rng = random.Random(5)
    rows = []
    for _ in range(37):
        amount = rng.choice([None, None, 10, 10.5, 200, 3000.25, rng.randint(0, 500)])
        close = rng.choice([None, "2026-01-01", "2026-02-15", f"2025-12-{rng.randint(1, 28):02d}"])
        rows.append({"title": f"Deal {rng.randint(0, 9)}", "company": company["id"], "amount": amount,
                     "close_date": close})
    # Two loads: records within one load share created_at, so ties are broken by id.
    service.bulk_create(actor, rt, "deal", rows[:20])
    service.bulk_create(actor, rt, "deal", rows[20:])
    return actor, rt


def walk(actor, rt, sort, limit, condition=None):
    seen, cursor, pages = [], None, 0
    while True:
        page, cursor = query.list_records(actor, rt, "deal", sort=sort, limit=limit, cursor=cursor,
                                          condition=condition)
        assert len(page) <= limit
        seen.extend(page)
        pages += 1
        if cursor is None:
            return seen, pages


def expected(records, keys):
    """The documented order: each key ascending or descending with empty values last, then id."""
    def value(rec, key):
        return {"$created_at": rec["created_at"], "$id": rec["id"]}.get(key, rec["fields"].get(key))

    out = sorted(records, key=lambda r: r["id"])
    for key, desc in reversed(keys):
        present = [r for r in out if value(r, key) is not None]
        empty = [r for r in out if value(r, key) is None]
        present.sort(key=lambda r: value(r, key), reverse=desc)
        out = present + empty
    return [r["id"] for r in out]


SORTS = [("amount", 5), ("-amount,title", 4), ("close_date,-amount", 7), ("-$created_at", 6),
         ("title,-close_date", 1)]


def test_walking_all_pages_yields_each_record_once_in_order(deals):
    actor, rt = deals
    everything, _ = query.list_records(actor, rt, "deal", limit=500)
    assert len(everything) == 37
    assert sum(r["fields"]["amount"] is None for r in everything) > 3
    for sort, limit in SORTS:
        seen, pages = walk(actor, rt, sort, limit)
        ids = [r["id"] for r in seen]
        assert len(ids) == len(set(ids)) == 37, sort
        keys = [(p.lstrip("-"), p.startswith("-")) for p in sort.split(",")]
        assert ids == expected(everything, keys), sort
        assert pages == -(-37 // limit)
    actor, rt = deals
    cond = {"any": [{"field": "amount", "op": "is_empty"}, {"field": "amount", "op": "gte", "value": 200}]}
    seen, _ = walk(actor, rt, None, 3, cond)
    ids = [r["id"] for r in seen]
    assert ids == sorted(ids, reverse=True) and len(ids) == len(set(ids))
    assert all(r["fields"]["amount"] is None or r["fields"]["amount"] >= 200 for r in seen)
    everything, _ = query.list_records(actor, rt, "deal", limit=500)
    assert len(ids) == sum(r["fields"]["amount"] is None or r["fields"]["amount"] >= 200 for r in everything)
    count, capped = query.count_records(actor, rt, "deal", cond)
    assert (count, capped) == (len(ids), False)

