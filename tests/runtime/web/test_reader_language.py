"""Both languages everywhere: every page, export and notification names the app's forms,
fields, options, flows and apps in the reader's language, falling back to the other one;
one helper (platform.i18n.localized) decides."""
from __future__ import annotations

import copy
import re
from html import unescape
from pathlib import Path

import sqlalchemy as sa

from formloom.app_templates import load_definition
from formloom.builder.templates import install_template
from formloom.platform.extensions import db, write_transaction
from formloom.platform.i18n import N_, localized
from formloom.platform.models import Notification
from formloom.platform.notify import message, notify
from formloom.runtime.apps import get_runtime
from formloom.runtime.records import service as records

from support_flows import FLOW, build_org, definition, install

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}
PACKAGE = Path(__file__).resolve().parents[3] / "formloom"


def test_one_helper_picks_the_readers_language_and_falls_back_to_the_other(app):
    both = {"name": "商机", "name_en": "Deal"}
    assert localized(both, locale="en") == "Deal" and localized(both, locale="zh_CN") == "商机"
    assert localized({"label": "Title"}, "label", "en") == "Title"  # no English: the Chinese one
    assert localized({"label_en": "Title"}, "label", "zh_CN") == "Title"  # no Chinese: the English one
    assert localized({}, "label", "en", "key") == "key" and localized(None, default="x") == "x"


def test_no_module_reads_a_definitions_english_twin_itself():
    """Each `xxx_en` read outside the helper is a place that forgets the fallback or the reader."""
    reads = re.compile(r"""(?:get\(|\[|getattr\([^,]+,\s*)\s*f?["'](?:name|label)_en["']""")
    # The helper, and the places that copy or compare definitions (compiling, publishing, imports),
    # match a header against both languages (imports) or list both (the CLI's template list).
    allowed = {"platform/i18n.py", "runtime/imports/mapping.py", "builder/cli.py", "runtime/storage/migrate.py", "runtime/fields/select.py", "builder/apps.py",
               "app_templates/__init__.py", "runtime/automations/compile.py", "runtime/schema/validate.py"}
    offenders = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                       if "migrations" not in p.parts and reads.search(p.read_text("utf-8"))
                       and str(p.relative_to(PACKAGE)) not in allowed)
    assert offenders == []


def test_the_template_app_speaks_each_readers_language(client, auth, make, html):
    user = make.user("Tia", password="secret-pass-1")
    install_template("sales_mini", make.actor(user))
    rt = get_runtime("sales_mini")
    company = records.create(make.actor(user), rt, "company", {"name": "Acme", "tier": "A"})
    records.create(make.actor(user), rt, "deal", {"title": "Deal 1", "company": company["id"], "stage": "won"})
    auth.login(user.email)

    en = client.get("/a/sales_mini/f/deal", headers=EN).get_data(as_text=True)
    zh = client.get("/a/sales_mini/f/deal", headers=ZH).get_data(as_text=True)
    for word in ("Sales (mini)", "Deal", "Title", "Stage", "Won", "Expected close", "Pipeline"):
        assert word in en, word
    for word in ("销售（简版）", "商机", "标题", "阶段", "赢单", "预计成交日", "销售漏斗"):
        assert word in zh and word not in en, word
    assert "赢单" in client.get("/a/sales_mini/f/deal/export?format=csv", headers=ZH).get_data(as_text=True)
    assert "销售（简版）" in client.get("/", headers=ZH).get_data(as_text=True)
    assert "Sales (mini)" in client.get("/", headers=EN).get_data(as_text=True)
    company_en = client.get(f"/a/sales_mini/f/company/r/{company['id']}", headers=EN).get_data(as_text=True)
    assert "Key account" in company_en and "Tier" in company_en and "重点客户" not in company_en


def test_from_template_in_english_is_an_english_app():
    both, english = load_definition("sales_mini"), load_definition("sales_mini", "en")
    assert (both["name"], both["name_en"], both["forms"][1]["fields"][0]["label"]) == ("销售（简版）", "Sales (mini)",
                                                                                     "标题")
    deal = english["forms"][1]
    assert (english["name"], deal["name"], deal["fields"][0]["label"]) == ("Sales (mini)", "Deal", "Title")
    assert "label_en" not in str(english) and "name_en" not in str(english)


def test_platform_pages_name_apps_in_the_readers_language(client, auth, make):
    user = make.user("Nia", password="secret-pass-1")
    install_template("sales_mini", make.actor(user))
    with write_transaction():
        notify([user.id], "webhook_disabled", "Hello", app_id=get_runtime("sales_mini").app_id)
    auth.login(user.email)
    assert "Sales (mini)" in client.get("/notifications", headers=EN).get_data(as_text=True)
    assert "销售（简版）" in client.get("/notifications", headers=ZH).get_data(as_text=True)


def test_a_notification_reads_in_the_language_of_whoever_reads_it(client, auth, make, api_as):
    org = build_org(make)
    flow = copy.deepcopy(FLOW)
    defn = definition(flow)
    defn["forms"][0] = {**defn["forms"][0], "name": "报价单", "name_en": "Quote"}
    rt = install(make, org, defn)
    records.create(org.actor("rita"), rt, "quote", {"title": "Q1", "amount": 1000, "discount": 15,
                                                    "owner": org.rita.id})
    with write_transaction():
        notify([org.max.id], "webhook_disabled", message(N_('Webhook "%(name)s" was switched off'), name="CRM"))
    auth.login(org.max.email, "secret-pass-1")
    en = unescape(client.get("/notifications", headers=EN).get_data(as_text=True))
    zh = unescape(client.get("/notifications", headers=ZH).get_data(as_text=True))
    assert "To approve: Quote Q1" in en and 'Webhook "CRM" was switched off' in en
    assert "待审批：报价单 Q1" in zh and "待审批" not in en
    api = api_as(org.max)
    titles = [n["title"] for n in api.get("/api/v1/notifications", headers=EN).get_json()["items"]]
    assert "To approve: Quote Q1" in titles
    stored = db.session.execute(sa.select(Notification.message).where(Notification.user_id == org.max.id,
                                                                      Notification.kind == "flow_task")).scalar()
    assert stored["title"] == "To approve: %(title)s"  # the message, not one language's sentence


def test_a_quick_filter_on_a_value_that_is_no_option_says_so(client, auth, make, html):
    user = make.user("Quinn", password="secret-pass-1")
    rt = make.install("sales-mini", user)
    records.create(make.actor(user), rt, "company", {"name": "Acme", "tier": "A"})
    auth.login(user.email)
    raw = client.get("/a/sales_mini/f/company?f_tier=ZZZ", headers=EN).get_data(as_text=True)
    assert "ZZZ" in html(raw).one(data_filter_unknown="tier").text and "Acme" not in raw
    one = client.get("/a/sales_mini/f/company?f_tier=A", headers=EN).get_data(as_text=True)
    assert "Acme" in one and "1 matching record<" in one.replace("\n", "")
    assert "1 record<" in client.get("/a/sales_mini", headers=EN).get_data(as_text=True)
    zh = client.get("/a/sales_mini/f/company?f_tier=ZZZ", headers=ZH).get_data(as_text=True)
    assert "不是" in zh and "Acme" not in zh
