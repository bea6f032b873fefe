"""A view's page: its columns and sort, groups with counts and totals, a totals row, the
empty state, in both languages; the app's navigation lists the views a reader may open."""
from __future__ import annotations

import pytest

from formloom.app_templates import load_definition
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import Role
from formloom.runtime.records import service

APP = "/a/sales_mini"


@pytest.fixture
def world(make, owner):
    with write_transaction():
        db.session.add(Role(key="rep", name="Rep"))
    rep = make.user("Rita Rep", roles=[db.session.query(Role).filter_by(key="rep").one()])
    d = load_definition("sales_mini")
    d["views"].append({"key": "likely", "form": "deal", "name": "Likely", "sort": ["-probability"]})
    d["roles"] = [{"key": "rep", "name": "Rep"}]
    d["permissions"] = [
        {"form": "company", "to": {"role": "rep"}, "preset": "view_all"},
        {"form": "deal", "to": {"role": "rep"}, "preset": "manage_own", "fields": {"hidden": ["probability"]}}]
    rt = make.install(d, owner=owner)
    return rt, rep


def deal(make, user, rt, company, title, stage, amount, close):
    service.create(make.actor(user), rt, "deal", {"title": title, "company": company, "stage": stage,
                                                   "amount": amount, "close_date": close})


def test_a_table_view_shows_its_columns_groups_and_totals(client, auth, make, owner, world, html):
    rt, _rep = world
    auth.login(owner.email)
    empty = html(client.get(f"{APP}/v/my_deals"))
    assert "Nothing in this view yet" in empty.one(cls="fl-empty").text
    acme = service.create(make.actor(owner), rt, "company", {"name": "Acme"})["id"]
    deal(make, owner, rt, acme, "Alpha", "new", 100, "2026-01-05")
    deal(make, owner, rt, acme, "Beta", "won", 250.5, "2026-02-01")
    deal(make, owner, rt, acme, "Gamma", "won", 1000, None)
    resp = client.get(f"{APP}/v/my_deals")
    assert resp.status_code == 200
    page = html(resp)
    table = page.one("table", **{"data-view-records": ""})
    heads = [th.text.strip() for th in table.select("th")]
    assert heads == ["Title", "Company", "Stage", "Amount", "Probability %", "Expected close"]
    titles = [a.text for a in table.select("a", cls="fl-cell-title")]
    assert titles == ["Alpha", "Beta", "Gamma"]  # the view's sort: close date, blanks last
    totals = page.one(**{"data-view-totals": ""}).text
    assert "Sum · Amount" in totals and "1,350.50" in totals and "Average · Probability %" in totals
    # The reader's own sort, in the URL.
    page = html(client.get(f"{APP}/v/my_deals?sort=-amount"))
    assert [a.text for a in page.select("a", cls="fl-cell-title")] == ["Gamma", "Beta", "Alpha"]
    # Grouped by stage: every option, its count and its sum.
    page = html(client.get(f"{APP}/v/my_deals?group_by=stage"))
    groups = {tr.one("th").text: [td.text for td in tr.select("td")] for tr in
              page.one("table", **{"data-view-groups": ""}).one("tbody").select("tr")}
    assert groups["Won"][0] == "2" and groups["Won"][1] == "1,250.50"
    assert groups["New"][0] == "1" and groups["Proposal"][0] == "0" and groups["(empty)"][0] == "0"
    # One group's records: its row links to them.
    links = [a.attrs["href"] for a in page.one("table", **{"data-view-groups": ""}).select("a")]
    assert any("group=%22won%22" in h for h in links) and len(links) == 2  # groups with records only
    won = html(client.get(f"{APP}/v/my_deals?group_by=stage&group=won"))
    assert [a.text for a in won.one("table", **{"data-view-records": ""}).select("a", cls="fl-cell-title")] == ["Beta", "Gamma"]
    assert won.one(**{"data-all-groups": ""}).text.strip() == "All groups"
    # By month of the close date.
    assert page.select("select", name="bucket") == []  # grouped by stage: no date buckets offered
    page = html(client.get(f"{APP}/v/my_deals?group_by=close_date&bucket=month"))
    assert page.value("bucket") == "month"
    groups = [tr.one("th").text for tr in page.one("table", **{"data-view-groups": ""}).one("tbody").select("tr")]
    assert groups == ["2026-01", "2026-02", "(empty)"]
    # A grouping the field cannot have is said, not a 500.
    page = html(client.get(f"{APP}/v/my_deals?group_by=title"))
    assert "Cannot group by" in page.one(cls="alert").text
    # The navigation lists the views.
    nav = [a.text.strip() for a in html(client.get(APP)).one(**{"data-views-nav": ""}).select("a")]
    assert nav == ["Pipeline", "My deals", "Close dates", "Likely"]


