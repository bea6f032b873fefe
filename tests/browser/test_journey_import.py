"""A person imports a spreadsheet in a real browser: two bad rows, a column mapped by hand,
the preview's errors, an import that skips them, the failed rows downloaded, fixed and
imported."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import User
from formloom.runtime.apps import get_runtime
from formloom.runtime.records import query, service

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

CSV = ("Deal name,Company,Amount,Stage\n"
       "Big one,Acme Ltd,100,new\n"
       "Bad amount,Acme Ltd,-5,new\n"
       "No company,Nobody,10,new\n"
       "Fine,Acme Ltd,20,won\n")
LONG = 60_000  # ms: the import runs in the server's background job thread


def _seed(live_server) -> None:
    def seed():
        user = db.session.execute(sa.select(User).where(User.email == live_server.email)).scalar_one()
        service.create(Actor.from_user(user), get_runtime("sales_mini"), "company", {"name": "Acme Ltd"})

    live_server.run(seed)


def _titles(live_server) -> list[str]:
    def read():
        user = db.session.execute(sa.select(User).where(User.email == live_server.email)).scalar_one()
        records, _cursor = query.list_records(Actor.from_user(user), get_runtime("sales_mini"), "deal", limit=50)
        return sorted(r["fields"]["title"] for r in records)

    return live_server.run(read)


def _upload_and_map(page, name: str, data: bytes) -> None:
    page.get_by_label("File").set_input_files(files=[{"name": name, "mimeType": "text/csv", "buffer": data}])
    page.get_by_role("button", name="Upload and map columns").click()
    expect(page.get_by_role("heading", name="Columns")).to_be_visible()
    page.get_by_label("Field for column Deal name").select_option("title")  # matched by nothing: by hand
    page.get_by_label("When a row has a problem").select_option("skip")
    page.get_by_role("button", name="Check the whole file").click()


def test_import_with_bad_rows_then_fix_and_import_them(signed_in, live_server, tmp_path):
    page = signed_in
    _seed(live_server)
    page.goto("/a/sales_mini/f/deal")
    page.get_by_role("link", name="Import").click()
    _upload_and_map(page, "deals.csv", CSV.encode("utf-8"))

    expect(page.get_by_text("2 rows with problems")).to_be_visible(timeout=LONG)
    expect(page.get_by_text("2 rows to add")).to_be_visible()
    errors = page.locator("table.fl-import-errors tbody tr")
    expect(errors.filter(has_text="Amount")).to_contain_text("2")  # row 2, the Amount column
    expect(errors.filter(has_text="Company")).to_contain_text("Nobody")  # row 3: no such company
    expect(page.locator("table.fl-import-preview")).to_contain_text("Big one")
    assert _titles(live_server) == []  # the check wrote nothing

    page.get_by_role("button", name="Import 2 rows").click()
    expect(page.locator("[data-import-result]")).to_contain_text("2 created", timeout=LONG)
    expect(page.locator("[data-import-result]")).to_contain_text("2 failed")
    assert _titles(live_server) == ["Big one", "Fine"]

    with page.expect_download() as got:
        page.get_by_role("link", name="Download the failed rows").click()
    failed = (tmp_path / "failed.csv")
    got.value.save_as(failed)
    text = failed.read_bytes().decode("utf-8-sig")
    assert text.splitlines()[0] == "Deal name,Company,Amount,Stage,Import error"
    assert re.search(r"^Bad amount,Acme Ltd,-5,new,", text, re.M) and re.search(r"^No company,Nobody,", text, re.M)

    fixed = text.replace("-5", "5").replace("Nobody", "Acme Ltd")
    page.get_by_role("link", name="Import another file").click()
    _upload_and_map(page, "deals-fixed.csv", fixed.encode("utf-8"))
    expect(page.get_by_text("0 rows with problems")).to_be_visible(timeout=LONG)
    page.get_by_role("button", name="Import 2 rows").click()
    expect(page.locator("[data-import-result]")).to_contain_text("2 created", timeout=LONG)
    assert _titles(live_server) == ["Bad amount", "Big one", "Fine", "No company"]
