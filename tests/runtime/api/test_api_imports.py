"""Spreadsheet imports through the API: upload, the job, the status, the failed rows file."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import openpyxl
import pytest
import sqlalchemy as sa

from formloom.platform.extensions import db
from formloom.platform.models import AuditEvent, ImportRun

from support_formloom import Api, Factory, problem

DEFINITION = {
    "key": "shop", "name": "Shop", "forms": [
        {"key": "customer", "name": "客户", "name_en": "Customer", "title_field": "name", "fields": [
            {"key": "name", "type": "text", "label": "客户名称", "label_en": "Customer name", "required": True},
            {"key": "code", "type": "text", "label": "编号", "label_en": "Code", "unique": True}]},
        {"key": "order", "name": "订单", "name_en": "Order", "title_field": "title", "fields": [
            {"key": "title", "type": "text", "label": "标题", "label_en": "Title", "required": True},
            {"key": "ref", "type": "text", "label": "单号", "label_en": "Ref", "unique": True},
            {"key": "customer", "type": "link", "form": "customer", "label": "客户", "label_en": "Customer"},
            {"key": "amount", "type": "number", "label": "金额", "label_en": "Amount", "precision": 2, "min": 0},
            {"key": "stage", "type": "select", "label": "阶段", "label_en": "Stage", "options": [
                {"value": "new", "label": "新建", "label_en": "New"},
                {"value": "won", "label": "赢单", "label_en": "Won"}]},
            {"key": "paid", "type": "boolean", "label": "已付款", "label_en": "Paid"},
            {"key": "due", "type": "date", "label": "到期日", "label_en": "Due"},
            {"key": "seller", "type": "user", "label": "销售", "label_en": "Seller"},
            {"key": "double", "type": "formula", "label": "双倍", "label_en": "Double", "expr": "amount * 2"}]}]}
BASE = "/api/v1/apps/shop/forms/order"


@pytest.fixture
def shop(any_db, app_with):
    """The shop app, with jobs run as they are asked for (at the commit that asks)."""
    app = app_with(FORMLOOM_JOBS_EAGER=True)
    make = Factory(app)
    owner = make.user("Owner", email="owner@example.com")
    rt = make.install(json.loads(json.dumps(DEFINITION)), owner=owner)
    api = Api(app.test_client(), make.token(owner))
    for name, code in (("Acme", "A1"), ("Globex", "G1"), ("Twin", "T1"), ("Twin", "T2")):
        resp = api.post("/api/v1/apps/shop/forms/customer/records", json={"fields": {"name": name, "code": code}})
        assert resp.status_code == 201, resp.get_json()
    return api, rt, owner


def csv_bytes(rows: list[list], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def upload(api, data: bytes, options: dict | None = None, name: str = "orders.csv", run: bool = True):
    resp = api.client.post(f"{BASE}/imports", headers=api._headers(None),
                           data={"file": (io.BytesIO(data), name), "options": json.dumps(options or {})})
    if resp.status_code != 202 or not run:
        return resp
    body = resp.get_json()
    assert set(body) >= {"id", "job"}
    return api.get(f"/api/v1/imports/{body['id']}")


def download(api, url: str) -> tuple[int, str]:
    resp = api.get(url)
    text = resp.get_data().decode("utf-8-sig")
    resp.close()
    return resp.status_code, text


def titles(api) -> list[str]:
    items = api.get(f"{BASE}/records?sort=title&limit=200").get_json()["items"]
    return [r["fields"]["title"] for r in items]


def records(api) -> dict:
    items = api.get(f"{BASE}/records?sort=title&limit=200").get_json()["items"]
    return {r["fields"]["title"]: r["fields"] for r in items}


def test_a_gb18030_csv_with_chinese_headers_imports_every_kind_of_cell(shop):
    api, _rt, owner = shop
    data = csv_bytes([["标题", "单号", "客户", "金额", "阶段", "已付款", "到期日", "销售"],
                      ["大单", "R1", "Acme", "1,234.50", "赢单", "是", "2026/3/5", "owner@example.com"],
                      ["小单", "R2", "Globex", "12", "新建", "否", "2026-04-01", "Owner"]], "gb18030")
    resp = upload(api, data)
    body = resp.get_json()
    assert body["status"] == "finished", body
    assert (body["total"], body["done"], body["created"], body["failed_rows"]) == (2, 2, 2, 0)
    got = records(api)
    acme = api.get("/api/v1/apps/shop/forms/customer/records?sort=code").get_json()["items"][0]
    assert got["大单"] == {**got["大单"], "ref": "R1", "customer": acme["id"], "amount": 1234.5, "stage": "won",
                          "paid": True, "due": "2026-03-05", "seller": owner.id, "double": 2469.0}
    assert got["小单"]["paid"] is False and got["小单"]["seller"] == owner.id
    assert db.session.execute(sa.select(ImportRun.options)).scalar()["encoding"] == "gb18030"


def test_a_bad_cell_is_named_by_row_and_column_and_stop_writes_nothing(shop):
    api, _rt, _owner = shop
    data = csv_bytes([["Title", "Ref", "Customer", "Amount", "Stage"],
                      ["ok", "R1", "Acme", "5", "New"],
                      ["bad number", "R2", "Acme", "lots", "New"],
                      ["", "R3", "Nobody", "5", "Lost"],
                      ["twin", "R4", "Twin", "5", "New"]])
    body = upload(api, b"\xef\xbb\xbf" + data, {"on_error": "stop"}).get_json()
    assert body["status"] == "failed" and body["failed_rows"] == 3 and body["created"] == 0
    errors = {(e["row"], e["column"]): e for e in body["errors"]}
    assert errors[(2, "Amount")]["field"] == "amount" and "number" in errors[(2, "Amount")]["message"]
    assert "matches no Customer record" in errors[(3, "Customer")]["message"]
    assert "Lost" in errors[(3, "Stage")]["message"]
    assert "matches 2 Customer records" in errors[(4, "Customer")]["message"]
    assert titles(api) == []  # nothing written
    status, failed = download(api, f"/api/v1/imports/{body['id']}/failed.csv")
    assert status == 200
    lines = list(csv.reader(io.StringIO(failed)))
    assert lines[0] == ["Title", "Ref", "Customer", "Amount", "Stage", "Import error"]
    assert [line[:2] for line in lines[1:]] == [["bad number", "R2"], ["", "R3"], ["twin", "R4"]]
    assert lines[2][-1].startswith("row 3:") and "Title: is required" in lines[2][-1]


def test_skip_writes_the_good_rows_and_the_failed_file_imports_once_fixed(shop):
    api, _rt, _owner = shop
    data = csv_bytes([["Title", "Ref", "Amount"], ["a", "R1", "1"], ["b", "R2", "-3"], ["c", "R1", "2"], ["d", "R4", "4"]])
    body = upload(api, data, {"on_error": "skip"}).get_json()
    assert body["status"] == "finished" and (body["created"], body["failed_rows"]) == (2, 2), body
    assert titles(api) == ["a", "d"]
    rows = {e["row"]: e for e in body["errors"]}
    assert rows[2]["column"] == "Amount" and rows[3]["column"] == "Ref"
    assert rows[3]["message"] == "repeats the value of row 1 in this file"
    _status, failed = download(api, f"/api/v1/imports/{body['id']}/failed.csv")
    fixed = failed.replace("-3", "3").replace('"c,R1', '"c,R3').replace("c,R1", "c,R3")
    again = upload(api, fixed.encode("utf-8"), {"on_error": "skip"}, name="fixed.csv").get_json()
    assert again["created"] == 2 and again["failed_rows"] == 0, again
    assert titles(api) == ["a", "b", "c", "d"]


def test_upsert_by_a_unique_field_updates_and_creates(shop):
    api, _rt, _owner = shop
    upload(api, csv_bytes([["Title", "Ref", "Amount"], ["one", "R1", "1"], ["two", "R2", "2"]]))
    body = upload(api, csv_bytes([["Title", "Ref", "Amount"], ["one!", "R1", ""], ["three", "R3", "3"]]),
                  {"mode": "upsert", "key": "ref"}).get_json()
    assert (body["created"], body["updated"], body["failed_rows"]) == (1, 1, 0), body
    got = records(api)
    assert got["one!"]["amount"] == 1 and got["one!"]["ref"] == "R1"  # a blank cell changes nothing
    assert sorted(got) == ["one!", "three", "two"]
    missing = upload(api, csv_bytes([["Title", "Ref"], ["x", "R9"]]), {"mode": "update", "key": "ref"}).get_json()
    assert missing["status"] == "failed" and missing["errors"][0]["column"] == "Ref"
    assert "matches no record" in missing["errors"][0]["message"]


def test_an_xlsx_with_dates_as_dates_and_as_text_and_a_mapping_by_hand(shop):
    api, _rt, _owner = shop
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Orders export"])
    ws.append([])
    ws.append(["Name of order", "Due", "Client code", "Notes"])
    ws.append(["x1", datetime(2026, 5, 6), "G1", "ignored"])
    ws.append(["x2", "2026-07-08", "A1", "ignored"])
    ws.append(["x3", 46000, "A1", ""])  # a date as Excel's serial number, in a cell not formatted as a date
    buffer = io.BytesIO()
    wb.save(buffer)
    options = {"mapping": {"Name of order": "title", "Client code": {"field": "customer", "match": "code"},
                           "Notes": None}}
    body = upload(api, buffer.getvalue(), options, name="orders.xlsx").get_json()
    assert body["status"] == "finished" and body["created"] == 3, body
    got = records(api)
    assert got["x1"]["due"] == "2026-05-06" and got["x2"]["due"] == "2026-07-08" and got["x3"]["due"] == "2025-12-09"
    assert got["x1"]["customer"] != got["x2"]["customer"]
    assert db.session.execute(sa.select(ImportRun.options)).scalar()["header_row"] == 3


def test_dry_run_writes_nothing_and_says_what_would_happen(shop):
    api, _rt, _owner = shop
    body = upload(api, csv_bytes([["Title"], ["a"], ["b"]]), {"dry_run": True}).get_json()
    assert body["status"] == "finished" and body["dry_run"] and body["created"] == 2
    assert titles(api) == []


def test_options_mapping_and_files_are_checked_before_any_job(shop):
    api, _rt, _owner = shop
    assert problem(upload(api, b"", run=False), 422)["errors"][0]["field"] == "file"
    bad = upload(api, csv_bytes([["Title", "Double"], ["a", "1"]]), {"mapping": {"Double": "double"}}, run=False)
    assert "computed" in problem(bad, 422)["errors"][0]["message"]
    assert problem(upload(api, csv_bytes([["Title"], ["a"]]), {"mode": "upsert"}, run=False), 422)["errors"][0]["field"] == "key"
    assert problem(upload(api, csv_bytes([["Title"], ["a"]]), {"mode": "upsert", "key": "title"}, run=False), 422)
    assert problem(upload(api, b"PK\x03\x04broken", name="x.xlsx", run=False), 422)
    assert db.session.execute(sa.select(sa.func.count()).select_from(ImportRun)).scalar() == 0


def test_only_those_who_may_add_may_import_and_others_do_not_see_the_import(shop):
    api, _rt, _owner = shop
    body = upload(api, csv_bytes([["Title"], ["a"]])).get_json()
    make = Factory(api.client.application)
    stranger = Api(api.client, make.token(make.user("Stranger")))
    assert stranger.get(f"/api/v1/imports/{body['id']}").status_code == 404
    assert upload(stranger, csv_bytes([["Title"], ["b"]]), run=False).status_code == 404
    audit = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "import")).scalar_one()
    assert audit.object_id == "order" and audit.after["created"] == 1


def test_a_row_with_more_cells_than_the_header_and_duplicate_headers(shop):
    api, _rt, _owner = shop
    body = upload(api, csv_bytes([["Title", "Title", "Ref"], ["a", "x", "R1", "extra"], ["b", "y", "R2"]]),
                  {"on_error": "skip"}).get_json()
    assert body["created"] == 1 and body["errors"][0]["row"] == 1 and "4 cells" in body["errors"][0]["message"]
    assert titles(api) == ["b"]


def test_an_empty_file_is_refused_and_a_file_with_only_a_header_imports_nothing(shop):
    api, _rt, _owner = shop
    assert problem(upload(api, b"", run=False), 422)["errors"][0]["field"] == "file"
    assert problem(upload(api, b"\xef\xbb\xbf\n\n", run=False), 422)["detail"] == "The file has no rows"
    body = upload(api, csv_bytes([["Title", "Ref"]])).get_json()
    assert (body["status"], body["total"], body["created"], body["failed_rows"]) == ("finished", 0, 0, 0)


def test_the_encoding_can_be_chosen_over_the_detected_one(shop):
    api, _rt, _owner = shop
    data = csv_bytes([["Title"], ["café"]], "latin-1")  # not UTF-8; GB18030 would read it wrongly
    body = upload(api, data, {"encoding": "latin-1"}).get_json()
    assert body["created"] == 1 and titles(api) == ["café"]
