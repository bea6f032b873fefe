"""Exporting a list (CSV, Excel) and printing a record follow the actor's grants: their rows,
their fields, and the export and print actions."""
from __future__ import annotations

import codecs
import copy
import csv
import io
from datetime import date
from urllib.parse import unquote

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from formloom.builder.apps import create_app
from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import AuditEvent
from formloom.runtime.apps import get_runtime
from formloom.runtime.records import service

from support_acl import APP, DEFINITION, SECRET, build_world, login

PAGES = f"/a/{APP}/f/customer"
EXPORT = f"{PAGES}/export"
ALL_COLUMNS = ["ID", "Name", "Sales owner", "Tier", "Phone", "Margin", "Contract", "Notes", "Created at", "Updated at"]


@pytest.fixture
def world(make):
    return build_world(make)


def read_csv(resp) -> list[dict]:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    assert resp.mimetype == "text/csv"
    assert resp.data.startswith(codecs.BOM_UTF8)  # Excel reads UTF-8 (and Chinese) right only with it
    return list(csv.DictReader(io.StringIO(resp.data.decode("utf-8-sig"))))


def read_xlsx(resp) -> list[dict]:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    rows = list(load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def header(resp) -> list[str]:
    text = resp.data.decode("utf-8-sig") if resp.mimetype == "text/csv" else None
    if text is not None:
        return next(csv.reader(io.StringIO(text)))
    return [c.value for c in next(load_workbook(io.BytesIO(resp.data)).active.iter_rows(max_row=1))]


def ids(rows) -> list[int]:
    return [int(r["ID"]) for r in rows]


def export_events() -> list[AuditEvent]:
    db.session.rollback()  # read what the requests committed
    return db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "export")
                              .order_by(AuditEvent.id)).scalars().all()


# -- who may export what ------------------------------------------------------------------------

def test_manager_exports_csv_of_his_team_with_readable_values(any_db, app, world):
    resp = login(app, world.users["manager"]).get(EXPORT + "?format=csv")
    rows = read_csv(resp)
    assert sorted(ids(rows)) == sorted([world.records["own"], world.records["department"]])
    assert header(resp) == ALL_COLUMNS  # his grant hides nothing
    own = next(r for r in rows if int(r["ID"]) == world.records["own"])
    assert own["Name"] == "Acme own" and own["Sales owner"] == "Rep" and own["Tier"] == "A"
    assert own["Contract"] == "own.pdf" and own["Phone"] == f"{SECRET['phone']}-own"
    assert own["Created at"][:2] == "20" and len(own["Created at"]) == len("2026-01-31 09:30")
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="Customer-') and disposition.endswith('.csv"')


def test_manager_exports_excel_of_his_team(app, world):
    resp = login(app, world.users["manager"]).get(EXPORT + "?format=xlsx")
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    rows = read_xlsx(resp)
    assert sorted(ids(rows)) == sorted([world.records["own"], world.records["department"]])
    assert header(resp) == ALL_COLUMNS
    assert {r["Sales owner"] for r in rows} == {"Rep", "Rep B"}
    assert resp.headers["Content-Disposition"].endswith('.xlsx"')


def test_org_admin_exports_every_record_with_every_column(app, world):
    resp = login(app, world.users["org_admin"]).get(EXPORT + "?format=csv")
    rows = read_csv(resp)
    assert sorted(ids(rows)) == sorted(world.records.values())
    assert header(resp) == ALL_COLUMNS
    assert {r["Margin"] for r in rows} == {f"{SECRET['margin_note']}-{w}" for w in world.records}


@pytest.mark.parametrize("who", ["rep", "finance", "intern"])
def test_those_without_export_get_403_and_no_export_button(app, world, who):
    web = login(app, world.users[who])
    for fmt in ("csv", "xlsx"):
        resp = web.get(f"{EXPORT}?format={fmt}")
        assert resp.status_code == 403
        assert "Acme" not in resp.get_data(as_text=True)
    listing = web.get(PAGES).get_data(as_text=True)
    assert "/export" not in listing and "data-export" not in listing


