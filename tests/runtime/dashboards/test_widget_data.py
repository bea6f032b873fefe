"""The widget data fixed point on both databases: every number checked against plain Python
over the records the reader's record list returns (never a GROUP BY of the test's own); a
rep's widgets count only what the rep may list; fields hidden from the rep are refused."""
from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import date, timedelta
from urllib.parse import quote

import pytest

from formloom.app_templates import load_definition
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import Role
from formloom.runtime.dashboards import periods
from formloom.runtime.records import service

from support_formloom import problem

APP = "/api/v1/apps/sales_mini"
DASH = APP + "/dashboards/review/widgets/"
STAGES = ["new", "qualified", "proposal", "negotiation", "won", "lost"]
WON = {"field": "stage", "op": "eq", "value": "won"}
LOST = {"field": "stage", "op": "eq", "value": "lost"}


def widgets() -> list[dict]:
    def w(key, kind, **source):
        return {"key": key, "type": kind, "source": {"form": "deal", **source}}

    return [
        w("by_stage", "bar", dimensions=[{"field": "stage"}],
          measures=[{"agg": "count"}, {"agg": "sum", "field": "amount"}, {"agg": "avg", "field": "amount"},
                    {"agg": "min", "field": "amount"}, {"agg": "max", "field": "close_date"},
                    {"agg": "distinct", "field": "company"}, {"agg": "count", "field": "close_date"}]),
        w("by_month", "line", dimensions=[{"field": "close_date", "bucket": "month"}],
          measures=[{"agg": "sum", "field": "amount", "as": "total"}]),
        w("by_day", "table", dimensions=[{"field": "signed_at", "bucket": "day"}], measures=[{"agg": "count"}]),
        w("by_company", "pie", dimensions=[{"field": "company"}], measures=[{"agg": "count"}]),
        w("by_tier", "bar", dimensions=[{"field": "company.tier"}, {"field": "stage"}],
          measures=[{"agg": "sum", "field": "amount"}]),
        w("rate", "leaderboard", dimensions=[{"field": "$owner"}],
          measures=[{"agg": "count", "as": "won", "where": WON}, {"agg": "count", "as": "lost", "where": LOST},
                    {"ratio": {"of": "won", "to": ["won", "lost"]}, "as": "rate"}], sort="-won"),
        w("top", "bar", dimensions=[{"field": "company"}], measures=[{"agg": "sum", "field": "amount", "as": "total"}],
          sort="-total", limit=2, others=True),
        w("matrix", "pivot", dimensions=[{"field": "company.tier"}, {"field": "stage"}],
          measures=[{"agg": "sum", "field": "amount"}, {"agg": "avg", "field": "amount"}]),
        {"key": "deep", "type": "pivot", "rows": 2, "source": {"form": "deal", "dimensions": [
            {"field": "company.tier"}, {"field": "stage"}, {"field": "$owner"}],
            "measures": [{"agg": "sum", "field": "amount"}, {"agg": "count"}]}},
        {"key": "won_kpi", "type": "kpi", "compare": "previous_period", "target": 1000,
         "period": {"field": "close_date", "range": "this_month"},
         "source": {"form": "deal", "where": WON, "measures": [{"agg": "sum", "field": "amount"}]}},
        w("secret", "bar", dimensions=[{"field": "stage"}], measures=[{"agg": "avg", "field": "probability"}]),
    ]


def definition() -> dict:
    d = load_definition("sales_mini")
    d["timezone"] = "Asia/Shanghai"
    deal = next(f for f in d["forms"] if f["key"] == "deal")
    deal["fields"].append({"key": "signed_at", "type": "datetime", "label": "Signed at"})
    d["dashboards"] = [{"key": "review", "name": "复盘", "name_en": "Review", "widgets": widgets(),
                        "filters": [{"field": "close_date", "kind": "date_range"}, {"field": "stage", "kind": "select"}]}]
    d["roles"] = [{"key": "rep", "name": "Rep"}]
    d["permissions"] = [
        {"form": "company", "to": {"role": "rep"}, "preset": "view_all"},
        {"form": "deal", "to": {"role": "rep"}, "preset": "manage_own", "fields": {"hidden": ["probability"]}},
    ]
    return d


