"""The view fixed points on both databases: /views/{view}/records and /views/{view}/groups.

Group counts and totals are checked against numbers this test computes itself from the
records the form's record list returns (never from a GROUP BY); a rep's groups count
exactly the rows the rep can list, and never a field hidden from the rep.
"""
from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from datetime import date, timedelta
from urllib.parse import quote

import pytest
from openapi_spec_validator import validate

from formloom.app_templates import load_definition
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import Role
from formloom.runtime.apps import get_runtime
from formloom.runtime.records import service

from support_formloom import problem

APP = "/api/v1/apps/sales_mini"
STAGES = ["new", "qualified", "proposal", "negotiation", "won", "lost"]


def definition() -> dict:
    d = load_definition("sales_mini")
    # Ordered by a field hidden from reps: not a view they may open.
    d["views"].append({"key": "likely", "form": "deal", "sort": ["-probability"], "columns": ["title", "amount"]})
    d["roles"] = [{"key": "rep", "name": "Rep"}]
    d["permissions"] = [
        {"form": "company", "to": {"role": "rep"}, "preset": "view_all"},
        {"form": "deal", "to": {"role": "rep"}, "preset": "manage_own", "fields": {"hidden": ["probability"]}},
    ]
    return d


def url(path: str, **params) -> str:
    if not params:
        return APP + path
    return APP + path + "?" + "&".join(
        f"{k}={quote(v if isinstance(v, str) else json.dumps(v))}" for k, v in params.items())


