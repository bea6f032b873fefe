"""End-user pages through the Flask test client: what a signed-in person sees and can do."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import flask_babel
import pytest

from formloom.runtime.records import service

APP = "/a/sales_mini"
DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture
def sales(make, owner):
    """The example app, owned (and administered) by `owner`."""
    return make.install("sales-mini", owner=owner)


@pytest.fixture
def signed_in(client, auth, owner, sales):
    auth.login(owner.email)
    return client


def add(make, owner, rt, form_key, fields):
    return service.create(make.actor(owner), rt, form_key, fields)


@pytest.fixture
def acme(make, owner, sales):
    return add(make, owner, sales, "company", {"name": "Acme Ltd", "tier": "A", "tags": ["vip"]})


# -- apps and forms -------------------------------------------------------------------------

def test_index_lists_the_apps_of_a_member_and_nothing_for_others(client, auth, make, owner, sales, html):
    auth.login(owner.email)
    page = html(client.get("/"))
    tiles = [t.text for t in page.select("a", cls="fl-tile")]
    assert len(tiles) == 1 and "Sales (mini)" in tiles[0] and "3 forms" in tiles[0]
    auth.logout()
    outsider = make.user("Otto Outsider")
    auth.login(outsider.email)
    page = html(client.get("/"))
    assert page.select("a", cls="fl-tile") == []
    assert "No apps yet" in page.one(cls="fl-empty").text


def test_app_home_shows_each_form_with_its_record_count(signed_in, make, owner, sales, acme, html, monkeypatch):
    add(make, owner, sales, "company", {"name": "Globex"})
    page = html(signed_in.get(APP))
    tiles = {t.one("h2").text: t.text for t in page.select(cls="fl-tile")}
    assert set(tiles) == {"Company", "Deal", "Quote"}
    assert "2 records" in tiles["Company"] and "0 records" in tiles["Deal"]
    # Counting stops at a cap: a full count is a full scan.
    from formloom.runtime.web import views

    monkeypatch.setattr(views, "COUNT_CAP", 1)
    tiles = {t.one("h2").text: t.text for t in html(signed_in.get(APP)).select(cls="fl-tile")}
    assert "1+ records" in tiles["Company"]


def test_login_is_required(client, sales):
    response = client.get(APP + "/f/deal")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# -- list -------------------------------------------------------------------------------------

def test_list_shows_titles_linked_records_badges_and_users(signed_in, make, owner, sales, acme, html):
    add(make, owner, sales, "company", {"name": "Globex", "owner": owner.id, "tier": "B"})
    add(make, owner, sales, "deal", {"title": "Big deal", "company": acme["id"], "stage": "won", "amount": 1200})
    page = html(signed_in.get(APP + "/f/deal"))
    header = [th.text for th in page.one("table").select("th")]
    assert header[:4] == ["Title", "Company", "Stage", "Amount"]
    [row] = page.one("tbody").select("tr")
    cells = row.select("td")
    assert cells[0].one("a").text == "Big deal"
    assert cells[1].one("a").text == "Acme Ltd"  # the linked record's title, not its id
    assert cells[2].one(cls="fl-badge").text == "won"
    assert cells[3].text == "1,200.00"
    companies = html(signed_in.get(APP + "/f/company"))
    globex = [r for r in companies.one("tbody").select("tr") if "Globex" in r.text][0]
    assert "Olga Owner" in globex.text and "Regular" in globex.text  # a user's name, an option's label


def test_list_empty_state_offers_to_add_a_record(signed_in, html):
    page = html(signed_in.get(APP + "/f/deal"))
    empty = page.one(cls="fl-empty")
    assert "No records yet" in empty.text
    assert empty.one("a").attrs["href"] == APP + "/f/deal/new"


def test_sorting_by_clicking_a_column(signed_in, make, owner, sales, acme, html):
    for title, amount in [("B", 20), ("A", 30), ("C", 10)]:
        add(make, owner, sales, "deal", {"title": title, "company": acme["id"], "amount": amount})

    def titles(query):
        return [r.select("td")[0].text for r in html(signed_in.get(APP + "/f/deal" + query)).one("tbody").select("tr")]

    assert titles("?sort=amount") == ["C", "B", "A"]
    assert titles("?sort=-amount") == ["A", "B", "C"]
    assert titles("?sort=title") == ["A", "B", "C"]
    page = html(signed_in.get(APP + "/f/deal?sort=amount"))
    link = [a for a in page.one("thead").select("a") if a.text == "Amount"][0]
    assert link.attrs["href"] == APP + "/f/deal?sort=-amount"  # a second click reverses
    # A bad sort falls back to the default order with a warning, not an error page.
    response = signed_in.get(APP + "/f/deal?sort=nonsense")
    assert response.status_code == 200 and "no longer valid" in response.get_data(as_text=True)


def test_search_and_select_filters(any_db, signed_in, make, owner, sales, acme, html):
    add(make, owner, sales, "deal", {"title": "Alpha project", "company": acme["id"], "stage": "won"})
    add(make, owner, sales, "deal", {"title": "Beta project", "company": acme["id"], "stage": "lost",
                                     "lost_reason": "Price"})
    add(make, owner, sales, "deal", {"title": "Gamma", "company": acme["id"], "stage": "won"})

    def titles(query):
        body = html(signed_in.get(APP + "/f/deal" + query)).select("tbody")
        return sorted(r.select("td")[0].text for r in body[0].select("tr")) if body else []

    assert titles("?q=project") == ["Alpha project", "Beta project"]
    assert titles("?f_stage=won") == ["Alpha project", "Gamma"]
    assert titles("?q=project&f_stage=won") == ["Alpha project"]
    page = html(signed_in.get(APP + "/f/deal?q=nothing-like-this"))
    assert "No matching records" in page.one(cls="fl-empty").text
    assert page.value("f_stage") == ""
    assert html(signed_in.get(APP + "/f/deal?f_stage=lost")).value("f_stage") == "lost"


def test_keyset_pagination_next_and_first_page(any_db, signed_in, make, owner, sales, html):
    service.bulk_create(make.actor(owner), sales, "company", [{"name": f"Company {i:02d}"} for i in range(30)])
    first = html(signed_in.get(APP + "/f/company?sort=name"))
    names = [r.select("td")[0].text for r in first.one("tbody").select("tr")]
    assert names == [f"Company {i:02d}" for i in range(25)]
    next_link = first.one("a", rel="next").attrs["href"]
    assert "cursor=" in next_link and "sort=name" in next_link
    second = html(signed_in.get(next_link))
    assert [r.select("td")[0].text for r in second.one("tbody").select("tr")] == [f"Company {i:02d}" for i in range(25, 30)]
    assert second.select("a", rel="next") == []
    first_page = [a for a in second.select("a", cls="page-link") if "First page" in a.text]
    assert first_page and "cursor" not in first_page[0].attrs["href"]


# -- detail, delete, restore ------------------------------------------------------------------

def test_detail_shows_fields_subform_meta_and_history(signed_in, make, owner, sales, acme, html):
    deal = add(make, owner, sales, "deal", {"title": "Big deal", "company": acme["id"]})
    quote = add(make, owner, sales, "quote", {"deal": deal["id"], "items": [
        {"product": "Seats", "qty": 2, "price": 100}, {"product": "Support", "qty": 1, "price": 50, "discount": 10}]})
    service.update(make.actor(owner), sales, "quote", quote["id"], {"valid_until": "2030-01-31"})
    page = html(signed_in.get(f"{APP}/f/quote/r/{quote['id']}"))
    assert page.one("h1").text == quote["fields"]["number"]
    details = {row.one("dt").text: row.one("dd").text for row in page.select(cls="fl-dl-row")}
    assert details["Deal"] == "Big deal" and details["Total"] == "245" and details["Valid until"] == "2030-01-31"
    items = page.one(data_field="items")
    rows = [[td.text for td in tr.select("td")] for tr in items.one("tbody").select("tr")]
    assert rows == [["1", "Seats", "2", "100.00", "0", "200"], ["2", "Support", "1", "50.00", "10", "45"]]
    meta = dict(zip([dt.text for dt in page.one(cls="fl-meta").select("dt")],
                    [dd.text for dd in page.one(cls="fl-meta").select("dd")], strict=True))
    assert meta["Version"] == "2" and meta["Created"].startswith("Olga Owner")
    history = page.select("li", cls="fl-timeline-item")
    assert "changed the record" in history[0].text and "Valid until — 2030-01-31" in history[0].text
    assert "created the record" in history[1].text


def test_delete_moves_to_the_recycle_bin_and_restore_brings_it_back(signed_in, make, owner, sales, acme, html):
    response = signed_in.post(f"{APP}/f/company/r/{acme['id']}/delete")
    assert response.status_code == 302 and response.headers["Location"] == APP + "/f/company"
    listing = html(signed_in.get(APP + "/f/company"))
    assert "The record was moved to the recycle bin." in listing.text
    assert listing.select("tbody") == []
    binned = html(signed_in.get(APP + "/f/company?deleted=1"))
    [row] = binned.one("tbody").select("tr")
    assert "Acme Ltd" in row.text and "Restore" in row.text
    detail = html(signed_in.get(f"{APP}/f/company/r/{acme['id']}"))
    assert "recycle bin" in detail.one(cls="alert-warning").text
    assert signed_in.get(f"{APP}/f/company/r/{acme['id']}/edit").status_code == 404
    response = signed_in.post(f"{APP}/f/company/r/{acme['id']}/restore", data={"next": "bin"})
    assert response.headers["Location"] == APP + "/f/company?deleted=1"
    assert "Acme Ltd" in html(signed_in.get(APP + "/f/company")).one("tbody").text
    assert "restored the record" in html(signed_in.get(f"{APP}/f/company/r/{acme['id']}")).one(cls="fl-timeline").text


def test_delete_needs_a_post(signed_in, acme):
    assert signed_in.get(f"{APP}/f/company/r/{acme['id']}/delete").status_code == 405


# -- access -------------------------------------------------------------------------------------

def test_a_record_of_another_app_or_form_is_not_found(signed_in, make, owner, sales, acme):
    other = json.loads((DATA / "sales-mini.json").read_text("utf-8"))
    other["key"] = "other_sales"
    rt = make.install(other, owner=owner)
    theirs = add(make, owner, rt, "company", {"name": "Elsewhere"})
    assert theirs["id"] == acme["id"]  # same id, different app: the URL decides
    page = signed_in.get(f"/a/other_sales/f/company/r/{theirs['id']}")
    assert "Elsewhere" in page.get_data(as_text=True)
    assert signed_in.get(f"{APP}/f/company/r/999").status_code == 404
    assert signed_in.get(f"{APP}/f/deal/r/{acme['id']}").status_code == 404  # a company is not a deal
    assert signed_in.get(f"{APP}/f/nope").status_code == 404
    assert signed_in.get("/a/nope").status_code == 404


def test_a_non_member_gets_not_found_everywhere(client, auth, make, acme):
    outsider = make.user("Otto Outsider")
    auth.login(outsider.email)
    for path in (APP, APP + "/f/company", f"{APP}/f/company/r/{acme['id']}", APP + "/f/company/new",
                 f"{APP}/f/company/r/{acme['id']}/edit", APP + "/f/company/lookup?q=Acme"):
        assert client.get(path).status_code == 404, path
    assert client.post(f"{APP}/f/company/r/{acme['id']}/delete").status_code == 404
    assert client.post(APP + "/f/company/new", data={"name": "Sneaky"}).status_code == 404


def test_lookup_finds_by_title_and_respects_the_actors_scope(client, auth, make, owner):
    definition = json.loads((DATA / "sales-mini.json").read_text("utf-8"))
    definition["forms"][0]["members"] = "own"  # members see only their own companies
    ann, bob = make.user("Ann"), make.user("Bob")
    rt = make.install(definition, owner=owner, members=[ann, bob])
    add(make, ann, rt, "company", {"name": "Ann's Acme"})
    add(make, bob, rt, "company", {"name": "Bob's Acme"})
    auth.login(ann.email)
    found = client.get(APP + "/f/company/lookup?q=acme", headers={"Accept": "application/json"}).get_json()
    assert [i["title"] for i in found["items"]] == ["Ann's Acme"]
    fragment = client.get(APP + "/f/company/lookup?q=acme", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Ann&#39;s Acme" in fragment and "Bob" not in fragment
    auth.logout()
    auth.login(owner.email)  # the app's admin sees both
    found = client.get(APP + "/f/company/lookup?format=json&q=ACME").get_json()
    assert sorted(i["title"] for i in found["items"]) == ["Ann's Acme", "Bob's Acme"]
    nothing = client.get(APP + "/f/company/lookup?q=zzz", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Nothing matches" in nothing


# -- languages -----------------------------------------------------------------------------------

BILINGUAL = {
    "key": "crm_lite", "name": "客户管理", "name_en": "CRM lite",
    "forms": [{"key": "customer", "name": "客户", "name_en": "Customer", "title_field": "name", "fields": [
        {"key": "name", "type": "text", "label": "客户名称", "label_en": "Customer name", "required": True},
        {"key": "level", "type": "select", "label": "级别", "label_en": "Level",
         "options": [{"value": "a", "label": "重点", "label_en": "Key"}, {"value": "b", "label": "普通", "label_en": "Regular"}]},
    ]}],
}


@pytest.mark.parametrize("lang, expected, absent", [
    ("en", ["CRM lite", "Customer name", "Level", "Key", "Recycle bin"], ["客户名称", "重点"]),
    ("zh_CN", ["客户管理", "客户名称", "级别", "重点", "回收站"], ["Customer name", "Recycle bin"]),
])
def test_labels_follow_the_chosen_language(client, auth, make, owner, lang, expected, absent):
    rt = make.install(BILINGUAL, owner=owner)
    add(make, owner, rt, "customer", {"name": "ACME", "level": "a"})
    auth.login(owner.email)
    client.post("/language", data={"lang": lang, "next": "/"})
    # The `app` fixture keeps one app context (and so one `g`) for all requests of a test;
    # Flask-Babel caches the locale there, so drop it as a new request would.
    flask_babel.refresh()
    body = client.get("/a/crm_lite/f/customer").get_data(as_text=True)
    body += client.get("/a/crm_lite/f/customer/new").get_data(as_text=True)
    for text in expected:
        assert text in body, text
    for text in absent:
        assert text not in body, text


# -- creating and editing ------------------------------------------------------------------------

def test_new_page_starts_with_defaults_and_one_subform_row(signed_in, html):
    page = html(signed_in.get(APP + "/f/quote/new"))
    assert page.value("items-0-qty") == "1" and page.value("items-0-discount") == "0"
    assert page.select("tr", data_subform_row="") and page.one("template")
    company = html(signed_in.get(APP + "/f/company/new"))
    assert company.value("tier") == "C" and company.value("active") == ["y"]


def test_create_a_record_through_the_form(signed_in, owner, html):
    response = signed_in.post(APP + "/f/company/new", data={
        "name": "Initech", "tier": "A", "tags": ["vip", "partner"], "email": "hi@initech.example",
        "revenue": "1,234.50", "since": "2024-05-01", "owner": str(owner.id), "active": "y"})
    assert response.status_code == 302
    page = html(signed_in.get(response.headers["Location"]))
    assert "The record was created." in page.text
    details = {row.one("dt").text: row.one("dd").text for row in page.select(cls="fl-dl-row")}
    assert details["Name"] == "Initech" and details["Tier"] == "Key account" and details["Tags"] == "vip partner"
    assert details["Annual revenue"] == "¥1,234.50" and details["Customer since"] == "2024-05-01"
    assert details["Owner"] == "Olga Owner" and details["Active"] == "Yes"


def test_create_with_subform_rows_and_a_link(any_db, signed_in, make, owner, sales, acme, html):
    deal = add(make, owner, sales, "deal", {"title": "Big deal", "company": acme["id"]})
    response = signed_in.post(APP + "/f/quote/new", data={
        "deal": str(deal["id"]),
        "items-0-product": "Seats", "items-0-qty": "3", "items-0-price": "100", "items-0-discount": "0",
        "items-1-product": "Training", "items-1-qty": "1", "items-1-price": "500", "items-1-discount": "10",
        # An added row nobody typed in is left out, not reported as an error.
        "items-2-product": "", "items-2-qty": "1", "items-2-price": "", "items-2-discount": "0",
    })
    assert response.status_code == 302, response.get_data(as_text=True)
    page = html(signed_in.get(response.headers["Location"]))
    details = {row.one("dt").text: row.one("dd").text for row in page.select(cls="fl-dl-row")}
    assert details["Total"] == "750" and details["Deal"] == "Big deal"
    assert len(page.one(data_field="items").one("tbody").select("tr")) == 2


def test_errors_show_at_their_fields_and_keep_what_was_typed(signed_in, make, owner, sales, acme, html):
    response = signed_in.post(APP + "/f/deal/new", data={
        "title": "", "company": str(acme["id"]), "stage": "lost", "amount": "abc", "probability": "55",
        "close_date": "2026-03-01", "lost_reason": ""})
    assert response.status_code == 422
    page = html(response)
    assert page.one(id="title-error").text == "Title is required"
    assert page.one(id="amount-error").text == "Amount must be a number"
    assert page.one(id="lost_reason-error").text == "Lost reason is required"  # required by the rule
    summary = page.one(id="fl-error-summary")
    assert "3 problems" in summary.text and [a.attrs["href"] for a in summary.select("a")] == [
        "#title", "#amount", "#lost_reason"]
    assert page.value("amount") == "abc" and page.value("probability") == "55"
    assert page.value("stage") == "lost" and page.value("close_date") == "2026-03-01"
    assert page.value("company") == str(acme["id"])
    assert "Acme Ltd" in page.one(data_field="company").text  # the chosen record keeps its title
    assert "hidden" not in page.one(data_field="lost_reason").attrs


def test_an_unreadable_date_does_not_hide_the_other_errors(signed_in, make, owner, sales, acme, html):
    """Every field's error in one pass, all in the same words: a date the form could not
    read is reported with amount -1 and probability 150, not before them."""
    response = signed_in.post(APP + "/f/deal/new", data={
        "title": "Big deal", "company": str(acme["id"]), "stage": "new", "amount": "-1", "probability": "150",
        "close_date": "2026-02-31"})
    assert response.status_code == 422
    page = html(response)
    assert page.one(id="amount-error").text == "Amount must be at least 0"
    assert page.one(id="probability-error").text == "Probability % must be at most 100"
    assert page.one(id="close_date-error").text == "Expected close must be a date like 2026-01-31"
    summary = page.one(id="fl-error-summary")
    assert "3 problems" in summary.text and [a.attrs["href"] for a in summary.select("a")] == [
        "#amount", "#probability", "#close_date"]
    assert [a.text for a in summary.select("a")] == [
        "Amount must be at least 0", "Probability % must be at most 100", "Expected close must be a date like 2026-01-31"]
    assert page.value("close_date") == "2026-02-31" and page.value("amount") == "-1"  # nothing typed is lost


def test_an_unreadable_date_in_a_subform_row_is_reported_with_the_rest(signed_in, make, owner, sales, acme, html):
    deal = add(make, owner, sales, "deal", {"title": "Big deal", "company": acme["id"]})
    response = signed_in.post(APP + "/f/quote/new", data={
        "deal": str(deal["id"]), "valid_until": "not a date",
        "items-0-product": "Seats", "items-0-qty": "0", "items-0-price": "10", "items-0-discount": "0"})
    assert response.status_code == 422
    page = html(response)
    assert page.one(id="valid_until-error").text == "Valid until must be a date like 2026-01-31"
    assert page.one(id="items-0-qty-error").text == "Quantity must be at least 1"
    assert page.value("valid_until") == "not a date"


def test_inputs_carry_the_limits_of_their_fields(signed_in, make, owner, sales, html):
    """maxlength, min, max and step from each field's type and settings, subform cells too."""
    def attrs(page, name, *keys):
        [el] = [e for e in page.select("input") if e.attrs.get("name") == name]
        return {k: el.attrs.get(k) for k in ("type", *keys)}

    company = html(signed_in.get(APP + "/f/company/new"))
    assert attrs(company, "name", "maxlength") == {"type": "text", "maxlength": "200"}
    assert attrs(company, "email", "maxlength") == {"type": "email", "maxlength": "254"}
    assert attrs(company, "revenue", "min", "max", "step") == {"type": "number", "min": "0", "max": None, "step": "0.01"}
    deal = html(signed_in.get(APP + "/f/deal/new"))
    assert attrs(deal, "probability", "min", "max", "step") == {"type": "number", "min": "0", "max": "100", "step": "any"}
    assert attrs(deal, "close_date", "min", "max") == {"type": "date", "min": None, "max": None}
    quote = html(signed_in.get(APP + "/f/quote/new"))
    assert attrs(quote, "items-0-qty", "min", "step") == {"type": "number", "min": "1", "step": "any"}
    assert attrs(quote, "items-0-discount", "min", "max") == {"type": "number", "min": "0", "max": "100"}