def get(api, widget: str, **params) -> dict:
    resp = api.get(address(widget, "data", **params))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def address(widget: str, what: str, **params) -> str:
    query = "&".join(f"{k}={quote(v if isinstance(v, str) else json.dumps(v))}" for k, v in params.items())
    return DASH + f"{widget}/{what}" + (f"?{query}" if query else "")


def walk(api, **params) -> list[dict]:
    items, cursor = [], None
    while True:
        extra = "&".join(f"{k}={quote(json.dumps(v))}" for k, v in params.items())
        resp = api.get(f"{APP}/forms/deal/records?limit=200" + (f"&cursor={cursor}" if cursor else "")
                       + (f"&{extra}" if extra else ""))
        assert resp.status_code == 200, resp.get_json()
        items += resp.get_json()["items"]
        cursor = resp.get_json()["next_cursor"]
        if cursor is None:
            return items


@pytest.fixture
def world(any_db, app, make, api_as):
    with write_transaction():
        rep_role = Role(key="rep", name="Rep")
        db.session.add(rep_role)
    owner = make.user("Owner", password=None)
    rep = make.user("Rita", password=None, roles=[rep_role])
    rt = make.install(definition(), owner=owner)
    companies = [service.create(make.actor(owner), rt, "company", {"name": n, "tier": t})["id"]
                 for n, t in (("Acme", "A"), ("Beta", "B"), ("Cara", "A"), ("Dino", None))]
    rng = random.Random(17)
    today = periods.today_in("Asia/Shanghai")
    rows = []
    for i in range(60):
        rows.append({"title": f"deal {i}", "company": rng.choice(companies), "stage": rng.choice(STAGES),
                     "amount": rng.choice([None, 100, 250.5, round(rng.uniform(0, 9000), 2)]),
                     "close_date": rng.choice([None, (today - timedelta(days=rng.randint(0, 120))).isoformat()])})
        if rows[-1]["stage"] == "lost":
            rows[-1]["lost_reason"] = "price"
    # Just either side of midnight in Shanghai (UTC+8): 1 March 23:59:59 and 2 March 00:00:00.
    rows[0]["signed_at"] = "2026-03-01T15:59:59Z"
    rows[1]["signed_at"] = "2026-03-01T16:00:00Z"
    rows[2]["signed_at"] = "2026-03-01T16:00:01Z"
    service.bulk_create(make.actor(owner), rt, "deal", rows[:40])
    for row in rows[40:]:
        service.create(make.actor(rep), rt, "deal", row)
    return {"owner": api_as(owner), "rep": api_as(rep), "owner_id": owner.id, "rep_id": rep.id, "today": today}


def column_keys(body):
    return [c["key"] for c in body["columns"]]


def approx(a, b):
    if a is None or b is None:
        return a is b
    return a == pytest.approx(b, abs=0.01)


def test_group_by_a_select_with_every_measure(world):
    body = get(world["owner"], "by_stage")
    assert column_keys(body) == ["stage", "count", "sum_amount", "avg_amount", "min_amount", "max_close_date",
                                 "distinct_company", "count_close_date"]
    records = walk(world["owner"])
    groups = defaultdict(list)
    for r in records:
        groups[r["fields"]["stage"]].append(r["fields"])
    # A select keeps its options' order.
    assert [r[0] for r in body["rows"]] == [s for s in STAGES if s in groups]
    for row in body["rows"]:
        rs = groups[row[0]]
        amounts = [x["amount"] for x in rs if x["amount"] is not None]
        dates = [x["close_date"] for x in rs if x["close_date"]]
        assert row[1] == len(rs)
        assert approx(row[2], sum(amounts) if amounts else None)
        assert approx(row[3], sum(amounts) / len(amounts) if amounts else None)
        assert approx(row[4], min(amounts) if amounts else None)
        assert row[5] == (max(dates) if dates else None)
        assert row[6] == len({x["company"] for x in rs})
        assert row[7] == len(dates)
    assert body["labels"]["stage"]["won"] == "赢单"  # the option's label in the reader's language (Chinese by default)