def test_manager_sees_the_export_menu_and_not_in_the_recycle_bin(app, world, html):
    web = login(app, world.users["manager"])
    page = html(web.get(f"{PAGES}?f_tier=A&q=Acme").get_data(as_text=True))
    links = {a.attrs["data-export"]: a.attrs["href"] for a in page.select("a") if "data-export" in a.attrs}
    assert set(links) == {"csv", "xlsx"}
    assert "f_tier=A" in links["csv"] and "q=Acme" in links["csv"] and "format=csv" in links["csv"]
    admin = login(app, world.users["org_admin"])
    assert "data-export" not in admin.get(f"{PAGES}?deleted=1").get_data(as_text=True)


def test_unknown_format_says_which_formats_there_are(app, world):
    resp = login(app, world.users["manager"]).get(EXPORT + "?format=pdf")
    assert resp.status_code == 422
    assert "choose csv or xlsx" in resp.get_data(as_text=True)


# -- what the export holds -----------------------------------------------------------------------

def test_the_lists_filters_and_sort_apply_to_the_export(app, world, html):
    admin = Actor.from_user(world.users["org_admin"])
    rt = get_runtime(APP)
    service.update(admin, rt, "customer", world.records["own"], {"tier": "B"})
    web = login(app, world.users["org_admin"])
    # The menu's link carries the list's filter and sort, and the file follows them.
    page = html(web.get(f"{PAGES}?f_tier=A&sort=-name").get_data(as_text=True))
    link = next(a.attrs["href"] for a in page.select("a") if a.attrs.get("data-export") == "csv")
    assert [r["Name"] for r in read_csv(web.get(link))] == ["Acme other", "Acme department"]
    assert [r["Name"] for r in read_xlsx(web.get(f"{EXPORT}?format=xlsx&f_tier=A&sort=name"))] == [
        "Acme department", "Acme other"]
    assert [r["Name"] for r in read_csv(web.get(f"{EXPORT}?q=other"))] == ["Acme other"]
    assert read_csv(web.get(f"{EXPORT}?q=nothing-like-this")) == []


def test_a_sort_by_a_hidden_field_is_refused_not_exported(app, world):
    finance = copy_app(app, world)
    resp = finance.get(f"/a/{EXPORT_APP}/f/customer/export?sort=phone")
    assert resp.status_code == 422 and "phone" in resp.get_data(as_text=True)


def test_export_writes_an_audit_line_with_format_filter_and_count(app, world):
    web = login(app, world.users["manager"])
    read_xlsx(web.get(f"{EXPORT}?format=xlsx&f_tier=A"))
    read_csv(web.get(f"{EXPORT}?format=csv"))
    xlsx, csv_line = export_events()
    assert xlsx.actor_id == world.users["manager"].id and xlsx.object_type == "form"
    assert xlsx.object_id == "customer" and xlsx.app_id == get_runtime(APP).app_id
    assert xlsx.after == {"format": "xlsx", "filter": {"field": "tier", "op": "eq", "value": "A"},
                          "sort": None, "rows": 2}
    assert csv_line.after["format"] == "csv" and csv_line.after["filter"] is None


def test_a_refused_export_writes_no_export_line(app, world):
    assert login(app, world.users["rep"]).get(EXPORT).status_code == 403
    assert export_events() == []


# -- a grant that shows some rows more fields than others ------------------------------------------

EXPORT_APP = "crm_export"


