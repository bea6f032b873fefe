"""A calendar view's page: records placed by their date in a month grid, a week list and an
agenda; only the visible range read; spans over several days; moving between months; a
day's "new" link fills in the date; date-and-time fields placed in the app's time zone."""
from __future__ import annotations

import pytest

from formloom.app_templates import load_definition
from formloom.runtime.records import service

APP = "/a/sales_mini"
CAL = f"{APP}/v/closing"


@pytest.fixture
def world(make, owner):
    d = load_definition("sales_mini")
    deal = next(f for f in d["forms"] if f["key"] == "deal")
    deal["fields"] += [{"key": "meet_at", "type": "datetime", "label": "Meeting"},
                       {"key": "ends", "type": "date", "label": "Ends"}]
    d["timezone"] = "Asia/Shanghai"
    d["views"] += [{"key": "meetings", "form": "deal", "type": "calendar", "name": "Meetings",
                    "options": {"start": "meet_at", "mode": "week"}},
                   {"key": "spans", "form": "deal", "type": "calendar", "name": "Spans",
                    "options": {"start": "close_date", "end": "ends", "mode": "agenda"}}]
    rt = make.install(d, owner=owner)
    rt.acme = service.create(make.actor(owner), rt, "company", {"name": "Acme"})["id"]
    return rt


def add(make, owner, rt, title, **fields):
    return service.create(make.actor(owner), rt, "deal", {"title": title, "company": rt.acme, **fields})


def day(page, iso: str) -> list[str]:
    cell = page.select(**{"data-day": iso})[0]
    return [li.one("a").text.strip() for li in cell.select("li", **{"data-entry": ""})]


def test_a_month_grid_places_records_by_date_and_moves_between_months(client, auth, make, owner, world, html):
    rt = world
    add(make, owner, rt, "March deal", close_date="2026-03-10")
    add(make, owner, rt, "Other March deal", close_date="2026-03-10")
    add(make, owner, rt, "April deal", close_date="2026-04-02")
    add(make, owner, rt, "Far deal", close_date="2027-01-01")
    auth.login(owner.email)
    page = html(client.get(f"{CAL}?date=2026-03-15"))
    grid = page.one("table", **{"data-calendar-month": ""})
    assert page.one(**{"data-cal-heading": ""}).text == "2026-03"
    assert sorted(day(grid, "2026-03-10")) == ["March deal", "Other March deal"]
    assert day(grid, "2026-04-02") == ["April deal"]  # the grid's last week shows April's first days
    assert "Far deal" not in page.text  # outside the range: not read
    assert grid.select(**{"data-day": "2026-02-23"})  # weeks start on Monday
    # The day's "new" link fills in the date.
    add_link = grid.select(**{"data-day": "2026-03-10"})[0].one("a", cls="fl-cal-add").attrs["href"]
    assert "close_date=2026-03-10" in add_link
    new = html(client.get(add_link))
    assert new.value("close_date") == "2026-03-10"
    # Next month: April.
    nxt = page.one("a", **{"data-cal-next": ""}).attrs["href"]
    page = html(client.get(nxt))
    assert page.one(**{"data-cal-heading": ""}).text == "2026-04"
    assert day(page.one("table", **{"data-calendar-month": ""}), "2026-04-02") == ["April deal"]
    # The record opens from its entry.
    entry = page.one("table", **{"data-calendar-month": ""}).one("li", **{"data-entry": ""}).one("a").attrs["href"]
    assert client.get(entry).status_code == 200


def test_moments_in_the_app_time_zone_and_spans_in_chinese(any_db, client, auth, make, owner, world, html):
    rt = world
    add(make, owner, rt, "Late call", meet_at="2026-03-10T17:30:00Z")  # 01:30 on the 11th in Shanghai
    add(make, owner, rt, "Long deal", close_date="2026-03-30", ends="2026-04-02")
    auth.login(owner.email)
    week = html(client.get(f"{APP}/v/meetings?date=2026-03-11"))
    days = {s.attrs["data-day"]: s for s in week.select("section", cls="fl-cal-listday")}
    assert len(days) == 7 and "Late call" in days["2026-03-11"].text and "01:30" in days["2026-03-11"].text
    assert "Late call" not in days["2026-03-10"].text
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    april = html(client.get(f"{APP}/v/spans?date=2026-04-01"))
    listed = [s.attrs["data-day"] for s in april.select("section", cls="fl-cal-listday")]
    assert listed == ["2026-04-01", "2026-04-02"]  # the span reaches into April; agenda lists days with records
    assert "今天" in april.text  # "Today", in Chinese


def test_a_move_to_another_day_reschedules_through_the_service(any_db, client, auth, make, owner, world, html):
    rt = world
    span = add(make, owner, rt, "Long deal", close_date="2026-03-10", ends="2026-03-12")
    auth.login(owner.email)
    page = html(client.get(f"{APP}/v/spans?date=2026-03-01&mode=month"))
    grid = page.one("table", **{"data-calendar-month": ""})
    entry = grid.one("li", **{"data-record": str(span["id"])})  # the first day only can be dragged
    assert entry.attrs["data-version"] == str(span["version"])
    token = client.get(f"{APP}/v/spans").get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]

    def post(day, version):
        return client.post(grid.attrs["data-move-url"], headers={"X-CSRFToken": token},
                           data={"record": span["id"], "version": version, "day": day})

    resp = post("2026-03-20", span["version"])
    assert resp.status_code == 200, resp.get_json()
    fields = service.get(make.actor(owner), rt, "deal", span["id"])["fields"]
    assert fields["close_date"].isoformat() == "2026-03-20" and fields["ends"].isoformat() == "2026-03-22"
    resp = post("2026-03-25", span["version"])  # the version before the move: stale
    assert resp.status_code == 409 and resp.get_json()["message"].startswith("Not moved")
    assert service.get(make.actor(owner), rt, "deal", span["id"])["fields"]["close_date"].isoformat() == "2026-03-20"
    # A date-and-time calendar keeps times on the record page: nothing to drag.
    week = html(client.get(f"{APP}/v/meetings?mode=month"))
    assert "data-move-url" not in week.one("table", **{"data-calendar-month": ""}).attrs