def test_date_buckets_in_the_app_time_zone(world):
    body = get(world["owner"], "by_month")
    want = defaultdict(float)
    for r in walk(world["owner"]):
        f = r["fields"]
        key = f["close_date"][:7] if f["close_date"] else None
        want[key] += f["amount"] or 0
    got = {row[0]: row[1] or 0 for row in body["rows"]}
    assert got.keys() == want.keys() and all(approx(got[k], want[k]) for k in want)
    assert [r[0] for r in body["rows"]] == sorted(want, key=lambda k: (k is None, k or ""))
    day = {row[0]: row[1] for row in get(world["owner"], "by_day")["rows"]}
    assert day["2026-03-01"] == 1 and day["2026-03-02"] == 2


def test_link_dimensions_give_titles_and_linked_fields(world):
    records = walk(world["owner"])
    body = get(world["owner"], "by_company")
    names = {r[0] for r in body["rows"]}
    assert names <= {"Acme", "Beta", "Cara", "Dino"}
    by_id = defaultdict(int)
    for r in records:
        by_id[r["fields"]["company"]] += 1
    assert sorted(r[1] for r in body["rows"]) == sorted(by_id.values())
    assert {k[0] for k in body["keys"]} == set(by_id)
    # company.tier x stage
    tiers = {1: "A", 2: "B", 3: "A", 4: None}
    company_ids = sorted(by_id)
    tier_of = {cid: tiers[i + 1] for i, cid in enumerate(sorted({*company_ids, *range(company_ids[0], company_ids[0] + 4)}))}
    want = defaultdict(float)
    for r in records:
        want[(tier_of[r["fields"]["company"]], r["fields"]["stage"])] += r["fields"]["amount"] or 0
    got = {(row[0], row[1]): row[2] or 0 for row in get(world["owner"], "by_tier")["rows"]}
    assert got.keys() == want.keys() and all(approx(got[k], want[k]) for k in want)


def test_ratio_of_measures_with_their_own_where(world):
    body = get(world["owner"], "rate")
    assert column_keys(body) == ["$owner", "won", "lost", "rate"]
    records = walk(world["owner"])
    for row, keys in zip(body["rows"], body["keys"], strict=True):
        mine = [r for r in records if r["owner"] == keys[0]]
        won = sum(r["fields"]["stage"] == "won" for r in mine)
        lost = sum(r["fields"]["stage"] == "lost" for r in mine)
        assert row[0] in ("Owner", "Rita")
        assert (row[1], row[2]) == (won, lost)
        assert approx(row[3], won / (won + lost) if won + lost else None)
    assert [r[1] for r in body["rows"]] == sorted((r[1] for r in body["rows"]), reverse=True)


def test_limit_keeps_the_top_and_groups_the_rest_as_others(world):
    body = get(world["owner"], "top")
    totals = defaultdict(float)
    for r in walk(world["owner"]):
        totals[r["fields"]["company"]] += r["fields"]["amount"] or 0
    ranked = sorted(totals.values(), reverse=True)
    assert [k[0] for k in body["keys"]][-1] == "$others" and len(body["rows"]) == 3
    assert approx(body["rows"][0][1], ranked[0]) and approx(body["rows"][1][1], ranked[1])
    assert approx(body["rows"][2][1], sum(ranked[2:]))
    assert body["capped"] == {"limit": 2, "groups": len(totals)}