def test_a_date_input_keeps_within_the_fields_dates(signed_in, make, owner, html):
    make.install({"key": "trips", "name": "Trips", "forms": [{"key": "trip", "name": "Trip", "fields": [
        {"key": "day", "type": "date", "label": "Day", "min": "2026-01-01", "max": "2026-12-31"},
        {"key": "code", "type": "text", "label": "Code", "max_length": 8, "min_length": 2},
        {"key": "nights", "type": "number", "label": "Nights", "precision": 0, "min": 1, "max": 30}]}]}, owner=owner)
    page = html(signed_in.get("/a/trips/f/trip/new"))
    [day] = [e for e in page.select("input") if e.attrs.get("name") == "day"]
    [code] = [e for e in page.select("input") if e.attrs.get("name") == "code"]
    [nights] = [e for e in page.select("input") if e.attrs.get("name") == "nights"]
    assert (day.attrs["min"], day.attrs["max"]) == ("2026-01-01", "2026-12-31")
    assert (code.attrs["maxlength"], code.attrs["minlength"]) == ("8", "2")
    assert (nights.attrs["min"], nights.attrs["max"], nights.attrs["step"]) == ("1", "30", "1")


def test_a_subform_error_shows_in_its_cell(signed_in, make, owner, sales, acme, html):
    deal = add(make, owner, sales, "deal", {"title": "Big deal", "company": acme["id"]})
    response = signed_in.post(APP + "/f/quote/new", data={
        "deal": str(deal["id"]),
        "items-0-product": "Seats", "items-0-qty": "2", "items-0-price": "10", "items-0-discount": "0",
        "items-1-product": "", "items-1-qty": "0", "items-1-price": "10", "items-1-discount": "0"})
    assert response.status_code == 422
    page = html(response)
    assert page.one(id="items-1-qty-error").text == "Quantity must be at least 1"
    assert page.one(id="items-1-product-error").text == "Product is required"
    assert page.select(id="items-0-qty-error") == []
    assert "Items, row 2: Product is required" in page.one(id="fl-error-summary").text
    assert page.value("items-0-product") == "Seats" and page.value("items-1-qty") == "0"


