"""A kanban view's page: columns in the option order with "empty", counts and totals of the
reader's rows, a column's next cards on their own, and moves through the records service
(accepted, refused by a required field, by a stale version, by a grant)."""
from __future__ import annotations

import json

import pytest

from formloom.app_templates import load_definition
from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import Role
from formloom.runtime.records import service
from formloom.runtime.web import kanban

APP = "/a/sales_mini"
BOARD = f"{APP}/v/pipeline"


@pytest.fixture
def world(make, owner):
    with write_transaction():
        db.session.add(Role(key="rep", name="Rep"))
    rep = make.user("Rita Rep", roles=[db.session.query(Role).filter_by(key="rep").one()])
    d = load_definition("sales_mini")
    stage = next(f for f in next(f for f in d["forms"] if f["key"] == "deal")["fields"] if f["key"] == "stage")
    assert stage["options"][4] == {"value": "won", "label": "赢单", "label_en": "Won"}  # a column reads as its label
    d["roles"] = [{"key": "rep", "name": "Rep"}]
    d["permissions"] = [
        {"form": "company", "to": {"role": "rep"}, "preset": "view_all"},
        {"form": "deal", "to": {"role": "rep"}, "preset": "manage_own"}]
    rt = make.install(d, owner=owner)
    acme = service.create(make.actor(owner), rt, "company", {"name": "Acme"})["id"]
    return rt, rep, acme


def deal(make, user, rt, company, title, stage, amount):
    return service.create(make.actor(user), rt, "deal", {"title": title, "company": company, "stage": stage,
                                                          "amount": amount})


def columns(page) -> dict:
    out = {}
    for col in page.select("section", **{"data-column": ""}):
        out[col.attrs["aria-label"]] = {
            "count": col.one(**{"data-count": ""}).text,
            "totals": [t.text for t in col.select("strong", **{"data-total": ""})],
            "cards": [a.text for a in col.select("a", cls="fl-kcard-title")]}
    return out


def move(client, record: dict, to, version=None):
    token = client.get(BOARD).get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]
    return client.post(f"{BOARD}/move", data={"record": record["id"], "version": version or record["version"],
                                              "to": json.dumps(to)}, headers={"X-CSRFToken": token})


def test_columns_in_option_order_with_counts_totals_and_cards(any_db, client, auth, make, owner, world, html):
    rt, rep, acme = world
    deal(make, owner, rt, acme, "Alpha", "new", 100)
    deal(make, owner, rt, acme, "Beta", "won", 250.5)
    deal(make, owner, rt, acme, "Gamma", "won", 1000)
    deal(make, rep, rt, acme, "Rita's", "won", 7)
    auth.login(owner.email)
    cols = columns(html(client.get(BOARD)))
    won = "Won"
    assert list(cols) == ["New", "Qualified", "Proposal", "Negotiation", "Won", "Lost", "(empty)"]
    assert cols[won]["count"] == "3" and cols[won]["cards"] == ["Gamma", "Beta", "Rita's"]  # -amount
    assert cols[won]["totals"][0] == "1,257.50"  # a sum's digits grouped
    assert cols["New"]["count"] == "1" and cols["Lost"]["count"] == "0" and cols["Lost"]["cards"] == []
    # A rep sees the rows she may see: the counts are hers, in Chinese.
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    won = "赢单"
    auth.login(rep.email)
    page = html(client.get(BOARD))
    cols = columns(page)
    assert cols[won]["count"] == "1" and cols[won]["cards"] == ["Rita's"] and cols[won]["totals"][0] == "7.00"
    assert cols["新建"]["count"] == "0"
    assert "没有卡片" in page.text  # "No cards", in Chinese


