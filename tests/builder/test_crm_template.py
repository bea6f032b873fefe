"""The CRM template pack: it validates, installs in Chinese and English on both databases,
its sample data holds together, a quote goes through its approval and automations act."""
from __future__ import annotations

import re
from datetime import date

import pytest

from formloom.app_templates import crm, people
from formloom.builder.demo_org import ensure_people
from formloom.builder.templates import fill_sample_data, install_template
from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import User
from formloom.runtime.schema import validate_definition

from support_formloom import browser

SMALL = 0.05  # 10 customers, 30 opportunities: enough for every rule, quick to load
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_the_pack_validates_in_both_languages_and_is_pure_data():
    for language in ("zh", "en"):
        assert validate_definition(crm.definition(language)) == []
    source = crm.source()
    assert {f["key"] for f in source["forms"]} >= {
        "customer", "contact", "lead", "opportunity", "follow_up", "product", "quote", "contract", "order",
        "payment", "ticket", "sales_target"}
    unlabelled = [(form["key"], f["key"]) for form in source["forms"] for f in form["fields"]
                  if not (f.get("label") and f.get("label_en"))]
    assert unlabelled == []  # every field speaks both languages


def test_the_template_list_names_the_crm(app, make, api_as):
    api = api_as(make.user("Reader"))
    items = {t["key"]: t for t in api.get("/api/v1/templates").get_json()}
    assert set(items) >= {"crm", "sales_mini"}
    assert items["crm"]["languages"] == ["zh", "en"] and items["crm"]["description"]


def test_installs_twice_in_each_language_as_independent_apps(any_db, app, make, api_as):
    api = api_as(make.user("Builder"))
    zh = api.post("/api/v1/apps/from-template", json={"template": "crm", "language": "zh", "sample_data": True,
                                                      "scale": SMALL})
    assert zh.status_code == 201, zh.get_json()
    en = api.post("/api/v1/apps/from-template", json={"template": "crm", "key": "crm_en", "language": "en",
                                                      "sample_data": True, "scale": SMALL})
    assert en.status_code == 201, en.get_json()
    zh_def = api.get("/api/v1/apps/crm/definition").get_json()
    en_def = api.get("/api/v1/apps/crm_en/definition").get_json()
    assert (zh_def["name"], en_def["name"]) == ("客户关系管理", "CRM")
    zh_customer = next(f for f in zh_def["forms"] if f["key"] == "customer")
    en_customer = next(f for f in en_def["forms"] if f["key"] == "customer")
    assert (zh_customer["name"], en_customer["name"]) == ("客户", "Customer")
    tier = {f["key"]: f for f in en_customer["fields"]}["tier"]
    assert tier["label"] == "Tier" and tier["options"][0]["label"] == "A Key account"
    assert {f["key"]: f for f in zh_customer["fields"]}["tier"]["options"][0]["label"] == "A 大客户"
    zh_names = [r["fields"]["name"] for r in api.get("/api/v1/apps/crm/forms/customer/records?limit=50")
                .get_json()["items"]]
    en_names = [r["fields"]["name"] for r in api.get("/api/v1/apps/crm_en/forms/customer/records?limit=50")
                .get_json()["items"]]
    assert len(zh_names) == len(en_names) == 10
    assert all(CJK.search(n) for n in zh_names) and not any(CJK.search(n) for n in en_names)
    bad = api.post("/api/v1/apps/from-template", json={"template": "crm", "key": "crm_fr", "language": "fr"})
    assert bad.status_code == 422


# -- sample data ---------------------------------------------------------------------------------------
@pytest.fixture
def org(app, make):
    """The CRM installed with its demo organisation and sample data: person key -> User."""
    admin = make.user("Admin", admin=True)
    actor = Actor.from_user(admin)
    install_template("crm", actor, language="zh")
    ids = ensure_people(people("crm", "zh"), "secret-pass-1")
    fill_sample_data("crm", actor, "crm", SMALL, "zh", ids)
    users = {k: db.session.get(User, v) for k, v in ids.items() if k in crm.sample.PEOPLE}
    return users


def everything(api, form: str) -> list[dict]:
    out, cursor = [], None
    while True:
        body = api.get(f"/api/v1/apps/crm/forms/{form}/records?limit=500" + (f"&cursor={cursor}" if cursor else "")
                       ).get_json()
        out += [{"id": r["id"], "owner": r["owner"], **r["fields"]} for r in body["items"]]
        cursor = body.get("next_cursor")
        if not cursor:
            return out