def test_edit_changes_a_value_and_the_history_says_so(any_db, signed_in, make, owner, sales, acme, html):
    edit = html(signed_in.get(f"{APP}/f/company/r/{acme['id']}/edit"))
    assert edit.value("name") == "Acme Ltd" and edit.value("_version") == "1"
    response = signed_in.post(f"{APP}/f/company/r/{acme['id']}/edit", data={
        "_version": "1", "name": "Acme Group", "tier": "B", "tags": ["vip"], "active": "y"})
    assert response.status_code == 302
    page = html(signed_in.get(response.headers["Location"]))
    assert page.one("h1").text == "Acme Group" and "Your changes were saved." in page.text
    change = page.one(cls="fl-changes").text
    assert "Name Acme Ltd Acme Group" in change and "Tier Key account Regular" in change


def test_a_stale_version_keeps_the_input_and_offers_a_reload(signed_in, make, owner, sales, acme, html):
    service.update(make.actor(owner), sales, "company", acme["id"], {"email": "new@acme.example"})
    response = signed_in.post(f"{APP}/f/company/r/{acme['id']}/edit", data={
        "_version": "1", "name": "Acme Typed", "tier": "A", "active": "y"})
    assert response.status_code == 409
    page = html(response)
    alert = page.one(id="fl-conflict")
    assert "Someone else changed this record" in alert.text
    assert alert.one("a").attrs["href"] == f"{APP}/f/company/r/{acme['id']}/edit"
    assert page.value("name") == "Acme Typed" and page.value("_version") == "1"
    assert service.get(make.actor(owner), sales, "company", acme["id"])["fields"]["name"] == "Acme Ltd"


