"""A dashboard's page: in the app's navigation, its filter bar in the URL, one card per
widget with its data address; a number's records open in the list (drill-down) and count
what the widget said; a widget's rows download as CSV and Excel; both languages."""
from __future__ import annotations

import csv
import io
import json
from urllib.parse import parse_qs, urlparse

import pytest

from formloom.app_templates import load_definition
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import Role
from formloom.runtime.records import service

APP = "/a/sales_mini"
DASH = APP + "/dashboards/sales_review"


@pytest.fixture
def world(make, owner):
    with write_transaction():
        db.session.add(Role(key="rep", name="Rep"))
    rep = make.user("Rita Rep", roles=[db.session.query(Role).filter_by(key="rep").one()])
    d = load_definition("sales_mini", "en")
    d["roles"] = [{"key": "rep", "name": "Rep"}]
    d["permissions"] = [
        {"form": "company", "to": {"role": "rep"}, "preset": "view_all"},
        {"form": "deal", "to": {"role": "rep"}, "preset": "manage_own"}]
    rt = make.install(d, owner=owner)
    acme = service.create(make.actor(owner), rt, "company", {"name": "Acme", "tier": "A"})["id"]
    for title, stage, amount, who in (("Alpha", "new", 1000, owner), ("Beta", "won", 2500.5, owner),
                                      ("Gamma", "won", 40000, rep), ("Delta", "proposal", None, rep)):
        service.create(make.actor(who), rt, "deal", {"title": title, "company": acme, "stage": stage,
                                                      "amount": amount, "close_date": "2026-02-10"})
    return rt, rep


def test_the_page_lists_its_widgets_and_the_nav_its_dashboards(client, auth, owner, world, html):
    auth.login(owner.email)
    home = html(client.get("/"))  # the person's home lists the dashboards they can open
    assert [a.text for a in home.one("ul", data_my_dashboards="").select("a")] == ["Sales review"]
    page = html(client.get(APP))
    nav = page.one("ul", data_dashboards_nav="")
    assert [a.text.strip() for a in nav.select("a")] == ["Sales review"]
    resp = client.get(DASH)
    assert resp.status_code == 200
    page = html(resp)
    cards = page.select("section", cls="fl-widget")
    assert [c.attrs["data-widget"] for c in cards] == ["won_month", "won_count", "win_rate", "pipeline", "by_month",
                                                       "by_owner", "tier_stage", "by_industry"]
    assert page.one("h2", id="w-pipeline").text == "Pipeline"
    # Each card's data address answers the page's session with the fixed-point shape.
    url = next(c for c in cards if c.attrs["data-widget"] == "pipeline").attrs["data-url"]
    body = client.get(url).get_json()
    assert body["columns"][0]["key"] == "stage" and {r[0]: r[1] for r in body["rows"]}["won"] == 2
    # The filter bar keeps its values in the URL and in every card's address.
    page = html(client.get(DASH + "?f_close_date=last_year"))
    assert "f_close_date=last_year" in page.select("section", cls="fl-widget")[0].attrs["data-url"]
    selected = [o for o in page.one("select", name="f_close_date").select("option") if "selected" in o.attrs]
    assert [o.attrs["value"] for o in selected] == ["last_year"]
    # Scripts are files (the CSP allows no inline script).
    assert any("dashboards.js" in s.attrs.get("src", "") for s in page.select("script"))
    assert client.get(APP + "/dashboards/nope").status_code == 404


def test_drill_down_lands_on_the_records_counted(client, auth, owner, world, html):
    auth.login(owner.email)
    body = client.get("/api/v1/apps/sales_mini/dashboards/sales_review/widgets/pipeline/data").get_json()
    row = body["keys"].index(["won"])
    resp = client.get(f"{DASH}/widgets/pipeline/drill?keys={json.dumps(['won'])}&measure=count")
    assert resp.status_code == 302
    target = urlparse(resp.headers["Location"])
    assert target.path == APP + "/f/deal" and json.loads(parse_qs(target.query)["filter"][0])
    page = html(client.get(resp.headers["Location"]))
    titles = sorted(a.text for a in page.select("a", cls="fl-cell-title"))
    assert titles == ["Beta", "Gamma"] and len(titles) == body["rows"][row][1]
    assert page.one("span", data_given_filter="")
    # A filter that does not fit the form is said, and every record shown.
    page = html(client.get(APP + "/f/deal?filter=" + json.dumps({"field": "nope", "op": "eq", "value": 1})))
    assert "cannot be used" in page.text and len(page.select("a", cls="fl-cell-title")) == 4


def test_a_rep_sees_only_their_numbers(client, auth, world):
    _rt, rep = world
    auth.login(rep.email)
    body = client.get("/api/v1/apps/sales_mini/dashboards/sales_review/widgets/by_owner/data").get_json()
    assert [r[0] for r in body["rows"]] == ["Rita Rep"] and body["rows"][0][1:] == [40000, 2]


def test_a_widget_downloads_as_csv_and_excel(client, auth, owner, world):
    auth.login(owner.email)
    resp = client.get(f"{DASH}/widgets/by_owner/export?format=csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["Owner", "Amount", "Deals"]
    assert sorted(rows[1:]) == [["Olga Owner", "3500.5", "2"], ["Rita Rep", "40000", "2"]]
    resp = client.get(f"{DASH}/widgets/by_owner/export?format=xlsx")
    assert resp.status_code == 200 and resp.data[:2] == b"PK"
    assert client.get(f"{DASH}/widgets/by_owner/export?format=pdf").status_code == 422


def test_the_page_in_chinese(client, auth, owner, make):
    make.install(load_definition("sales_mini", "zh"), owner=owner)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    auth.login(owner.email)
    text = client.get(DASH).get_data(as_text=True)
    assert "销售复盘" in text and "销售漏斗" in text and "加载中" in text and "本季度" in text