def test_pivot_subtotals_and_grand_totals_are_computed_not_added(world):
    body = get(world["owner"], "matrix")
    records = walk(world["owner"])
    amounts = [r["fields"]["amount"] for r in records if r["fields"]["amount"] is not None]
    grand = next(t for t in body["totals"] if t["dimensions"] == [])
    assert approx(grand["rows"][0][0], sum(amounts)) and approx(grand["rows"][0][1], sum(amounts) / len(amounts))
    by_stage = next(t for t in body["totals"] if t["dimensions"] == ["stage"])
    for row in by_stage["rows"]:
        xs = [r["fields"]["amount"] for r in records if r["fields"]["stage"] == row[0] and r["fields"]["amount"] is not None]
        assert approx(row[2], sum(xs) / len(xs) if xs else None)


def test_pivot_subtotals_per_level_of_the_row_dimensions(world):
    body = get(world["owner"], "deep")
    sets = {tuple(t["dimensions"]): t for t in body["totals"]}
    assert set(sets) == {("company.tier", "stage"), ("$owner",), (), ("company.tier", "$owner"), ("company.tier",)}
    records = walk(world["owner"])
    companies = {r["id"]: r["fields"]["tier"] for r in walk_companies(world["owner"])}
    for tier_row in sets[("company.tier",)]["rows"]:
        mine = [r for r in records if companies[r["fields"]["company"]] == tier_row[0]]
        assert approx(tier_row[1] or 0, sum(r["fields"]["amount"] or 0 for r in mine)) and tier_row[2] == len(mine)
    by_owner_tier = sets[("company.tier", "$owner")]["rows"]
    assert sum(r[3] for r in by_owner_tier) == len(records)
    assert sets[()]["rows"][0][1] == len(records)


def walk_companies(api) -> list[dict]:
    resp = api.get(f"{APP}/forms/company/records?limit=100")
    assert resp.status_code == 200
    return resp.get_json()["items"]


def test_kpi_compares_with_the_previous_period_and_a_target(world):
    today = world["today"]
    this, before = periods.preset("this_month", today), periods.previous(periods.preset("this_month", today))
    records = walk(world["owner"])

    def won_in(span):
        return sum(r["fields"]["amount"] or 0 for r in records if r["fields"]["stage"] == "won"
                   and r["fields"]["close_date"] and span[0].isoformat() <= r["fields"]["close_date"] <= span[1].isoformat())

    body = get(world["owner"], "won_kpi")
    value, prev = body["rows"][0][0] or 0, body["compare"]["value"] or 0
    assert approx(value, won_in(this)) and approx(prev, won_in(before))
    assert body["compare"]["from"] == before[0].isoformat()
    assert approx(body["target"]["progress"] or 0, value / 1000)
    # The dashboard's date filter replaces the KPI's own period.
    span = (date(2000, 1, 1), today)
    body = get(world["owner"], "won_kpi", f_close_date=f"2000-01-01..{today.isoformat()}")
    assert approx(body["rows"][0][0] or 0, won_in(span))


def test_dashboard_filters_and_the_request_filter_apply(world):
    cond = {"field": "amount", "op": "gte", "value": 200}
    body = get(world["owner"], "by_stage", f_stage="won,lost", filter=cond)
    records = [r for r in walk(world["owner"]) if r["fields"]["stage"] in ("won", "lost")
               and (r["fields"]["amount"] or 0) >= 200]
    assert {r[0]: r[1] for r in body["rows"]} == {s: sum(r["fields"]["stage"] == s for r in records)
                                                  for s in ("won", "lost") if any(r["fields"]["stage"] == s for r in records)}
    problem(world["owner"].get(address("by_stage", "data", f_close_date="someday")), 422)


def test_a_rep_counts_only_what_the_rep_may_list_and_no_hidden_field(world):
    rep = world["rep"]
    theirs = walk(rep)
    assert len(theirs) == 20
    body = get(rep, "by_stage")
    assert sum(r[1] for r in body["rows"]) == 20
    # A widget reading a hidden field is refused; the rest of the dashboard works.
    assert "probability" in problem(rep.get(address("secret", "data")), 403)["detail"]
    problem(rep.get(address("by_stage", "data", filter={"field": "probability", "op": "gt", "value": 1})), 422)
    assert get(world["owner"], "secret")["rows"]
    problem(rep.get(address("nope", "data")), 404)
    problem(rep.get(APP + "/dashboards/nope/widgets/by_stage/data"), 404)