def test_rule_shown_fields_start_hidden_until_their_rule_holds(signed_in, make, owner, sales, acme, html):
    new = html(signed_in.get(APP + "/f/deal/new"))
    slot = new.one(data_field="lost_reason")
    assert "hidden" in slot.attrs and json.loads(slot.attrs["data-rule"])["show"] == [
        {"field": "stage", "op": "eq", "value": "lost"}]
    lost = add(make, owner, sales, "deal", {"title": "Gone", "company": acme["id"], "stage": "lost",
                                            "lost_reason": "Price"})
    assert "hidden" not in html(signed_in.get(f"{APP}/f/deal/r/{lost['id']}/edit")).one(data_field="lost_reason").attrs
    won = add(make, owner, sales, "deal", {"title": "Won", "company": acme["id"], "stage": "won"})
    assert html(signed_in.get(f"{APP}/f/deal/r/{won['id']}")).select(data_field="lost_reason") == []


def test_files_upload_keep_remove_and_download(signed_in, make, owner, sales, acme, html):
    deal = add(make, owner, sales, "deal", {"title": "Big deal", "company": acme["id"]})
    base = {"deal": str(deal["id"]), "items-0-product": "Seats", "items-0-qty": "1", "items-0-price": "1",
            "items-0-discount": "0"}
    response = signed_in.post(APP + "/f/quote/new", content_type="multipart/form-data", data={
        **base, "attachment": [(io.BytesIO(b"%PDF-1 terms"), "terms.pdf", "application/pdf"),
                               (io.BytesIO(b"price list"), "prices.txt", "text/plain")]})
    assert response.status_code == 302
    page = html(signed_in.get(response.headers["Location"]))
    links = {a.text: a.attrs["href"] for a in page.select("a", cls="fl-file")}
    assert set(links) == {"terms.pdf", "prices.txt"}
    with signed_in.get(links["terms.pdf"]) as download:
        assert download.status_code == 200 and download.data == b"%PDF-1 terms"
        assert "attachment" in download.headers["Content-Disposition"]
    quote_id = int(response.headers["Location"].rsplit("/", 1)[1])
    edit = html(signed_in.get(f"{APP}/f/quote/r/{quote_id}/edit"))
    kept = edit.value("_keep-attachment")
    assert len(kept) == 2
    response = signed_in.post(f"{APP}/f/quote/r/{quote_id}/edit", content_type="multipart/form-data", data={
        **base, "_version": "1", "_keep-attachment": [kept[0]],
        "attachment": [(io.BytesIO(b"new"), "new.txt", "text/plain")]})
    assert response.status_code == 302
    names = [f["name"] for f in service.get(make.actor(owner), sales, "quote", quote_id)["fields"]["attachment"]]
    assert names == ["terms.pdf", "new.txt"]
    outsider = make.user("Otto Outsider")
    signed_in.post("/logout")
    signed_in.post("/login", data={"email": outsider.email, "password": "secret-pass-1"})
    assert signed_in.get(links["terms.pdf"]).status_code == 404


