"""A table view's reader tools: the quick search and the filter builder's condition (in the
URL, ANDed with the view's filter, counted in groups and totals), a filter naming a field the
reader may not see refused and left out, and inline edit of a cell through the records
service (saved with its version; refused by validation, a stale version or a grant)."""
from __future__ import annotations

import json
from urllib.parse import quote

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
    d["roles"] = [{"key": "rep", "name": "Rep"}]
    d["permissions"] = [
        {"form": "company", "to": {"role": "rep"}, "preset": "view_all"},
        {"form": "deal", "to": {"role": "rep"}, "preset": "view_all", "fields": {"hidden": ["probability"]}}]
    rt = make.install(d, owner=owner)
    acme = service.create(make.actor(owner), rt, "company", {"name": "Acme"})["id"]
    made = {}
    for title, stage, amount, close in [("Alpha", "new", 100, "2026-01-05"), ("Beta", "won", 250, "2026-02-01"),
                                        ("Gamma", "won", 1000, "2026-03-01"), ("Delta", "lost", 40, None)]:
        fields = {"title": title, "company": acme, "stage": stage, "amount": amount, "close_date": close}
        if stage == "lost":
            fields["lost_reason"] = "price"
        made[title] = service.create(make.actor(owner), rt, "deal", fields)
    return rt, rep, made


def titles(page) -> list[str]:
    return [a.text for a in page.one("table", **{"data-view-records": ""}).select("a", cls="fl-cell-title")]


def url(view: str, condition) -> str:
    return f"{APP}/v/{view}?filter={quote(json.dumps(condition))}"


def test_search_and_a_built_filter_narrow_the_rows_groups_and_totals(any_db, client, auth, owner, world, html):
    _rt, _rep, _made = world
    auth.login(owner.email)
    assert titles(html(client.get(f"{APP}/v/my_deals?q=amm"))) == ["Gamma"]
    cond = {"all": [{"field": "stage", "op": "in", "value": ["won", "lost"]}, {"field": "amount", "op": "gte", "value": 200}]}
    page = html(client.get(url("my_deals", cond) + "&group_by=stage"))
    assert titles(page) == ["Beta", "Gamma"]
    assert "1,250.00" in page.one(**{"data-view-totals": ""}).text and "2 records" in page.text
    groups = {tr.one("th").text: tr.select("td")[0].text for tr in
              page.one("table", **{"data-view-groups": ""}).one("tbody").select("tr")}
    assert groups["Won"] == "2" and groups["Lost"] == "0" and groups["New"] == "0"
    # The builder gets the filter back, to show as rows.
    assert json.loads(page.one("input", **{"data-filter-value": ""}).attrs["value"]) == cond
    fields = {f["key"]: f for f in json.loads(page.one(**{"data-filter-builder": ""}).attrs["data-fields"])}
    assert "gte" in fields["amount"]["ops"] and "contains" in fields["title"]["ops"]
    assert "before" in fields["close_date"]["ops"] and ["won", "Won"] in fields["stage"]["options"]


def test_a_filter_on_a_hidden_field_is_left_out_and_said(client, auth, world, html):
    _rt, rep, _made = world
    auth.login(rep.email)
    resp = client.get(f"{APP}/v/my_deals?filter=" + quote(json.dumps({"field": "probability", "op": "gt", "value": 1})))
    page = html(resp)
    assert resp.status_code == 200 and page.one(**{"data-filter-error": ""}).text.startswith("The filter in this link")
    fields = [f["key"] for f in json.loads(page.one(**{"data-filter-builder": ""}).attrs["data-fields"])]
    assert "probability" not in fields and "amount" in fields
    assert html(client.get(f"{APP}/v/my_deals?filter=nonsense")).select(**{"data-filter-error": ""})


def _token(client) -> str:
    return client.get(f"{APP}/v/my_deals").get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]


def test_inline_edit_saves_through_the_service_or_says_why_not(any_db, client, auth, make, owner, world, html):
    rt, rep, made = world
    auth.login(owner.email)
    page = html(client.get(f"{APP}/v/my_deals"))
    cell = page.select("td", **{"data-edit": "amount"})[0]
    assert cell.attrs["data-raw"] == "100" or cell.attrs["data-raw"] == "100.0"
    assert page.select("td", **{"data-edit": "title"}) == []  # the title cell is the record's link
    token = _token(client)
    alpha = made["Alpha"]

    def post(record, field, value, version=None):
        return client.post(f"{APP}/v/my_deals/cell", headers={"X-CSRFToken": token}, data={
            "record": record["id"], "version": version or record["version"], "field": field, "value": value})

    resp = post(alpha, "amount", "1234.5")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["version"] == alpha["version"] + 1 and "1,234.50" in resp.get_json()["html"]
    assert service.get(make.actor(owner), rt, "deal", alpha["id"])["fields"]["amount"] == 1234.5
    resp = post(alpha, "amount", "-5", version=alpha["version"] + 1)  # the field's minimum is 0
    assert resp.status_code == 422 and resp.get_json()["message"].startswith("Not saved: Amount")
    resp = post(alpha, "amount", "7")  # an old version: someone changed it meanwhile
    assert resp.status_code == 409 and "Someone else changed this record" in resp.get_json()["message"]
    resp = post(alpha, "stage", "lost", version=alpha["version"] + 1)  # lost needs a reason
    assert resp.status_code == 422 and "Lost reason" in resp.get_json()["message"]
    assert service.get(make.actor(owner), rt, "deal", alpha["id"])["fields"]["amount"] == 1234.5
    # A rep who may only read: no editable cells, and a posted change is refused.
    auth.login(rep.email)
    assert html(client.get(f"{APP}/v/my_deals")).select("td", **{"data-edit": "amount"}) == []
    token = _token(client)
    assert post(alpha, "amount", "1", version=alpha["version"] + 1).status_code == 400


def test_the_record_list_takes_the_same_filter(client, auth, owner, world, html):
    _rt, rep, _made = world
    auth.login(owner.email)
    cond = {"field": "amount", "op": "lt", "value": 200}
    page = html(client.get(f"{APP}/f/deal?filter=" + quote(json.dumps(cond))))
    assert sorted(a.text for a in page.select("a", cls="fl-cell-title")) == ["Alpha", "Delta"]
    assert json.loads(page.one("input", **{"data-filter-value": ""}).attrs["value"]) == cond
    auth.login(rep.email)
    page = html(client.get(f"{APP}/f/deal?filter=" + quote(json.dumps({"field": "probability", "op": "gt", "value": 1}))))
    assert page.select(**{"data-filter-error": ""}) and len(page.select("a", cls="fl-cell-title")) == 4
