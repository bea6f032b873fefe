"""The "Columns" panel of the record list and of a table view (one mechanism): the reader's
choice and order are kept for them alone, per list or view; a field hidden from them is never
offered and refused when posted; "Reset" brings the default columns back."""
from __future__ import annotations

import pytest

from formloom.app_templates import load_definition
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import Role, UserPreference
from formloom.runtime.records import service

APP = "/a/sales_mini"


@pytest.fixture
def world(make, owner):
    with write_transaction():
        db.session.add(Role(key="rep", name="Rep"))
    rep = make.user("Rita Rep", roles=[db.session.query(Role).filter_by(key="rep").one()])
    d = load_definition("sales_mini")
    d["roles"] = [{"key": "rep", "name": "Rep"}]
    d["permissions"] = [
        {"form": "company", "to": {"role": "rep"}, "preset": "view_all"},
        {"form": "deal", "to": {"role": "rep"}, "preset": "view_all", "fields": {"hidden": ["probability"]}}]
    rt = make.install(d, owner=owner)
    acme = service.create(make.actor(owner), rt, "company", {"name": "Acme"})["id"]
    service.create(make.actor(owner), rt, "deal", {"title": "Alpha", "company": acme, "stage": "new",
                                                   "amount": 100, "probability": 30})
    return rt, rep


def headers(page) -> list[str]:
    """The table's column headers ([] when the page draws no table)."""
    return [th.text.strip() for head in page.select("thead") for th in head.select("th")]


def offered(page) -> list[str]:
    return [i.attrs["value"] for i in page.one(**{"data-column-chooser": ""}).select("input", name="columns")]


def ticked(page) -> list[str]:
    return [i.attrs["value"] for i in page.one(**{"data-column-chooser": ""}).select("input", name="columns")
            if "checked" in i.attrs]


def token(client, url) -> str:
    return client.get(url).get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]


def test_the_list_shows_the_chosen_columns_in_order_and_reset_brings_the_default_back(
        any_db, client, auth, owner, world, html):
    auth.login(owner.email)
    page = html(client.get(f"{APP}/f/deal"))
    default = headers(page)
    assert default[:4] == ["Title", "Company", "Stage", "Amount"] and "Probability %" in default
    assert offered(page)[0] == "company" and "title" not in offered(page)  # the title is always first
    csrf = token(client, f"{APP}/f/deal")
    resp = client.post(f"{APP}/f/deal/columns?back=stage%3Dnew%26cursor%3Dabc", headers={"X-CSRFToken": csrf},
                       data={"columns": ["amount", "stage"], "action": "save"})
    assert resp.status_code == 302 and resp.location.endswith("/a/sales_mini/f/deal?stage=new")
    page = html(client.get(f"{APP}/f/deal"))
    assert headers(page) == ["Title", "Amount", "Stage", "Updated"]
    assert ticked(page) == ["amount", "stage"] and offered(page)[:2] == ["amount", "stage"]
    assert page.one("td", cls="fl-card-title").text.startswith("Alpha")
    # Kept for this list only: the view of the same form keeps its own columns.
    assert headers(html(client.get(f"{APP}/v/my_deals")))[:3] == ["Title", "Company", "Stage"]
    resp = client.post(f"{APP}/f/deal/columns", headers={"X-CSRFToken": csrf}, data={"action": "reset"})
    assert resp.status_code == 302
    assert headers(html(client.get(f"{APP}/f/deal"))) == default
    assert db.session.query(UserPreference).count() == 0


def test_the_choice_is_the_readers_own(client, auth, owner, world, html):
    _rt, rep = world
    auth.login(owner.email)
    client.post(f"{APP}/f/deal/columns", headers={"X-CSRFToken": token(client, f"{APP}/f/deal")},
                data={"columns": ["stage"]})
    assert headers(html(client.get(f"{APP}/f/deal"))) == ["Title", "Stage", "Updated"]
    auth.logout()
    auth.login(rep.email)
    assert headers(html(client.get(f"{APP}/f/deal")))[:3] == ["Title", "Company", "Stage"]


def test_a_hidden_field_is_never_offered_and_refused_when_posted(client, auth, world, html):
    _rt, rep = world
    auth.login(rep.email)
    for url in (f"{APP}/f/deal", f"{APP}/v/my_deals"):
        page = html(client.get(url))
        assert "probability" not in offered(page) and "amount" in offered(page)
        assert not any(h.startswith("Probability") for h in headers(page))
        resp = client.post(url + "/columns", headers={"X-CSRFToken": token(client, url)},
                           data={"columns": ["amount", "probability"]})
        assert resp.status_code == 400
        assert not any(h.startswith("Probability") for h in headers(html(client.get(url))))
    assert db.session.query(UserPreference).count() == 0


def test_a_table_view_takes_the_chosen_columns_and_resets_to_its_own(any_db, client, auth, owner, world, html):
    auth.login(owner.email)
    url = f"{APP}/v/my_deals"
    assert headers(html(client.get(url))) == ["Title", "Company", "Stage", "Amount", "Probability %", "Expected close"]
    csrf = token(client, url)
    assert client.post(url + "/columns", headers={"X-CSRFToken": csrf},
                       data={"columns": ["amount", "title", "lost_reason"]}).status_code == 302
    page = html(client.get(url))
    assert headers(page) == ["#", "Amount", "Title", "Lost reason"]  # the title not first: the id column is
    assert "Your columns are kept" in page.text
    # Nothing ticked is not a table: the choice is refused, the columns stay.
    client.post(url + "/columns", headers={"X-CSRFToken": csrf}, data={"action": "save"})
    assert headers(html(client.get(url)))[1:] == ["Amount", "Title", "Lost reason"]
    client.post(url + "/columns", headers={"X-CSRFToken": csrf}, data={"action": "reset"})
    assert headers(html(client.get(url))) == ["Title", "Company", "Stage", "Amount", "Probability %", "Expected close"]


def test_the_panel_speaks_chinese(client, auth, owner, world, html):
    auth.login(owner.email)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh"
    panel = html(client.get(f"{APP}/f/deal")).one(**{"data-column-chooser": ""})
    assert panel.one("button", **{"data-columns-button": ""}).text.strip() == "列"
    assert "恢复默认" in panel.text and "赢率 %" in panel.text and "Reset" not in panel.text
