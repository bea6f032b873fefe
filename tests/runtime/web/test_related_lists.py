"""Related lists on the record page: what links to a record, counted and listed as the reader
may see it, with "View all" and an "Add" that opens the other form already linked."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from formloom.platform.actor import Actor
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import Role
from formloom.runtime.apps import get_runtime
from formloom.runtime.records import service
from formloom.runtime.web import related

from support_acl import login

APP = "crm_related"
BASE = f"/a/{APP}/f"
PHONE = "PHONE-SECRET-555"

DEFINITION = {
    "key": APP, "name": "CRM related",
    "roles": [{"key": "rep", "name": "Rep"}, {"key": "finance", "name": "Finance"}],
    "forms": [
        {"key": "customer", "name": "Customer", "title_field": "name",
         "fields": [{"key": "name", "type": "text", "label": "Name", "required": True},
                    {"key": "tier", "type": "select", "label": "Tier", "options": ["A", "B", "C"]}]},
        {"key": "contact", "name": "Contact", "title_field": "name",
         "fields": [{"key": "name", "type": "text", "label": "Name", "required": True},
                    {"key": "customer", "type": "link", "form": "customer", "label": "Customer"},
                    {"key": "phone", "type": "text", "label": "Phone"},
                    {"key": "email", "type": "email", "label": "Email"}]},
        {"key": "deal", "name": "Deal", "title_field": "title",
         "fields": [{"key": "title", "type": "text", "label": "Title", "required": True},
                    {"key": "customer", "type": "link", "form": "customer", "label": "Customer"},
                    {"key": "referrer", "type": "link", "form": "customer", "label": "Referred by"},
                    {"key": "amount", "type": "number", "label": "Amount"},
                    {"key": "lines", "type": "subform", "label": "Lines",
                     "fields": [{"key": "buyer", "type": "link", "form": "customer", "label": "Buyer"}]}]},
        {"key": "note", "name": "Note", "title_field": "subject",
         "fields": [{"key": "subject", "type": "text", "label": "Subject", "required": True},
                    {"key": "customers", "type": "link", "form": "customer", "multiple": True, "label": "Customers"}]},
        {"key": "invoice", "name": "Invoice", "title_field": "number",
         "fields": [{"key": "number", "type": "text", "label": "Number"},
                    {"key": "customer", "type": "link", "form": "customer", "label": "Customer"}]},
        {"key": "ticket", "name": "Ticket", "title_field": "subject",
         "fields": [{"key": "subject", "type": "text", "label": "Subject"},
                    {"key": "customer", "type": "link", "form": "customer", "label": "Customer"},
                    {"key": "escalated", "type": "link", "form": "customer", "label": "Escalated to"}]},
    ],
    "permissions": [
        {"form": "customer", "to": {"role": "rep"}, "preset": "view_all",
         "rows": {"field": "tier", "op": "in", "value": ["A", "B"]}},
        {"form": "contact", "to": {"role": "rep"}, "preset": "add_view_all", "fields": {"hidden": ["phone"]}},
        {"form": "deal", "to": {"role": "rep"}, "preset": "manage_all"},
        {"form": "note", "to": {"role": "rep"}, "preset": "view_all"},
        {"form": "invoice", "to": {"role": "finance"}, "preset": "manage_all"},  # and nobody else
        {"form": "ticket", "to": {"role": "rep"}, "preset": "add_view_all",
         "fields": {"readonly": ["customer"], "hidden": ["escalated"]}},
    ],
}


@dataclass
class World:
    rt: object
    admin: object
    rep: object
    ids: dict[str, int]


def _create(actor, rt, form, fields) -> int:
    return service.create(actor, rt, form, fields)["id"]


@pytest.fixture
def world(make) -> World:
    admin = make.user("Ada Admin", admin=True)
    rep = make.user("Rex Rep")
    with write_transaction():
        role = Role(key="rep", name="Rep")
        db.session.add(role)
        db.session.merge(rep).roles = [role]
    make.install(DEFINITION, owner=admin, members=[rep])
    rt = get_runtime(APP)
    actor = Actor.from_user(admin)
    acme = _create(actor, rt, "customer", {"name": "Acme", "tier": "A"})
    other = _create(actor, rt, "customer", {"name": "Globex", "tier": "A"})
    hidden = _create(actor, rt, "customer", {"name": "Secret Co", "tier": "C"})
    for i in range(1, 8):
        _create(actor, rt, "contact", {"name": f"Contact {i}", "customer": acme, "phone": f"{PHONE}-{i}",
                                       "email": f"c{i}@acme-corp.com"})
    _create(actor, rt, "contact", {"name": "Globex person", "customer": other})
    _create(actor, rt, "deal", {"title": "Big deal", "customer": acme, "amount": 1200,
                                "lines": [{"buyer": other}]})
    _create(actor, rt, "deal", {"title": "Globex deal", "customer": other, "lines": [{"buyer": acme}]})
    _create(actor, rt, "note", {"subject": "Kick-off", "customers": [acme, other]})
    _create(actor, rt, "note", {"subject": "Globex only", "customers": [other]})
    _create(actor, rt, "invoice", {"number": "INV-1", "customer": acme})
    _create(actor, rt, "ticket", {"subject": "Printer jam", "customer": acme, "escalated": acme})
    return World(rt, admin, rep, {"acme": acme, "other": other, "hidden": hidden})


def _cards(page) -> dict:
    return {c.attrs["data-related"]: c for c in page.select("section", cls="fl-related")}


def _title(card) -> str:
    return "".join(t for t in card.one("h2").children if isinstance(t, str)).strip()


def _count(card) -> str:
    return card.one(data_related_count="").text


def _rows(card) -> list[str]:
    return [row.select("td")[0].text for row in card.select("tr")[1:]]


def _chosen(form, name: str) -> list[str]:
    """The titles a link picker holds for field `name`."""
    return [chip.text for chip in form.select(cls="fl-chip") if chip.select("input", name=name)]


def _headers(card) -> list[str]:
    return [th.text for th in card.select("th")]


def test_the_customer_page_lists_each_form_linking_to_it(any_db, app, world, html):
    page = html(login(app, world.admin).get(f"{BASE}/customer/r/{world.ids['acme']}"))
    cards = _cards(page)
    # Form order; the deal lines' "Buyer" links rows of a deal, so it is no related list.
    assert list(cards) == ["contact.customer", "deal.customer", "deal.referrer", "note.customers", "invoice.customer",
                           "ticket.customer", "ticket.escalated"]
    contacts = cards["contact.customer"]
    assert (_title(contacts), _count(contacts)) == ("Contact", "7")
    assert _rows(contacts) == [f"Contact {i}" for i in (7, 6, 5, 4, 3)]  # the newest five
    assert _headers(contacts) == ["Name", "Phone", "Email"]  # the link back here is no column
    assert contacts.one("a", data_related_all="").attrs["href"] == f"{BASE}/contact?f_customer={world.ids['acme']}"
    deals = cards["deal.customer"]
    assert (_title(deals), _count(deals), _rows(deals)) == ("Deal (Customer)", "1", ["Big deal"])
    assert deals.select("td", cls="fl-num")[0].text == "1,200"
    empty = cards["deal.referrer"]
    assert (_title(empty), _count(empty)) == ("Deal (Referred by)", "0")
    assert "No Deal records link here yet." in empty.text and empty.select("table") == []
    assert empty.one("a", data_related_add="")  # an empty list still offers to add one
    notes = cards["note.customers"]
    assert (_title(notes), _count(notes), _rows(notes)) == ("Note", "1", ["Kick-off"])  # a multiple link


def test_the_rep_sees_only_what_their_grants_show(app, world, html):
    page = html(login(app, world.rep).get(f"{BASE}/customer/r/{world.ids['acme']}"))
    cards = _cards(page)
    assert "invoice.customer" not in cards and "Invoice" not in page.text  # no grant on invoices
    contacts = cards["contact.customer"]
    assert _headers(contacts) == ["Name", "Email"] and PHONE not in page.text
    assert _count(contacts) == "7"
    assert cards["note.customers"].select("a", data_related_add="") == []  # may not add notes
    assert cards["contact.customer"].one("a", data_related_add="")
    # A link hidden from the rep lists nothing; one they may not set offers no "Add".
    assert "ticket.escalated" not in cards and "Escalated to" not in page.text
    tickets = cards["ticket.customer"]
    assert _title(tickets) == "Ticket (Customer)" and _rows(tickets) == ["Printer jam"]
    assert tickets.select("a", data_related_add="") == []


def test_add_opens_the_new_page_linked_and_saving_creates_the_linked_record(app, world, html):
    web = login(app, world.rep)
    page = html(web.get(f"{BASE}/customer/r/{world.ids['acme']}"))
    add = _cards(page)["deal.customer"].one("a", data_related_add="").attrs["href"]
    # Linked to Acme, and back to Acme once saved (see test_related_ux.py).
    assert add == f"{BASE}/deal/new?customer={world.ids['acme']}&next={BASE}/customer/r/{world.ids['acme']}"
    form = html(web.get(add))
    assert _chosen(form, "customer") == ["Acme"] and form.value("customer") == str(world.ids["acme"])
    assert _chosen(form, "referrer") == []  # only the link the URL names
    resp = web.post(add, data={"title": "Second deal", "customer": str(world.ids["acme"])})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:1500]
    page = html(web.get(f"{BASE}/customer/r/{world.ids['acme']}"))
    deals = _cards(page)["deal.customer"]
    assert _count(deals) == "2" and _rows(deals) == ["Second deal", "Big deal"]


def test_a_prefill_the_reader_may_not_see_or_set_is_ignored(any_db, app, world, html):
    web = login(app, world.rep)
    form = html(web.get(f"{BASE}/deal/new?customer={world.ids['hidden']}"))
    assert _chosen(form, "customer") == [] and "Secret Co" not in form.text
    form = html(web.get(f"{BASE}/deal/new?customer=abc&referrer=999999999999"))
    assert _chosen(form, "customer") == _chosen(form, "referrer") == []
    form = html(web.get(f"{BASE}/ticket/new?customer={world.ids['acme']}&escalated={world.ids['acme']}"))
    assert "Acme" not in form.one("main").text  # read-only and hidden links are not set from the URL
    admin = login(app, world.admin)
    form = html(admin.get(f"{BASE}/deal/new?customer={world.ids['hidden']}&title=Injected"))
    assert _chosen(form, "customer") == ["Secret Co"]  # the admin sees it: prefilled
    assert form.value("title") == ""  # only links are read from the URL


def test_view_all_lists_only_the_linked_records(any_db, app, world, html):
    web = login(app, world.rep)
    page = html(web.get(f"{BASE}/customer/r/{world.ids['acme']}"))
    url = _cards(page)["note.customers"].one("a", data_related_all="").attrs["href"]
    listing = html(web.get(url))
    titles = [a.text for a in listing.select("a", cls="fl-cell-title")]
    assert titles == ["Kick-off"]
    assert listing.value("f_customers") == str(world.ids["acme"])  # the filter bar shows it...
    assert "Customers: Acme" in listing.text  # ...by the customer's name
    contacts = html(web.get(f"{BASE}/contact?f_customer={world.ids['acme']}"))
    assert "7 matching records" in contacts.text and "Globex person" not in contacts.text
    everyone = html(web.get(f"{BASE}/contact"))
    assert "Globex person" in everyone.text
    for odd in ("999999999999", "abc"):  # not an id: no filter, and no error either
        assert "Globex person" in html(web.get(f"{BASE}/contact?f_customer={odd}")).text


def test_lists_are_capped_in_number_and_count(app, world, html, monkeypatch):
    monkeypatch.setattr(related, "MAX_LISTS", 2)
    monkeypatch.setattr(related, "COUNT_CAP", 5)
    page = html(login(app, world.admin).get(f"{BASE}/customer/r/{world.ids['acme']}"))
    cards = _cards(page)
    assert list(cards) == ["contact.customer", "deal.customer"]  # the first two, in form order
    assert _count(cards["contact.customer"]) == "5+"