def test_drill_down_finds_exactly_the_records_counted(world):
    owner = world["owner"]
    for widget in ("by_stage", "by_month", "by_tier", "by_company"):
        body = get(owner, widget, f_close_date="last_90_days")
        for row, keys in zip(body["rows"], body["keys"], strict=True):
            drill = owner.get(address(widget, "drill", keys=keys, f_close_date="last_90_days")).get_json()
            found = walk(owner, filter=drill["filter"])
            if widget == "by_stage":
                assert len(found) == row[1]
            elif widget == "by_company":
                assert len(found) == row[1]
            else:
                assert approx(sum(r["fields"]["amount"] or 0 for r in found), row[-1] or 0)
    # A KPI's number: its where and its own period (this month).
    kpi = get(owner, "won_kpi")
    drill = owner.get(address("won_kpi", "drill", keys=[])).get_json()
    assert approx(sum(r["fields"]["amount"] or 0 for r in walk(owner, filter=drill["filter"])), kpi["rows"][0][0] or 0)
    # A measure's own where goes into the drill too.
    body = get(owner, "rate")
    drill = owner.get(address("rate", "drill", keys=body["keys"][0], measure="won")).get_json()
    assert len(walk(owner, filter=drill["filter"])) == body["rows"][0][1]
    problem(owner.get(address("by_stage", "drill", keys=[1, 2, 3])), 422)


def test_empty_data(any_db, app, make, api_as):
    owner = make.user("Owner", password=None)
    make.install(definition(), owner=owner)
    api = api_as(owner)
    assert get(api, "by_stage")["rows"] == []
    body = get(api, "won_kpi")
    assert body["rows"] == [[None]] and body["compare"]["value"] is None and body["compare"]["change"] is None
    assert get(api, "matrix")["totals"][-1]["rows"] == [[None, None]]


def test_the_openapi_document_lists_the_widgets(world):
    from openapi_spec_validator import validate

    doc = world["owner"].get("/api/v1/openapi.json").get_json()
    validate(doc)
    assert DASH + "by_stage/data" in doc["paths"] and DASH + "won_kpi/drill" in doc["paths"]


@pytest.mark.parametrize("widget, what, params", [
    ("by_stage", "drill", {"keys": {"a": 1}}),
    ("by_stage", "drill", {"keys": [[1]]}),
    ("by_stage", "drill", {"keys": [None, None]}),
    ("by_month", "drill", {"keys": ["2026-13"]}),
    ("by_month", "drill", {"keys": [12]}),
    ("by_company", "drill", {"keys": ["Acme"]}),
    ("by_company", "drill", {"keys": [True]}),
    ("by_stage", "drill", {"keys": "[not json"}),
    ("by_stage", "data", {"f_close_date": "2026-02-30..2026-03-01"}),
    ("by_stage", "data", {"f_close_date": "2026-03-01..2026-02-01"}),
    ("by_stage", "data", {"filter": []}),
    ("by_stage", "data", {"filter": {"field": "stage", "op": "zz", "value": 1}}),
])
def test_odd_requests_are_problems_not_crashes(world, widget, what, params):
    resp = world["owner"].get(address(widget, what, **params))
    assert resp.status_code in (400, 422), resp.get_data(as_text=True)


def test_odd_but_fine_requests(world):
    # An empty filter value is "no filter"; an unknown measure in a drill narrows nothing more.
    assert world["owner"].get(address("by_stage", "data", f_close_date="", f_stage="")).status_code == 200
    assert world["owner"].get(address("by_stage", "data", f_close_date="..")).status_code == 200  # all time
    assert world["owner"].get(address("by_stage", "drill", keys=["won"], measure="nope")).status_code == 200