def test_sample_data_holds_together(org, api_as):
    api = api_as(org["director"])
    opps = everything(api, "opportunity")
    contracts = everything(api, "contract")
    orders = everything(api, "order")
    payments = everything(api, "payment")
    quotes = everything(api, "quote")
    customers = {c["id"]: c for c in everything(api, "customer")}
    follow_ups = everything(api, "follow_up")
    tickets = everything(api, "ticket")
    won = [o for o in opps if o["stage"] == "won"]
    assert won and any(o["stage"] == "lost" for o in opps) and any(o["stage"] == "proposal" for o in opps)
    for opp in won:
        [contract] = [c for c in contracts if c["opportunity"] == opp["id"]]
        assert contract["amount"] == opp["amount"] and contract["customer"] == opp["customer"]
        assert [q["id"] for q in quotes if q["opportunity"] == opp["id"]] == [contract["quote"]]
        assert [o["amount"] for o in orders if o["contract"] == contract["id"]] == [contract["amount"]]
        mine = [p for p in payments if p["contract"] == contract["id"]]
        assert mine and round(sum(p["planned_amount"] for p in mine), 2) == contract["amount"]
        received = round(sum(p["received_amount"] or 0 for p in mine), 2)
        assert received <= contract["amount"] and contract["received"] == received
    today = date.today().isoformat()
    for p in payments:
        short = (p["received_amount"] or 0) < p["planned_amount"]
        assert (p["status"] == "overdue") == (short and p["plan_date"] < today), p
    assert any(p["status"] == "overdue" for p in payments)
    order_dates = {o["id"]: o["order_date"] for o in orders}
    for p in payments:  # the payment cycle, for the payments dashboard
        assert p["order_date"] == order_dates[p["order"]]
        expected = (date.fromisoformat(p["received_date"]) - date.fromisoformat(p["order_date"])).days \
            if p["received_date"] else None
        assert p["cycle_days"] == expected, p
    for cid, customer in customers.items():
        won_total = round(sum(o["amount"] for o in won if o["customer"] == cid), 2)
        assert customer["won_amount"] == won_total
        assert customer["tier"] == ("A" if won_total >= 1_000_000 else "B" if won_total >= 100_000 else "C")
        dates = [f["follow_up_at"] for f in follow_ups if f["customer"] == cid]
        assert customer["last_contact_at"] == (max(dates) if dates else None)
    assert any(t["status"] != "closed" for t in tickets)
    assert all(1 <= t["satisfaction"] <= 5 for t in tickets if t["status"] == "closed")
    assert {o["owner"] for o in opps} <= {org[k].id for k in ("rep1", "rep2", "rep3", "rep4")}
    targets = everything(api, "sales_target")

    def within(t, day):
        return day is not None and t["start_date"] <= day <= t["end_date"]

    for t in targets:
        if t["dimension"] == "person":
            deals = [o for o in won if o["owner"] == t["owner"] and within(t, o["closed_date"])]
            paid = [p["received_amount"] for p in payments if p["owner"] == t["owner"] and within(t, p["received_date"])]
            assert t["actual_received"] == round(sum(paid), 2), t
        elif t["dimension"] == "region":
            deals = [o for o in won if o["region"] == t["region"] and within(t, o["closed_date"])]
        elif t["dimension"] == "product_line":
            deals = [o for o in won if o["product_line"] == t["product_line"] and within(t, o["closed_date"])]
        else:  # a team: its people's targets within its period
            mine = [p for p in targets if p["dimension"] == "person" and p["department"] == t["department"]
                    and t["start_date"] <= p["start_date"] and p["end_date"] <= t["end_date"]]
            assert mine and [p["team_target"] for p in mine] == [t["id"]] * len(mine)
            assert t["actual_won"] == round(sum(p["actual_won"] for p in mine), 2), t
            assert t["actual_received"] == round(sum(p["actual_received"] for p in mine), 2), t
            continue
        assert t["actual_won"] == round(sum(o["amount"] for o in deals), 2), t
        assert abs(t["baseline_completion"] - t["actual_won"] / t["baseline_target"] * 100) <= 0.05 + 1e-9  # 1 place
    assert sum(t["actual_won"] > 0 for t in targets if t["dimension"] == "person") >= 3
    assert {t["dimension"] for t in targets} == {"person", "team", "region", "product_line"}


