"""The import pages: upload, map (by hand, with a per-value table), preview, run, result."""
from __future__ import annotations

import io
import json
import re

import pytest

from support_formloom import Factory, browser

DEFINITION = {
    "key": "shop", "name": "Shop", "forms": [
        {"key": "order", "name": "订单", "name_en": "Order", "title_field": "title", "fields": [
            {"key": "title", "type": "text", "label": "标题", "label_en": "Title", "required": True},
            {"key": "amount", "type": "number", "label": "金额", "label_en": "Amount", "min": 0},
            {"key": "stage", "type": "select", "label": "阶段", "label_en": "Stage", "options": [
                {"value": "new", "label": "新建", "label_en": "New"},
                {"value": "won", "label": "赢单", "label_en": "Won"}]}]}]}
CSV = "Name,Amount,Stage\nfirst,1,New\nsecond,oops,Gewonnen\nthird,3,Won\n"


@pytest.fixture
def shop(app_with):
    app = app_with(FORMLOOM_JOBS_EAGER=True)
    make = Factory(app)
    owner = make.user("Owner")
    make.install(json.loads(json.dumps(DEFINITION)), owner=owner)
    return app, owner


def import_id(location: str) -> int:
    return int(re.search(r"/import/(\d+)", location).group(1))


def test_upload_map_preview_and_import_from_the_pages(shop):
    app, owner = shop
    web = browser(app, owner)
    listing = web.get("/a/shop/f/order").get_data(as_text=True)
    assert 'href="/a/shop/f/order/import"' in listing
    resp = web.post("/a/shop/f/order/import", data={"file": (io.BytesIO(CSV.encode()), "orders.csv")},
                    content_type="multipart/form-data")
    assert resp.status_code == 302
    draft = import_id(resp.headers["Location"])
    page = web.get(f"/a/shop/f/order/import/{draft}").get_data(as_text=True)
    # "Name" matched nothing; Amount and Stage matched by their English labels
    assert re.search(r'name="map_0"[^>]*>\s*<option value="" selected', page)
    assert re.search(r'name="map_1".*?<option value="amount" selected', page, re.S)
    assert "Gewonnen" in page  # offered in the per-value table of Stage
    form = {"header": ["Name", "Amount", "Stage"], "map_0": "title", "map_1": "amount", "map_2": "stage",
            "mode": "create", "on_error": "skip", "header_row": "1", "encoding": "",
            "cell_stage_0": "Gewonnen", "val_stage_0": "won", "action": "preview"}
    resp = web.post(f"/a/shop/f/order/import/{draft}", data=form)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    dry = import_id(resp.headers["Location"])
    page = web.get(f"/a/shop/f/order/import/{dry}").get_data(as_text=True)
    assert "2 rows to add" in page and "1 rows with problems" in page
    assert re.search(r'<td class="fl-num">2</td><td>Amount</td>', page)  # row 2, column Amount
    assert "first rows as they will be stored".lower() in page.lower()
    resp = web.post(f"/a/shop/f/order/import/{dry}", data={"action": "run"})
    done = import_id(resp.headers["Location"])
    page = web.get(f"/a/shop/f/order/import/{done}").get_data(as_text=True)
    assert "2 created" in page and "1 failed" in page
    failed = web.get(f"/a/shop/f/order/import/{done}/failed.csv")
    text = failed.get_data().decode("utf-8-sig")
    failed.close()
    assert text.splitlines()[1].startswith("second,oops,Gewonnen,")
    listing = web.get("/a/shop/f/order").get_data(as_text=True)
    assert ">first<" in listing and ">third<" in listing and ">second<" not in listing
    history = web.get("/a/shop/f/order/import").get_data(as_text=True)
    assert "orders.csv" in history and "Finished" in history and ">Owner<" in history


def test_a_file_that_cannot_be_read_says_why_and_keeps_nothing(shop):
    app, owner = shop
    web = browser(app, owner)
    resp = web.post("/a/shop/f/order/import", data={"file": (io.BytesIO(b""), "empty.csv")},
                    content_type="multipart/form-data")
    assert resp.status_code == 422 and "is empty" in resp.get_data(as_text=True)