def copy_app(app, world):
    """CRM for finance: view all rows without phone and margin, and view, export and print their
    own rows with every field. Returns finance's client."""
    definition = copy.deepcopy(DEFINITION)
    definition.update(key=EXPORT_APP, name="客户管理", name_en="Customer care")
    form = definition["forms"][0]
    form.update(name="客户", name_en="Customer")
    form["fields"][0].update(label="客户名称", label_en="Customer name")
    form["fields"][2]["options"] = [{"value": "A", "label": "重点", "label_en": "Key"}, "B", "C"]
    form["fields"] += [
        {"key": "tags", "type": "multiselect", "label": "Tags", "options": ["vip", "partner"]},
        {"key": "amount", "type": "number", "label": "Amount", "precision": 2, "display": "currency"},
        {"key": "signed", "type": "date", "label": "Signed"},
        {"key": "referrer", "type": "link", "form": "customer", "label": "Referred by"},
        {"key": "lines", "type": "subform", "label": "Lines", "fields": [
            {"key": "item", "type": "text", "label": "Item"}, {"key": "qty", "type": "number", "label": "Qty"}]}]
    definition["permissions"] = [
        {"form": "customer", "to": {"role": "finance"}, "actions": ["view"], "rows": "all",
         "fields": {"hidden": ["phone", "margin_note"]}},
        {"form": "customer", "to": {"role": "finance"}, "actions": ["view", "export", "print"], "rows": "own"}]
    admin = Actor.from_user(world.users["org_admin"])
    create_app(admin, definition)
    rt = get_runtime(EXPORT_APP)
    made = {}
    for which, owner in (("theirs", "rep"), ("finance", "finance")):
        made[which] = service.create(admin, rt, "customer", {
            "name": f"Acme {which}", "sales_owner": world.users[owner].id, "tier": "A", "tags": ["vip", "partner"],
            "amount": 1234.5, "signed": "2026-01-31", "phone": f"{SECRET['phone']}-{which}",
            "margin_note": f"=HYPERLINK(\"{SECRET['margin_note']}\")", "notes": "=1+1",
            "referrer": made.get("theirs"), "lines": [{"item": "Pen", "qty": 3}, {"item": "Ink"}]})["id"]
    world.records.update({f"export_{k}": v for k, v in made.items()})
    return login(app, world.users["finance"])


def test_a_field_hidden_on_some_rows_is_never_exported(app, world):
    finance = copy_app(app, world)
    rt = get_runtime(EXPORT_APP)
    own = service.get(Actor.from_user(world.users["finance"]), rt, "customer", world.records["export_finance"])
    assert own["fields"]["phone"] == f"{SECRET['phone']}-finance"  # their own row shows it on its page
    for fmt in ("csv", "xlsx"):
        resp = finance.get(f"/a/{EXPORT_APP}/f/customer/export?format={fmt}")
        rows = read_csv(resp) if fmt == "csv" else read_xlsx(resp)
        assert "Phone" not in header(resp) and "Margin" not in header(resp) and "Contract" in header(resp)
        assert SECRET["phone"].encode() not in resp.data and b"HYPERLINK" not in resp.data
        # Export is granted on their own rows only, although they see every row.
        assert ids(rows) == [world.records["export_finance"]]


def test_values_read_as_on_the_pages_and_text_never_runs_as_a_formula(app, world):
    copy_app(app, world)
    web = login(app, world.users["org_admin"])
    url = f"/a/{EXPORT_APP}/f/customer/export?sort=name"
    (row, _theirs) = read_csv(web.get(url + "&format=csv"))
    assert row["Customer name"] == "Acme finance" and row["Tier"] == "Key"
    assert row["Tags"] == "vip; partner" and row["Amount"] == "1234.5" and row["Signed"] == "2026-01-31"
    assert row["Referred by"] == "Acme theirs" and row["Lines"] == "2 rows" and row["Sales owner"] == "Finance"
    assert row["Notes"] == "'=1+1"
    (cells, _theirs) = read_xlsx(web.get(url + "&format=xlsx"))
    assert cells["Amount"] == 1234.5 and cells["Signed"].date() == date(2026, 1, 31)
    assert cells["Notes"] == "=1+1"  # kept as text: openpyxl reads a formula back as "=..." only if text
    sheet = load_workbook(io.BytesIO(web.get(url + "&format=xlsx").data)).active
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)


def test_a_chinese_reader_gets_chinese_headers_and_file_name(app, world):
    copy_app(app, world)
    web = login(app, world.users["org_admin"])
    web.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    resp = web.get(f"/a/{EXPORT_APP}/f/customer/export?format=csv")
    rows = read_csv(resp)
    assert "客户名称" in header(resp) and {r["Tier"] for r in rows} == {"重点"}
    disposition = resp.headers["Content-Disposition"]
    assert 'filename="customer-' in disposition  # the ASCII name for old clients
    encoded = disposition.split("filename*=UTF-8''")[1]
    assert unquote(encoded).startswith("客户-") and unquote(encoded).endswith(".csv")