def test_a_column_pages_on_its_own(any_db, client, auth, make, owner, world, html, monkeypatch):
    rt, _rep, acme = world
    monkeypatch.setattr(kanban, "CARDS", 2)
    for i in range(5):
        deal(make, owner, rt, acme, f"N{i}", "new", i)
    deal(make, owner, rt, acme, "W", "won", 1)
    auth.login(owner.email)
    page = html(client.get(BOARD))
    new = page.one("section", **{"data-group": '"new"'})
    assert [a.text for a in new.select("a", cls="fl-kcard-title")] == ["N4", "N3"]
    more = new.one(**{"data-more": ""}).attrs["hx-get"]
    assert page.one("section", **{"data-group": '"won"'}).select(**{"data-more": ""}) == []
    seen = []
    while more:
        part = html(client.get(more))
        seen += [a.text for a in part.select("a", cls="fl-kcard-title")]
        nxt = part.select(**{"data-more": ""})
        more = nxt[0].attrs["hx-get"] if nxt else None
    assert seen == ["N2", "N1", "N0"]


def test_a_move_writes_the_field_and_answers_the_new_counts(client, auth, make, owner, world):
    rt, _rep, acme = world
    a = deal(make, owner, rt, acme, "Alpha", "new", 100)
    auth.login(owner.email)
    resp = move(client, a, "won")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["version"] == a["version"] + 1
    assert body["columns"]['"won"']["count"] == "1" and body["columns"]['"new"']["count"] == "0"
    assert f'data-version="{body["version"]}"' in body["card"]
    assert service.get(make.actor(owner), rt, "deal", a["id"])["fields"]["stage"] == "won"
    history = service.history(make.actor(owner), rt, "deal", a["id"])
    assert any("stage" in (h.changes or {}) for h in history)


def test_refused_moves_say_why_and_change_nothing(client, auth, make, owner, world):
    rt, rep, acme = world
    a = deal(make, owner, rt, acme, "Alpha", "new", 100)
    auth.login(owner.email)
    # A required field: "lost" needs a reason.
    resp = move(client, a, "lost")
    assert resp.status_code == 422
    assert "Lost reason" in resp.get_json()["message"] and "The card was not moved" in resp.get_json()["message"]
    # A stale version: someone changed the deal meanwhile.
    service.update(make.actor(owner), rt, "deal", a["id"], {"amount": 5})
    resp = move(client, a, "won")
    assert resp.status_code == 409 and "Someone else changed this record" in resp.get_json()["message"]
    assert service.get(make.actor(owner), rt, "deal", a["id"])["fields"]["stage"] == "new"
    # A grant: a rep may not move the owner's deal (she does not even see it).
    auth.login(rep.email)
    resp = move(client, service.get(make.actor(owner), rt, "deal", a["id"]), "won")
    assert resp.status_code in (403, 404) and resp.get_json()["message"]
    assert service.get(make.actor(owner), rt, "deal", a["id"])["fields"]["stage"] == "new"


def test_a_search_and_a_filter_narrow_every_column(client, auth, make, owner, world, html, monkeypatch):
    from urllib.parse import quote

    rt, _rep, acme = world
    monkeypatch.setattr(kanban, "CARDS", 1)
    for title, stage, amount in [("Big one", "new", 900), ("Big two", "new", 800), ("Small", "new", 5),
                                 ("Big won", "won", 700)]:
        deal(make, owner, rt, acme, title, stage, amount)
    auth.login(owner.email)
    cond = quote(json.dumps({"field": "amount", "op": "gte", "value": 100}))
    page = html(client.get(f"{BOARD}?filter={cond}"))
    cols = columns(page)
    assert cols["New"]["count"] == "2" and cols["New"]["cards"] == ["Big one"] and cols["Won"]["count"] == "1"
    assert cols["New"]["totals"][0] == "1,700.00"
    more = page.one("section", **{"data-group": '"new"'}).one(**{"data-more": ""}).attrs["hx-get"]
    assert [a.text for a in html(client.get(more)).select("a", cls="fl-kcard-title")] == ["Big two"]  # not "Small"
    assert columns(html(client.get(f"{BOARD}?q=two")))["New"]["cards"] == ["Big two"]
