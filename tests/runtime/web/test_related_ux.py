"""Lookups and rollups shown as their source field shows, and a related list's "Add" that
comes back: a lookup of a select is the same coloured badge, a lookup of a link the same
linked title, a lookup of a user or date the same name or date, in the record page, the list
and the related list; min/max rollups over dates are dates. "Add" carries `next` (the record
page), so saving or cancelling returns there, and a `next` that is not a local path is ignored."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from formloom.platform.actor import Actor
from formloom.runtime.apps import get_runtime
from formloom.runtime.records import service
from formloom.runtime.web import display as display_module

from support_acl import login

APP = "crm_ux"
BASE = f"/a/{APP}/f"
GOLD = "#d97706"

DEFINITION = {
    "key": APP, "name": "CRM UX",
    "forms": [
        {"key": "customer", "name": "Customer", "title_field": "name",
         "fields": [{"key": "name", "type": "text", "label": "Name", "required": True},
                    {"key": "tier", "type": "select", "label": "Tier",
                     "options": [{"value": "gold", "label": "金牌", "label_en": "Gold", "color": GOLD},
                                 {"value": "silver", "label": "银牌", "label_en": "Silver"}]},
                    {"key": "manager", "type": "user", "label": "Manager"},
                    {"key": "since", "type": "date", "label": "Customer since"},
                    {"key": "first_close", "type": "rollup", "label": "First close", "form": "deal",
                     "link": "customer", "agg": "min", "field": "close"},
                    {"key": "last_close", "type": "rollup", "label": "Last close", "form": "deal",
                     "link": "customer", "agg": "max", "field": "close"}]},
        {"key": "contact", "name": "Contact", "title_field": "name",
         "fields": [{"key": "name", "type": "text", "label": "Name", "required": True},
                    {"key": "customer", "type": "link", "form": "customer", "label": "Customer"}]},
        {"key": "deal", "name": "Deal", "title_field": "title",
         "fields": [{"key": "title", "type": "text", "label": "Title", "required": True},
                    {"key": "customer", "type": "link", "form": "customer", "label": "Customer"},
                    {"key": "tier", "type": "lookup", "label": "Customer tier", "link": "customer", "field": "tier"},
                    {"key": "employer", "type": "lookup", "label": "Contact's company", "link": "contact",
                     "field": "customer"},
                    {"key": "contact", "type": "link", "form": "contact", "label": "Contact"},
                    {"key": "manager", "type": "lookup", "label": "Account manager", "link": "customer",
                     "field": "manager"},
                    {"key": "since", "type": "lookup", "label": "Customer since", "link": "customer",
                     "field": "since"},
                    {"key": "close", "type": "date", "label": "Close date"}]},
    ],
}


@dataclass
class World:
    admin: object
    ids: dict[str, int]


@pytest.fixture
def world(make) -> World:
    admin = make.user("Ada Admin", admin=True)
    make.install(DEFINITION, owner=admin)
    rt = get_runtime(APP)
    actor = Actor.from_user(admin)
    acme = service.create(actor, rt, "customer", {"name": "Acme", "tier": "gold", "manager": admin.id,
                                                  "since": "2021-05-04"})["id"]
    pat = service.create(actor, rt, "contact", {"name": "Pat", "customer": acme})["id"]
    deal = service.create(actor, rt, "deal", {"title": "Pilot", "customer": acme, "contact": pat,
                                              "close": "2024-06-30"})["id"]
    service.create(actor, rt, "deal", {"title": "Renewal", "customer": acme, "close": "2024-03-01"})
    return World(admin, {"acme": acme, "pat": pat, "deal": deal})


def _dd(page, key: str):
    return page.one(data_field=key).one("dd")


def _badges(node) -> list[tuple[str, str]]:
    return [(b.text, b.attrs.get("data-badge-color", "")) for b in node.select("span", cls="fl-badge")]


def _links(node) -> list[tuple[str, str]]:
    return [(a.text, a.attrs.get("href")) for a in node.select("a")]


def test_a_lookup_on_the_record_page_shows_as_its_source_field(app, world, html):
    web = login(app, world.admin)
    customer = html(web.get(f"{BASE}/customer/r/{world.ids['acme']}"))
    deal = html(web.get(f"{BASE}/deal/r/{world.ids['deal']}"))
    # The same coloured badge as the select itself, not plain "Gold".
    assert _badges(_dd(deal, "tier")) == _badges(_dd(customer, "tier")) == [("Gold", GOLD)]
    # A lookup of a link: the linked record's title, linked to it.
    assert _links(_dd(deal, "employer")) == [("Acme", f"{BASE}/customer/r/{world.ids['acme']}")]
    assert _dd(deal, "manager").text == _dd(customer, "manager").text == "Ada Admin"
    assert _dd(deal, "since").text == _dd(customer, "since").text == "2021-05-04"


def test_min_and_max_rollups_over_dates_show_as_dates(app, world, html):
    customer = html(login(app, world.admin).get(f"{BASE}/customer/r/{world.ids['acme']}"))
    assert _dd(customer, "first_close").text == "2024-03-01"
    assert _dd(customer, "last_close").text == "2024-06-30"
    # The history says so too: the first deal set it to June, the second moved it to March.
    changes = [li for li in customer.one("ol", cls="fl-timeline").select("li")
               if "fl-timeline-item" not in li.attrs.get("class", "")
               and li.one(cls="fl-change-label").text == "First close"]
    assert [(c.one(cls="fl-old").text, c.one(cls="fl-new").text) for c in changes] == [
        ("2024-06-30", "2024-03-01"), ("—", "2024-06-30")]


def test_lookups_in_the_list_and_the_related_list_show_as_their_source_field(app, world, html):
    web = login(app, world.admin)
    listing = html(web.get(f"{BASE}/deal"))
    row = next(tr for tr in listing.select("tr") if "Pilot" in tr.text)
    assert ("Gold", GOLD) in _badges(row)
    assert ("Acme", f"{BASE}/customer/r/{world.ids['acme']}") in _links(row)
    customer = html(web.get(f"{BASE}/customer/r/{world.ids['acme']}"))
    deals = customer.one("section", data_related="deal.customer")
    assert [th.text for th in deals.select("th")] == ["Title", "Customer tier", "Contact's company", "Contact"]
    pilot = next(tr for tr in deals.select("tr") if "Pilot" in tr.text)
    assert _badges(pilot.select("td")[1]) == [("Gold", GOLD)]
    assert _links(pilot.select("td")[2]) == [("Acme", f"{BASE}/customer/r/{world.ids['acme']}")]


def test_shown_as_follows_a_lookup_to_its_source_definition():
    select = {"key": "tier", "type": "select", "options": ["A"]}
    assert display_module.shown_as({"key": "t", "type": "lookup", "_target": select}) is select
    assert display_module.shown_as(select) is select
    # Not compiled yet: shown as text, as the lookup type itself stores it.
    assert display_module.shown_as({"key": "t", "type": "lookup"})["type"] == "text"


def _add_url(web, html, acme: int) -> str:
    customer = html(web.get(f"{BASE}/customer/r/{acme}"))
    return customer.one("section", data_related="deal.customer").one("a", data_related_add="").attrs["href"]


def test_add_comes_back_to_the_record_after_saving(app, world, html):
    web = login(app, world.admin)
    acme = world.ids["acme"]
    record_url = f"{BASE}/customer/r/{acme}"
    add = _add_url(web, html, acme)
    parts = urlsplit(add)
    assert parts.path == f"{BASE}/deal/new"
    assert parse_qs(parts.query) == {"customer": [str(acme)], "next": [record_url]}
    form = html(web.get(add))
    assert form.one("a", cls="fl-cancel").attrs["href"] == record_url  # Cancel goes back too
    resp = web.post(add, data={"title": "Upsell", "customer": str(acme)})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:1500]
    assert urlsplit(resp.headers["Location"]).path == record_url
    back = html(web.get(record_url))
    assert "The record was created." in back.text  # the flash is shown there
    assert "Upsell" in back.one("section", data_related="deal.customer").text


def test_save_and_add_another_keeps_the_way_back(app, world, html):
    web = login(app, world.admin)
    acme = world.ids["acme"]
    add = _add_url(web, html, acme)
    resp = web.post(add, data={"title": "One more", "customer": str(acme), "_then": "new"})
    assert resp.status_code == 302
    location = urlsplit(resp.headers["Location"])
    assert location.path == f"{BASE}/deal/new"
    assert parse_qs(location.query) == {"next": [f"{BASE}/customer/r/{acme}"]}


def test_without_next_saving_and_cancel_go_where_they_always_did(app, world, html):
    web = login(app, world.admin)
    form = html(web.get(f"{BASE}/deal/new"))
    assert form.one("a", cls="fl-cancel").attrs["href"] == f"{BASE}/deal"
    resp = web.post(f"{BASE}/deal/new", data={"title": "Plain"})
    assert resp.status_code == 302
    assert urlsplit(resp.headers["Location"]).path.startswith(f"{BASE}/deal/r/")
    edit = html(web.get(f"{BASE}/deal/r/{world.ids['deal']}/edit"))
    assert edit.one("a", cls="fl-cancel").attrs["href"] == f"{BASE}/deal/r/{world.ids['deal']}"


@pytest.mark.parametrize("evil", ["https://evil.example/", "//evil.example", "///evil.example", "/\\evil.example",
                                  "\\\\evil.example", "/\t/evil.example", "javascript:alert(1)",
                                  "http:/evil.example", "evil.example", ""])
def test_a_next_that_is_not_a_local_path_is_ignored(app, world, html, evil):
    web = login(app, world.admin)
    url = f"{BASE}/deal/new?next={quote(evil, safe='')}"
    form = html(web.get(url))
    assert form.one("a", cls="fl-cancel").attrs["href"] == f"{BASE}/deal"
    resp = web.post(url, data={"title": "Elsewhere"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:1500]
    location = urlsplit(resp.headers["Location"])
    assert location.netloc in ("", "localhost") and location.path.startswith(f"{BASE}/deal/r/")
    assert "evil" not in resp.headers["Location"]


def test_history_turns_a_rollup_date_back_into_a_date():
    from datetime import date

    from formloom.runtime.web.history import canonical

    rollup = {"key": "first_close", "type": "rollup", "form": "deal", "link": "customer", "agg": "min",
              "field": "close", "_result": "date"}
    assert canonical(rollup, "2024-06-30") == date(2024, 6, 30)


def test_an_export_writes_lookups_as_their_source_field_reads(app, world):
    import csv
    import io

    web = login(app, world.admin)
    resp = web.get(f"{BASE}/deal/export?format=csv")
    assert resp.status_code == 200
    rows = {r["Title"]: r for r in csv.DictReader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff")))}
    assert rows["Pilot"]["Customer tier"] == "Gold"  # the option's label, not "gold"
    assert rows["Pilot"]["Contact's company"] == "Acme"  # the linked title, not "#1"
    assert rows["Pilot"]["Account manager"] == "Ada Admin"
    assert rows["Pilot"]["Customer since"] == "2021-05-04"