def test_the_generator_is_deterministic_and_scales():
    small = crm.generate(scale=SMALL, today=date(2026, 6, 1))
    assert small == crm.generate(scale=SMALL, today=date(2026, 6, 1))
    bigger = crm.generate(scale=2 * SMALL, today=date(2026, 6, 1))
    assert len(bigger["opportunity"]) == 2 * len(small["opportunity"])
    assert small != crm.generate(scale=SMALL, seed=8, today=date(2026, 6, 1))


def test_a_manager_sees_her_teams_customers_and_not_the_other_teams(org, api_as):
    mine = {org[k].id for k in ("manager1", "rep1", "rep2")}
    seen = everything(api_as(org["manager1"]), "customer")
    assert seen and {c["owner"] for c in seen} <= mine
    everyone = everything(api_as(org["director"]), "customer")
    assert {c["id"] for c in seen} == {c["id"] for c in everyone if c["owner"] in mine}
    rep = everything(api_as(org["rep3"]), "customer")
    assert rep and {c["owner"] for c in rep} == {org["rep3"].id}
    deal = everything(api_as(org["rep3"]), "opportunity")[0]
    assert "target_person" in deal and "target_region" not in deal  # the director's region targets stay his
    assert "target_region" in everything(api_as(org["director"]), "opportunity")[0]


def test_a_sample_quote_reads_as_approved_history_on_its_page(app, org, api_as):
    [quote] = api_as(org["rep1"]).get("/api/v1/apps/crm/forms/quote/records?limit=1").get_json()["items"]
    assert quote["flow_status"] == "approved"
    page = browser(app, org["rep1"]).get(f"/a/crm/f/quote/r/{quote['id']}").get_data(as_text=True)
    assert 'data-status="approved"' in page and "Submit for approval" not in page


def test_the_new_app_page_installs_the_crm_in_english_and_opens_it(app, make):
    user = make.user("Gallery")
    client = browser(app, user)
    page = client.get("/apps/new?template=crm").get_data(as_text=True)
    assert 'id="template-crm"' in page and 'data-key="crm"' in page  # the CRM's card, its key proposed
    assert re.search(r'<input[^>]*name="key"[^>]*value="crm"', page)
    assert "Opportunity" in page  # the card lists the template's forms
    apps_page = client.get("/").get_data(as_text=True)
    assert "/templates" not in apps_page and apps_page.count("data-new-app") == 1  # one way in from the apps
    old = client.get("/templates")  # the old gallery's address still leads there
    assert old.status_code == 308 and old.headers["Location"].endswith("/apps/new")
    bad = client.post("/apps/new", data={"template": "crm", "key": "Not A Key", "language": "en"})
    assert bad.status_code == 422 and "lower-case letters" in bad.get_data(as_text=True)
    french = client.post("/apps/new", data={"template": "crm", "key": "crm", "language": "fr"})
    assert french.status_code == 422  # only the template's languages are offered
    done = client.post("/apps/new", data={"template": "crm", "key": "", "name": "", "language": "en"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/a/crm")  # an empty key: the free one
    home = client.get("/a/crm").get_data(as_text=True)
    assert "Opportunity" in home and "The app is installed." in home and "CRM" in home  # the template's name
    again = client.post("/apps/new", data={"template": "crm", "key": "crm", "language": "zh"})
    assert again.status_code == 422 and "exists already" in again.get_data(as_text=True)
    assert 'data-key="crm_2"' in client.get("/apps/new").get_data(as_text=True)  # the next free key
    assert re.search(r'<input[^>]*name="key"[^>]*value="crm_2"', client.get("/apps/new?template=crm").get_data(as_text=True))
    zh = browser(app, user)
    zh.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    assert "客户关系管理" in zh.get("/apps/new").get_data(as_text=True)


def test_a_failed_install_says_why_on_its_card(app, make, monkeypatch):
    """An error the install raises (beyond the key and the form) shows on the chosen template's card."""
    from formloom.builder import designer
    from formloom.platform.exceptions import ValidationFailed

    def broken(*_args, **_kwargs):
        raise ValidationFailed("The pack is broken", [])

    monkeypatch.setattr(designer, "install_template", broken)
    resp = browser(app, make.user("Gallery")).post("/apps/new", data={"template": "crm", "key": "crm",
                                                                        "language": "en"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    card = page.split('id="template-crm"')[1].split("</label>")[0]
    assert "The pack is broken" in card and 'value="crm" checked' in card