def get(api, path: str, **params) -> dict:
    resp = api.get(url(path, **params))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def walk(api, path: str, **params) -> list[dict]:
    """Every record of a listing, page by page."""
    items, cursor = [], None
    while True:
        page = get(api, path, limit="7", **params, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def deal_rows(rng: random.Random, company_id: int, n: int) -> list[dict]:
    rows = []
    for i in range(n):
        rows.append({
            "title": f"deal {i:03d}", "company": company_id,
            "stage": rng.choice(STAGES[:4]),  # "won" and "lost" are set below, some
            "amount": rng.choice([None, round(rng.uniform(0, 90000), 2), 1000]),
            "probability": rng.choice([10, 25, 50, 90]),
            "close_date": rng.choice([None, (date(2025, 11, 1) + timedelta(days=rng.randint(0, 500))).isoformat()]),
        })
    return rows


@pytest.fixture
def world(any_db, app, make, api_as):
    with write_transaction():
        rep_role = Role(key="rep", name="Rep")
        db.session.add(rep_role)
    owner = make.user("Owner", password=None)
    rep = make.user("Rita", password=None, roles=[rep_role])
    other = make.user("Otto", password=None, roles=[db.session.merge(rep_role)])
    rt = make.install(definition(), owner=owner)
    company = service.create(make.actor(owner), rt, "company", {"name": "Acme"})
    rng = random.Random(15)
    service.bulk_create(make.actor(owner), rt, "deal", deal_rows(rng, company["id"], 40))
    for user, n in ((rep, 30), (other, 20)):  # reps may not import: one by one
        for row in deal_rows(rng, company["id"], n):
            del row["probability"]  # hidden from reps: they leave it to its default
            service.create(make.actor(user), rt, "deal", row)
    rt = get_runtime("sales_mini")
    for rec_id in (1, 5, 41, 42):
        service.update(make.actor(owner), rt, "deal", rec_id + 0, {"stage": "won"})
    return {"owner": api_as(owner), "rep": api_as(rep), "owner_user": owner, "rep_user": rep}


def expected_groups(records: list[dict], key, totals: dict[str, str]) -> dict:
    """{group value: (count, {field: total})} computed in Python from listed records."""
    members = defaultdict(list)
    for r in records:
        members[key(r)].append(r)
    out = {}
    for value, rows in members.items():
        sums = {}
        for field, agg in totals.items():
            values = [r["fields"][field] for r in rows if r["fields"][field] is not None]
            if agg == "sum":
                sums[field] = round(sum(values), 2) if values else None
            elif agg == "avg":
                sums[field] = sum(values) / len(values) if values else None
            elif agg == "min":
                sums[field] = min(values) if values else None
            elif agg == "max":
                sums[field] = max(values) if values else None
            elif agg == "count":
                sums[field] = len(values)
            else:
                sums[field] = len(rows) - len(values)
        out[value] = (len(rows), sums)
    return out


def as_map(body: dict) -> dict:
    return {g["value"]: (g["count"], g["totals"]) for g in body["groups"] if g["count"]}


def close(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    for k in a:
        (na, ta), (nb, tb) = a[k], b[k]
        if na != nb or ta.keys() != tb.keys():
            return False
        for f in ta:
            if (ta[f] is None) != (tb[f] is None):
                return False
            if ta[f] is not None and ta[f] != pytest.approx(tb[f], abs=0.01):
                return False
    return True


def test_view_records_apply_the_view_filter_and_sort_and_the_request_filter(world):
    owner, rep = world["owner"], world["rep"]
    mine = walk(owner, "/views/my_deals/records")
    # The view's filter: the owner's own deals, in the view's sort (close date, blanks last, then title).
    assert len(mine) == 40 and {r["owner"] for r in mine} == {world["owner_user"].id}
    keys = [(r["fields"]["close_date"] is None, r["fields"]["close_date"] or "", r["fields"]["title"]) for r in mine]
    assert keys == sorted(keys)
    # The same record shape as the form's list.
    form_list = {r["id"]: r for r in walk(owner, "/forms/deal/records")}
    assert all(form_list[r["id"]] == r for r in mine)
    # A request filter is ANDed; a request sort wins.
    big = walk(owner, "/views/my_deals/records", filter={"field": "amount", "op": "gte", "value": 1000}, sort="-amount,$id")
    assert {r["id"] for r in big} == {r["id"] for r in mine if (r["fields"]["amount"] or 0) >= 1000}
    amounts = [r["fields"]["amount"] for r in big]
    assert amounts == sorted(amounts, reverse=True)
    # The rep's "my deals" are the rep's, without the hidden field.
    reps = walk(rep, "/views/my_deals/records")
    assert len(reps) == 30 and all("probability" not in r["fields"] for r in reps)
    # The pipeline shows the rep only the rep's rows (the grant), all of them.
    assert {r["id"] for r in walk(rep, "/views/pipeline/records")} == {r["id"] for r in walk(rep, "/forms/deal/records")}
    # Bad input: a problem, never a 500.
    problem(rep.get(url("/views/my_deals/records", filter={"field": "probability", "op": "gt", "value": 1})), 422)
    problem(rep.get(url("/views/my_deals/records", sort="-probability")), 422)
    problem(owner.get(url("/views/my_deals/records", filter="{not json")), 422)
    problem(owner.get(url("/views/my_deals/records", limit="0")), 422)
    problem(owner.get(url("/views/my_deals/records", cursor="garbage")), 422)
    problem(owner.get(url("/views/nope/records")), 404)
    problem(owner.get("/api/v1/apps/nope/views/my_deals/records"), 404)


def test_kanban_groups_count_and_total_what_the_reader_may_list(world):
    owner, rep = world["owner"], world["rep"]
    body = get(owner, "/views/pipeline/groups")
    assert body["group_by"] == {"field": "stage"}
    # Columns in the option order, every option (0 when none), then the empty column.
    assert [g["value"] for g in body["groups"]] == [*STAGES, None]
    every = walk(owner, "/forms/deal/records")
    want = expected_groups(every, lambda r: r["fields"]["stage"], {"amount": "sum", "weighted": "sum"})
    assert close(as_map(body), want), (as_map(body), want)
    assert sum(g["count"] for g in body["groups"]) == 90
    # A request filter is ANDed.
    cond = {"field": "amount", "op": "gt", "value": 5000}
    body = get(owner, "/views/pipeline/groups", filter=cond)
    want = expected_groups([r for r in every if (r["fields"]["amount"] or 0) > 5000],
                           lambda r: r["fields"]["stage"], {"amount": "sum", "weighted": "sum"})
    assert close(as_map(body), want)
    # The rep: the rep's rows only, and no total of what is computed from a hidden field.
    body = get(rep, "/views/pipeline/groups")
    theirs = walk(rep, "/views/pipeline/records")
    assert sum(g["count"] for g in body["groups"]) == len(theirs) == 30
    assert close(as_map(body), expected_groups(theirs, lambda r: r["fields"]["stage"], {"amount": "sum"}))
    assert all(set(g["totals"]) == {"amount"} for g in body["groups"])
    # Hidden fields are unknown fields to the rep, as in the record list.
    for params in ({"totals": "probability:avg"}, {"totals": "weighted:sum"}, {"group_by": "probability"},
                   {"filter": {"field": "probability", "op": "gt", "value": 1}}):
        problem(rep.get(url("/views/pipeline/groups", **params)), 422)


@pytest.mark.parametrize("bucket", ["day", "week", "month", "quarter", "year"])
def test_table_groups_by_a_date_bucket_with_totals(world, bucket):
    owner = world["owner"]
    totals = {"amount": "max", "probability": "avg", "close_date": "min", "title": "empty"}
    body = get(owner, "/views/my_deals/groups", group_by="close_date", bucket=bucket,
               totals=",".join(f"{k}:{v}" for k, v in totals.items()))
    mine = walk(owner, "/views/my_deals/records")

    def key(r):
        text = r["fields"]["close_date"]
        if text is None:
            return None
        d = date.fromisoformat(text)
        return {"day": d.isoformat(), "week": (d - timedelta(days=d.weekday())).isoformat(),
                "month": d.strftime("%Y-%m"), "quarter": f"{d.year}-Q{(d.month + 2) // 3}", "year": str(d.year)}[bucket]

    want = expected_groups(mine, key, {k: v for k, v in totals.items() if k != "close_date"})
    got = as_map(body)
    assert close({k: (n, {f: t for f, t in tt.items() if f != "close_date"}) for k, (n, tt) in got.items()}, want)
    # Chronological, blanks last; the least close date of each group lies in it.
    values = [g["value"] for g in body["groups"]]
    assert values == sorted(v for v in values if v is not None) + ([None] if None in values else [])
    for g in body["groups"]:
        if g["value"] is not None:
            assert key({"fields": {"close_date": g["totals"]["close_date"]}}) == g["value"]


def test_groups_by_user_and_link_and_bad_groupings(world):
    owner = world["owner"]
    body = get(owner, "/views/pipeline/groups", group_by="$owner", totals="amount:count")
    every = walk(owner, "/forms/deal/records")
    assert close(as_map(body), expected_groups(every, lambda r: r["owner"], {"amount": "count"}))
    assert [g["value"] for g in body["groups"]] == sorted(g["value"] for g in body["groups"])
    body = get(owner, "/views/pipeline/groups", group_by="company")
    assert [(g["value"], g["count"]) for g in body["groups"]] == [(every[0]["fields"]["company"], 90)]
    for params in ({"group_by": "title"}, {"group_by": "amount"}, {"group_by": "ghost"},
                   {"group_by": "close_date", "bucket": "fortnight"}, {"group_by": "stage", "bucket": "day"},
                   {"totals": "title:sum"}, {"totals": "amount:median"}):
        problem(owner.get(url("/views/pipeline/groups", **params)), 422)
    # A view with no grouping needs one in the request.
    problem(owner.get(url("/views/closing/groups")), 422)


ZONED = {"key": "zoned", "name": "Zoned", "timezone": "Asia/Shanghai", "forms": [
    {"key": "visit", "name": "Visit", "fields": [{"key": "at", "type": "datetime"}, {"key": "n", "type": "number"}]}],
    "views": [{"key": "by_day", "form": "visit", "group_by": {"field": "at", "bucket": "day"}, "totals": {"n": "sum"}}]}


def test_a_moment_is_bucketed_in_the_app_time_zone(any_db, app, make, api_as):
    owner = make.user("Owner", password=None)
    rt = make.install(ZONED, owner=owner)
    for at, n in [("2026-03-31T15:59:59Z", 1), ("2026-03-31T16:00:00Z", 2), ("2026-04-01T10:00:00Z", 4),
                  ("2026-12-31T17:00:00Z", 8)]:
        service.create(make.actor(owner), rt, "visit", {"at": at, "n": n})
    api = api_as(owner)
    resp = api.get("/api/v1/apps/zoned/views/by_day/groups")
    assert resp.status_code == 200, resp.get_json()
    got = [(g["value"], g["count"], g["totals"]["n"]) for g in resp.get_json()["groups"]]
    # 16:00 UTC is midnight in Shanghai: the next day there.
    assert got == [("2026-03-31", 1, 1), ("2026-04-01", 2, 6), ("2027-01-01", 1, 8)]
    resp = api.get("/api/v1/apps/zoned/views/by_day/groups?bucket=year")
    assert [(g["value"], g["count"]) for g in resp.get_json()["groups"]] == [("2026", 3), ("2027", 1)]
    counts = Counter(g["value"] for g in resp.get_json()["groups"])
    assert max(counts.values()) == 1


def test_a_view_reading_a_hidden_field_is_no_view_for_that_reader_and_openapi_agrees(world):
    owner, rep = world["owner"], world["rep"]
    assert len(walk(owner, "/views/likely/records")) == 90
    problem(rep.get(url("/views/likely/records")), 404)
    problem(rep.get(url("/views/likely/groups", group_by="stage")), 404)
    for who, views in ((owner, {"pipeline", "my_deals", "closing", "likely"}), (rep, {"pipeline", "my_deals", "closing"})):
        doc = who.get("/api/v1/openapi.json").get_json()
        validate(doc)
        listed = {p.split("/")[6] for p in doc["paths"] if p.startswith(APP + "/views/")}
        assert listed == views
        assert {"get"} == set(doc["paths"][f"{APP}/views/pipeline/groups"])
        ref = doc["paths"][f"{APP}/views/my_deals/records"]["get"]["responses"]["200"]["content"]["application/json"]
        assert ref["schema"]["properties"]["items"]["items"] == {"$ref": "#/components/schemas/SalesMiniDeal"}


def test_the_definition_a_rep_reads_lists_the_views_they_may_open_without_hidden_fields(world):
    rep = world["rep"]
    views = {v["key"]: v for v in get(rep, "/definition")["views"]}
    assert set(views) == {"pipeline", "my_deals", "closing"}
    assert views["my_deals"]["columns"] == ["title", "company", "stage", "amount", "close_date"]
    assert views["my_deals"]["totals"] == {"amount": "sum"}
    assert views["pipeline"]["totals"] == {"amount": "sum"}  # weighted is computed from a hidden field
    assert "probability" not in json.dumps(views) and "weighted" not in json.dumps(views)


def test_each_group_pages_on_its_own_with_the_count_its_group_says(world):
    owner, rep = world["owner"], world["rep"]
    for who in (owner, rep):
        for g in get(who, "/views/pipeline/groups")["groups"]:
            items = walk(who, "/views/pipeline/records", group=g["value"])
            assert len(items) == g["count"]
            assert all(r["fields"]["stage"] == g["value"] for r in items)
            amounts = [r["fields"]["amount"] for r in items]  # the view's sort: -amount, blanks last
            assert amounts == sorted((a for a in amounts if a is not None), reverse=True) + [None] * amounts.count(None)
    # A value as JSON or as plain text; a date bucket; a user.
    won = sum(1 for r in walk(owner, "/forms/deal/records") if r["fields"]["stage"] == "won")
    assert won >= 4
    assert len(walk(owner, "/views/pipeline/records", group="won")) == won
    assert len(walk(owner, "/views/pipeline/records", group='"won"')) == won
    for g in get(owner, "/views/my_deals/groups", group_by="close_date", bucket="quarter")["groups"]:
        items = walk(owner, "/views/my_deals/records", group=g["value"], group_by="close_date", bucket="quarter")
        assert len(items) == g["count"]
    for g in get(owner, "/views/pipeline/groups", group_by="$owner")["groups"]:
        assert len(walk(owner, "/views/pipeline/records", group=g["value"], group_by="$owner")) == g["count"]
    problem(owner.get(url("/views/pipeline/records", group=12)), 422)  # a stage is text
    problem(owner.get(url("/views/pipeline/records", group="x", group_by="$owner")), 422)
    problem(owner.get(url("/views/closing/records", group="won")), 422)  # no grouping to page by
    problem(rep.get(url("/views/pipeline/records", group=10, group_by="probability")), 422)