# -- print -----------------------------------------------------------------------------------

def test_rep_prints_his_own_record_without_the_hidden_field(app, world, html):
    web = login(app, world.users["rep"])
    detail = html(web.get(f"{PAGES}/r/{world.records['own']}").get_data(as_text=True))
    button = next(a for a in detail.select("a") if a.attrs.get("href", "").endswith("/print"))
    assert button.attrs["target"] == "_blank"
    resp = web.get(button.attrs["href"])
    assert resp.status_code == 200
    page = html(resp.get_data(as_text=True))
    assert page.one("h1").text == "Acme own" and f"#{world.records['own']}" in page.text
    assert page.one("tr", data_field="phone").text == f"Phone {SECRET['phone']}-own"
    assert page.select("tr", data_field="margin_note") == [] and SECRET["margin_note"] not in page.text
    assert "Printed by Rep at" in page.text and "CRM ACL · Customer" in page.text
    assert page.one("button", data_print="").text == "Print"


@pytest.mark.parametrize("which", ["department", "other"])
def test_printing_a_record_one_cannot_see_is_not_found(app, world, which):
    assert login(app, world.users["rep"]).get(f"{PAGES}/r/{world.records[which]}/print").status_code == 404


def test_print_is_refused_to_a_viewer_without_the_print_action(app, world):
    web = login(app, world.users["manager"])
    assert "/print" not in web.get(f"{PAGES}/r/{world.records['department']}").get_data(as_text=True)
    resp = web.get(f"{PAGES}/r/{world.records['department']}/print")
    assert resp.status_code == 403 and "Acme department" not in resp.get_data(as_text=True)


def test_print_is_granted_on_the_grants_rows_only(app, world, html):
    finance = copy_app(app, world)
    base = f"/a/{EXPORT_APP}/f/customer/r"
    assert finance.get(f"{base}/{world.records['export_theirs']}").status_code == 200  # they see it
    assert finance.get(f"{base}/{world.records['export_theirs']}/print").status_code == 403
    page = html(finance.get(f"{base}/{world.records['export_finance']}/print").get_data(as_text=True))
    assert page.one("h1").text == "Acme finance"
    lines = page.one("section", data_field="lines")
    assert [td.text for td in lines.select("td")] == ["1", "Pen", "3", "2", "Ink", "—"]
    assert page.one("tr", data_field="referrer").text == "Referred by Acme theirs"
    assert page.one("tr", data_field="phone").text == f"Phone {SECRET['phone']}-finance"


def test_labels_are_neutralised_as_values_and_cells_with_semicolons_are_quoted(any_db, app, world):
    """A label starting with =, +, -, @, tab or CR must not run as a formula in either file;
    "safe;=1+1" must stay one quoted cell where spreadsheets split lists on ";"."""
    definition = copy.deepcopy(DEFINITION)
    definition.update(key="crm_labels", name="Labels")
    fields = definition["forms"][0]["fields"]
    labels = ["=1+1", "+SUM(1)", "-2+3", "@A1", "\tTab", "\rCR"]
    for f, label in zip(fields[:6], labels, strict=True):
        f.update(label=label, label_en=label)
    admin = Actor.from_user(world.users["org_admin"])
    create_app(admin, definition)
    service.create(admin, get_runtime("crm_labels"), "customer",
                   {"name": "Acme", "notes": "safe;=1+1", "sales_owner": world.users["rep"].id})
    web = login(app, world.users["org_admin"])
    resp = web.get("/a/crm_labels/f/customer/export?format=csv")
    head = header(resp)
    assert ["'" + label for label in labels] == head[1:7]
    assert '"safe;=1+1"' in resp.data.decode("utf-8-sig")
    assert read_csv(resp)[0]["Notes"] == "safe;=1+1"
    resp = web.get("/a/crm_labels/f/customer/export?format=xlsx")
    sheet = load_workbook(io.BytesIO(resp.data)).active
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert header(resp)[1:7] == [label.replace("\r", "\n") for label in labels]  # XML reads CR as LF
