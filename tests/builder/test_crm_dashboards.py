"""The CRM pack's dashboards: every widget answers on the sample data, its numbers equal the
records' own (computed here from the records API), and a sales rep sees only her numbers."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from test_crm_template import everything, org  # noqa: F401  (the installed CRM with its demo org)

from formloom.app_templates import crm

BASE = "/api/v1/apps/crm/dashboards"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def data(api, dashboard: str, widget: str) -> dict:
    resp = api.get(f"{BASE}/{dashboard}/widgets/{widget}/data")
    assert resp.status_code == 200, (dashboard, widget, resp.get_json())
    return resp.get_json()


def column(body: dict, key: str) -> list:
    at = [c["key"] for c in body["columns"]].index(key)
    return [row[at] for row in body["rows"]]


def test_the_dashboards_speak_both_languages():
    zh, en = crm.definition("zh")["dashboards"], crm.definition("en")["dashboards"]
    assert [d["key"] for d in zh] == ["sales_overview", "targets", "payments", "team", "service"]
    assert (zh[0]["name"], en[0]["name"], en[0]["name_en"]) == ("销售总览", "Sales overview", "Sales overview")
    for d in crm.source()["dashboards"]:
        for w in d["widgets"]:
            assert w["title"] != w["title_en"] and w["title_en"], w["key"]
    # the reader's language still picks the title in a Chinese install
    assert zh[0]["widgets"][0]["title"] == "本月赢单" and zh[0]["widgets"][0]["title_en"] == "Won this month"


def test_every_widget_answers_with_the_records_numbers(org, api_as):  # noqa: F811
    api = api_as(org["director"])
    for d in crm.definition("zh")["dashboards"]:
        for w in d["widgets"]:
            body = data(api, d["key"], w["key"])
            assert body["columns"], (d["key"], w["key"])
    opps = everything(api, "opportunity")
    since = (date.today() - timedelta(days=365)).isoformat()
    won = [o for o in opps if o["stage"] == "won" and o["closed_date"] and o["closed_date"] > since]
    assert won
    by_month = data(api, "sales_overview", "won_by_month")
    assert round(sum(column(by_month, "won")), 2) == round(sum(o["amount"] for o in won), 2)
    months = {o["closed_date"][:7] for o in won}
    assert len(by_month["rows"]) == len(months)
    board = data(api, "sales_overview", "leaderboard")
    assert round(sum(column(board, "won")), 2) == round(sum(o["amount"] for o in won), 2)
    assert column(board, "won") == sorted(column(board, "won"), reverse=True)
    open_deals = [o for o in opps if o["stage"] not in ("won", "lost")]
    funnel = data(api, "sales_overview", "funnel")
    assert round(sum(funnel["rows"][i][-1] for i in range(len(funnel["rows"]))), 2) == round(
        sum(o["amount"] for o in open_deals), 2)
    rates = data(api, "team", "conversion")
    total_won = sum(o["stage"] == "won" for o in opps)
    total_lost = sum(o["stage"] == "lost" for o in opps)
    assert (sum(column(rates, "won")), sum(column(rates, "lost"))) == (total_won, total_lost)
    for w_, l_, r_ in zip(column(rates, "won"), column(rates, "lost"), column(rates, "rate"), strict=True):
        assert (r_ is None) if w_ + l_ == 0 else abs(r_ - w_ / (w_ + l_)) < 1e-9
    payments = everything(api, "payment")
    overdue = data(api, "payments", "overdue_amount")
    assert round(overdue["rows"][0][-1], 2) == round(
        sum(p["planned_amount"] for p in payments if p["status"] == "overdue"), 2)
    cycle = data(api, "payments", "cycle_days")["rows"][0][-1]
    assert 0 < cycle < 365  # days from order to payment: plausible
    tickets = everything(api, "ticket")
    scores = [t["satisfaction"] for t in tickets if t["status"] == "closed" and t["satisfaction"]]
    sat = data(api, "service", "satisfaction")
    assert abs(sat["rows"][0][-1] - sum(scores) / len(scores)) < 1e-6 and sat["target"]["value"] == 5
    closed = [t for t in tickets if t["status"] == "closed" and t["resolved_at"]]
    hours = [(_at(t["resolved_at"]) - _at(t["opened_at"])).total_seconds() / 3600 for t in closed]
    resolution = data(api, "service", "resolution")["rows"][0][-1]
    assert closed and abs(resolution - sum(hours) / len(hours)) < 0.06  # each record's hours are rounded to 0.1
    sla = {"urgent": 4, "high": 24, "medium": 48, "low": 72}
    late = [t for t, h in zip(closed, hours, strict=True) if h > sla[t["priority"]] + 0.05]
    assert late and sum(r[1] for r in data(api, "service", "resolved_late")["rows"]) == len(late)
    by_status = data(api, "service", "status_priority")
    assert sum(r[-1] for r in by_status["rows"]) == len(tickets)
    year = str(date.today().year)
    people = [t for t in everything(api, "sales_target") if t["dimension"] == "person" and t["start_date"][:4] == year]
    targets = data(api, "targets", "person")  # the dashboard's target period defaults to this year
    assert len(targets["rows"]) == len({t["owner"] for t in people}) == 4
    for key, field in (("baseline", "baseline_target"), ("challenge", "challenge_target"), ("won", "won_person"), ("received", "received_person")):
        assert round(sum(column(targets, key)), 2) == round(sum(t[field] or 0 for t in people), 2), key
    for won_, base, rate in zip(column(targets, "won"), column(targets, "baseline"), column(targets, "vs_baseline"),
                            strict=True):
        assert abs(rate - won_ / base) < 1e-9


def test_a_rep_sees_only_her_own_numbers(org, api_as):  # noqa: F811
    rep = org["rep3"]
    api = api_as(rep)
    mine = everything(api, "opportunity")
    assert mine and {o["owner"] for o in mine} == {rep.id}
    since = (date.today() - timedelta(days=365)).isoformat()
    won = [o for o in mine if o["stage"] == "won" and o["closed_date"] and o["closed_date"] > since]
    by_month = data(api, "sales_overview", "won_by_month")
    assert round(sum(column(by_month, "won")), 2) == round(sum(o["amount"] for o in won), 2)
    board = data(api, "sales_overview", "leaderboard")
    assert len(board["rows"]) <= 1  # herself only, never the other reps
    everyone = everything(api_as(org["director"]), "opportunity")
    assert sum(o["stage"] == "won" for o in everyone) > sum(o["stage"] == "won" for o in mine)
    rates = data(api, "team", "conversion")
    assert sum(column(rates, "won")) == sum(o["stage"] == "won" for o in mine)
    assert len(data(api, "targets", "person")["rows"]) == 1  # her own target, not her colleagues'
    # region targets sum deals' region links, which the pack keeps from reps: refused, not leaked
    assert api.get(f"{BASE}/targets/widgets/region/data").status_code == 403