def test_an_upload_over_the_size_limit_is_refused_at_its_field(signed_in, make, owner, sales, acme, html):
    definition = json.loads((DATA / "sales-mini.json").read_text("utf-8"))
    definition["key"] = "tiny"
    definition["forms"][2]["fields"][-1]["max_size_mb"] = 0.00001
    rt = make.install(definition, owner=owner)
    deal = add(make, owner, rt, "deal", {"title": "Big deal", "company": add(make, owner, rt, "company", {"name": "A"})["id"]})
    response = signed_in.post("/a/tiny/f/quote/new", content_type="multipart/form-data", data={
        "deal": str(deal["id"]), "items-0-product": "Seats", "items-0-qty": "1", "items-0-price": "1",
        "items-0-discount": "0", "attachment": [(io.BytesIO(b"x" * 100), "big.bin", "application/octet-stream")]})
    assert response.status_code == 422
    assert "larger than" in html(response).one(id="attachment-error").text


# -- formulas while typing ---------------------------------------------------------------------

def test_the_form_computes_its_formulas_for_what_is_typed(signed_in, make, owner, sales, acme, html):
    """The compute endpoint: the same formulas a save runs, for the input as the form posts it,
    formatted for the reader; nothing is stored, and an unreadable value counts as blank."""
    page = html(signed_in.get(APP + "/f/quote/new"))
    assert page.one("form", id="record-form").attrs["data-compute-url"] == APP + "/f/quote/compute"
    response = signed_in.post(APP + "/f/quote/compute", data={
        "items-0-product": "Seats", "items-0-qty": "3", "items-0-price": "1,000", "items-0-discount": "10",
        "items-1-product": "", "items-1-qty": "1", "items-1-price": "", "items-1-discount": "0",  # untouched
        "items-2-product": "Desk", "items-2-qty": "2", "items-2-price": "abc", "items-2-discount": "50"})
    assert response.status_code == 200, response.get_data(as_text=True)
    got = response.get_json()
    assert got["fields"]["total"] == "2,700" and got["fields"]["max_discount"] == "50"
    assert got["rows"]["items"] == {"0": {"subtotal": "2,700"}, "2": {"subtotal": "0"}}  # "abc": blank, as a formula reads it
    deal = signed_in.post(APP + "/f/deal/compute", data={"amount": "1200", "probability": "25"}).get_json()
    assert deal["fields"] == {"weighted": "300"}
    assert service.get(make.actor(owner), sales, "company", acme["id"])  # nothing else changed
    assert signed_in.get(APP + "/f/quote").status_code == 200
    assert "Seats" not in signed_in.get(APP + "/f/quote").get_data(as_text=True)