def test_a_rep_sees_their_rows_and_not_a_view_on_a_hidden_field_in_chinese(client, auth, make, owner, world, html):
    rt, rep = world
    acme = service.create(make.actor(owner), rt, "company", {"name": "Acme"})["id"]
    deal(make, owner, rt, acme, "Owner's", "new", 5, None)
    deal(make, rep, rt, acme, "Rita's", "new", 7, None)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    auth.login(rep.email)
    page = html(client.get(f"{APP}/v/my_deals?group_by=stage"))
    assert [a.text for a in page.select("a", cls="fl-cell-title")] == ["Rita's"]
    assert "概率" not in page.text and "Probability" not in page.text
    groups = page.one("table", **{"data-view-groups": ""})
    assert "记录" in groups.one("thead").text  # Records, in Chinese
    nav = [a.text.strip() for a in html(client.get(APP)).one(**{"data-views-nav": ""}).select("a")]
    assert nav == ["销售漏斗", "我的商机", "预计成交日"]
    assert client.get(f"{APP}/v/likely").status_code == 404
    assert client.get(f"{APP}/v/nope").status_code == 404


def test_a_view_without_totals_counts_up_to_a_cap(client, auth, make, owner, world, html, monkeypatch):
    rt, _rep = world
    acme = service.create(make.actor(owner), rt, "company", {"name": "Acme"})["id"]
    for title in ("A", "B", "C"):
        deal(make, owner, rt, acme, title, "new", 1, None)
    from formloom.runtime.web import viewpage

    monkeypatch.setattr(viewpage, "COUNT_CAP", 2)
    auth.login(owner.email)
    assert "2+ records" in html(client.get(f"{APP}/v/likely")).text  # no totals: a capped count
    assert "3 records" in html(client.get(f"{APP}/v/my_deals")).text  # totals: exact


def test_a_form_opens_on_its_default_view_with_its_views_as_tabs(client, auth, make, owner, html):
    d = load_definition("sales_mini")
    d["views"][0]["default"] = True  # the pipeline
    make.install(d, owner=owner)
    auth.login(owner.email)
    nav = {a.text.strip(): a.attrs["href"] for a in html(client.get(APP)).select("a", cls="nav-link")}
    assert nav["Deal"] == f"{APP}/v/pipeline" and nav["Company"] == f"{APP}/f/company"
    tabs = html(client.get(f"{APP}/v/closing")).one("ul", **{"data-view-tabs": ""})
    assert [a.text.strip() for a in tabs.select("a")] == ["All records", "Pipeline", "My deals", "Close dates"]
    assert tabs.one("a", **{"aria-current": "page"}).text.strip() == "Close dates"
    listing = html(client.get(f"{APP}/f/deal")).one("ul", **{"data-view-tabs": ""})
    assert listing.one("a", **{"aria-current": "page"}).text.strip() == "All records"
    assert html(client.get(f"{APP}/f/company")).select("ul", **{"data-view-tabs": ""}) == []  # no views: no tabs


def test_one_default_view_per_form(make, owner):
    from formloom.platform.exceptions import DefinitionError

    d = load_definition("sales_mini")
    d["views"][0]["default"] = d["views"][1]["default"] = True
    with pytest.raises(DefinitionError) as exc:
        make.install(d, owner=owner)
    assert any(e.get("pointer") == "/views/1/default" for e in exc.value.errors)


@pytest.mark.postgres
@pytest.mark.parametrize("any_db", ["postgres"], indirect=True)
def test_past_the_threshold_a_count_is_an_estimate_that_says_so(any_db, client, auth, make, owner, world, html,
                                                                 monkeypatch):
    import sqlalchemy as sa

    from formloom.runtime.views import counts
    from formloom.runtime.web import viewpage

    rt, _rep = world
    acme = service.create(make.actor(owner), rt, "company", {"name": "Acme"})["id"]
    service.bulk_create(make.actor(owner), rt, "deal", [
        {"title": f"D{i}", "company": acme, "stage": "new", "amount": i} for i in range(300)])
    with write_transaction():
        db.session.execute(sa.text(f'ANALYZE "{rt.form_tables("deal").table.name}"'))
    monkeypatch.setattr(viewpage, "COUNT_CAP", 50)
    got = counts.count(make.actor(owner), rt, "deal", cap=50)
    assert got.estimated and not got.exact and 200 <= got.n <= 400  # the planner's, after ANALYZE
    assert counts.count(make.actor(owner), rt, "deal", cap=1000) == counts.Count(300, True)  # under it: exact
    auth.login(owner.email)
    assert f"about {got.n} records" in html(client.get(f"{APP}/v/likely")).text
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    assert f"约 {got.n} 条记录" in html(client.get(f"{APP}/v/likely")).text