def test_computing_a_record_needs_the_right_to_change_it(client, auth, make, owner, sales, acme):
    deal = add(make, owner, sales, "deal", {"title": "Big deal", "company": acme["id"], "amount": 100, "probability": 50})
    auth.login(owner.email)
    got = client.post(f"{APP}/f/deal/compute?record={deal['id']}", data={"amount": "100", "probability": "10"}).get_json()
    assert got["fields"] == {"weighted": "10"}
    auth.logout()
    outsider = make.user("Otto Outsider")
    auth.login(outsider.email)
    assert client.post(f"{APP}/f/deal/compute?record={deal['id']}", data={"probability": "10"}).status_code in (403, 404)
    assert client.post(f"{APP}/f/deal/compute", data={"amount": "1"}).status_code in (403, 404)


def test_a_new_form_shows_the_serial_number_a_save_now_would_get(signed_in, make, owner, sales, acme):
    deal = add(make, owner, sales, "deal", {"title": "Big deal", "company": acme["id"]})
    first = signed_in.post(APP + "/f/quote/compute", data={"deal": str(deal["id"])}).get_json()
    assert re.fullmatch(r"Q-\d{4}-0001 \(the next number; fixed when you save\)", first["fields"]["number"])
    add(make, owner, sales, "quote", {"deal": deal["id"]})
    again = signed_in.post(APP + "/f/quote/compute", data={"deal": str(deal["id"])}).get_json()
    assert again["fields"]["number"].startswith(first["fields"]["number"][:7]) and "-0002 " in again["fields"]["number"]
    assert add(make, owner, sales, "quote", {"deal": deal["id"]})["fields"]["number"].endswith("-0002")  # peeking reserved none
    signed_in.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    zh = signed_in.post(APP + "/f/quote/compute", data={"deal": str(deal["id"])}).get_json()
    assert zh["fields"]["number"].endswith("-0003（下一个编号，保存时确定）")
