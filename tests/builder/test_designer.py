"""The builder's draft and pages: If-Match on the draft (two admins never overwrite each
other), a new app (blank or from a template), the designer page, and publishing from the
browser with the plan in words and the values a type change cannot convert."""
from __future__ import annotations

import json
import re

import sqlalchemy as sa

from formloom.builder import apps
from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import App

from support_formloom import browser, problem


def test_a_stale_draft_is_refused_and_changes_nothing(any_db, app, make, api_as):
    owner = make.user("Owner", password=None)
    make.install("sales-mini", owner=owner)
    ann, bob = api_as(owner), api_as(owner)
    got = ann.get("/api/v1/apps/sales_mini/draft")
    etag = got.headers["ETag"]
    draft = got.get_json()
    mine = json.loads(json.dumps(draft))
    mine["forms"][0]["fields"][0]["label"] = "Ann's name"
    theirs = json.loads(json.dumps(draft))
    theirs["forms"][0]["fields"][0]["label"] = "Bob's name"
    saved = bob.put("/api/v1/apps/sales_mini/draft", json=theirs, headers={"If-Match": etag})
    assert saved.status_code == 200 and saved.headers["ETag"] != etag
    body = problem(ann.put("/api/v1/apps/sales_mini/draft", json=mine, headers={"If-Match": etag}), 409)
    assert "Someone else changed this draft" in body["detail"]
    assert ann.get("/api/v1/apps/sales_mini/draft").get_json()["forms"][0]["fields"][0]["label"] == "Bob's name"
    again = ann.put("/api/v1/apps/sales_mini/draft", json=mine, headers={"If-Match": saved.headers["ETag"]})
    assert again.status_code == 200 and again.get_json()["version"] == int(again.headers["ETag"].strip('"'))


def test_publishing_moves_the_draft_version(any_db, app, make):
    owner = make.user("Owner", password=None)
    make.install("sales-mini", owner=owner)
    actor = Actor.from_user(owner)
    before = apps.draft_version(actor, "sales_mini")
    apps.publish(actor, "sales_mini")
    assert apps.draft_version(actor, "sales_mini") != before


def test_new_blank_app_opens_the_designer_and_publishes_what_it_adds(app, make):
    owner = make.user("Olga")
    client = browser(app, owner)
    page = client.get("/apps/new")
    assert page.status_code == 200 and "Blank app" in page.get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|value="([^"]+)" name="csrf_token"',
                      page.get_data(as_text=True))
    data = {"name": "Visits", "key": "visits", "language": "en", "template": ""}
    if token:
        data["csrf_token"] = token.group(1) or token.group(2)
    resp = client.post("/apps/new", data=data)
    assert resp.status_code == 302 and resp.location.endswith("/a/visits/design")
    designer = client.get("/a/visits/design").get_data(as_text=True)
    payload = json.loads(re.search(r'id="fl-designer-data">(.*?)</script>', designer, re.S).group(1))
    assert payload["draft"]["forms"][0]["fields"][0]["label"] == "Title"
    assert any(t["options"] for t in payload["types"]) and payload["published"] == {"form_1": ["title"]}
    taken = client.post("/apps/new", data=data)
    assert taken.status_code == 422 and "exists already" in taken.get_data(as_text=True)

    actor = Actor.from_user(owner)
    draft = apps.draft(actor, "visits")
    draft["forms"][0]["fields"].append({"key": "region", "type": "select", "label": "Region",
                                        "options": [{"value": "north", "label": "North", "color": "#16a34a"}]})
    apps.save_draft(actor, "visits", draft)
    review = client.get("/a/visits/publish").get_data(as_text=True)
    assert "Adds the field Region to Form 1" in review
    done = client.post("/a/visits/publish", data={})
    assert done.status_code == 302
    assert db.session.execute(sa.select(App.published_version).where(App.key == "visits")).scalar() == 2


def test_new_app_from_a_template_with_sample_records(app, make):
    client = browser(app, make.user("Olga"))
    page = client.get("/apps/new").get_data(as_text=True)
    assert "Sales (mini)" in page and "Quote" in page
    resp = client.post("/apps/new", data={"name": "East sales", "key": "east", "language": "en",
                                          "template": "sales_mini", "sample_data": "y"})
    assert resp.status_code == 302
    assert client.get("/a/east/f/deal").status_code == 200
    assert "East sales" in client.get("/").get_data(as_text=True)


def test_a_blank_app_needs_its_name_and_key_a_template_proposes_them(app, make):
    client = browser(app, make.user("Olga"))
    empty = client.post("/apps/new", data={"name": "", "key": "", "language": "en", "template": ""})
    assert empty.status_code == 422 and empty.get_data(as_text=True).count("A blank app needs this.") == 2
    unknown = client.post("/apps/new", data={"name": "X", "key": "x", "language": "en", "template": "nope"})
    assert unknown.status_code == 422 and "This template is not installed." in unknown.get_data(as_text=True)
    page = client.get("/apps/new?template=sales_mini").get_data(as_text=True)
    assert re.search(r'<input[^>]*name="key"[^>]*value="sales_mini"', page)  # the template's key, free
    assert 'data-languages="zh en"' in page and 'value="sales_mini" checked' in page
    done = client.post("/apps/new", data={"name": "", "key": "", "language": "en", "template": "sales_mini"})
    assert done.status_code == 302 and done.location.endswith("/a/sales_mini")
    assert "Sales (mini)" in client.get("/").get_data(as_text=True)  # the template's own name
    page = client.get("/apps/new?template=sales_mini").get_data(as_text=True)
    assert re.search(r'<input[^>]*name="key"[^>]*value="sales_mini_2"', page)  # then the next free one


def test_publish_page_names_the_records_that_cannot_convert(app, make):
    owner = make.user("Olga")
    rt = make.install("sales-mini", owner=owner)
    actor = Actor.from_user(owner)
    from formloom.runtime.records import service

    rec = service.create(actor, rt, "company", {"name": "Acme", "industry": "Software"})
    draft = apps.draft(actor, "sales_mini")
    field = next(f for f in draft["forms"][0]["fields"] if f["key"] == "name")
    field["type"] = "number"
    field.pop("max_length", None)  # what the designer does: a number has no length
    apps.save_draft(actor, "sales_mini", draft)
    client = browser(app, owner)
    review = client.get("/a/sales_mini/publish").get_data(as_text=True)
    assert "from Single-line text to Number" in review
    assert f"/a/sales_mini/f/company/r/{rec['id']}" in review and "Acme" in review
    refused = client.post("/a/sales_mini/publish", data={})
    assert refused.status_code == 409 and "Nothing was published" in refused.get_data(as_text=True)
    assert client.post("/a/sales_mini/publish", data={"accept_loss": "1"}).status_code == 302


def test_builder_pages_are_for_app_admins(app, make):
    owner, mia = make.user("Olga"), make.user("Mia")
    make.install("sales-mini", owner=owner, members=[mia])
    client = browser(app, mia)
    for url in ("/a/sales_mini/design", "/a/sales_mini/publish"):
        assert client.get(url).status_code == 403
    assert client.post("/a/sales_mini/publish").status_code in (400, 403)


def test_versions_pages_compare_restore_and_import(app, make):
    owner = make.user("Olga")
    make.install("sales-mini", owner=owner)
    actor = Actor.from_user(owner)
    draft = apps.draft(actor, "sales_mini")
    draft["forms"][0]["fields"].append({"key": "website", "type": "url", "label": "Website"})
    apps.save_draft(actor, "sales_mini", draft)
    apps.publish(actor, "sales_mini")
    client = browser(app, owner)
    listing = client.get("/a/sales_mini/versions").get_data(as_text=True)
    assert 'data-version="2"' in listing and "Olga" in listing
    diff = client.get("/a/sales_mini/versions/1/diff?to=2").get_data(as_text=True)
    assert "Adds the field Website to Company" in diff
    review = client.get("/a/sales_mini/versions/1/restore").get_data(as_text=True)
    assert "Removes the field Website from Company" in review
    done = client.post("/a/sales_mini/versions/1/restore", data={})
    assert done.status_code == 302
    assert "Version 1 is published again as version 3" in client.get("/a/sales_mini/versions").get_data(as_text=True)
    exported = client.get("/a/sales_mini/export?data=1")
    assert exported.status_code == 200 and exported.get_json()["version"] == 3
    import io

    made = client.post("/apps/import", data={"key": "copy", "name": "",
                                             "file": (io.BytesIO(exported.get_data()), "sales.formloom.json")},
                       content_type="multipart/form-data")
    assert made.status_code == 302 and made.location.endswith("/a/copy")
    bad = client.post("/apps/import", data={"key": "other", "file": (io.BytesIO(b"{}"), "x.json")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422 and "not a Formloom app file" in bad.get_data(as_text=True)


def test_an_app_in_the_bin_is_gone_until_an_org_admin_restores_it(app, make):
    owner, boss = make.user("Olga"), make.user("Boss", admin=True)
    make.install("sales-mini", owner=owner)
    client = browser(app, owner)
    assert client.post("/a/sales_mini/delete").status_code == 302
    assert client.get("/a/sales_mini").status_code == 404
    assert "Sales (mini)" not in client.get("/").get_data(as_text=True)
    assert client.get("/apps/bin").status_code == 403
    admin = browser(app, boss)
    assert admin.get("/a/sales_mini/f/company").status_code == 404
    page = admin.get("/apps/bin").get_data(as_text=True)
    assert 'data-bin-app="sales_mini"' in page
    app_id = db.session.execute(sa.select(App.id).where(App.key == "sales_mini")).scalar()
    assert client.post(f"/apps/bin/{app_id}/restore").status_code == 403
    assert admin.post(f"/apps/bin/{app_id}/restore").status_code == 302
    assert client.get("/a/sales_mini/f/company").status_code == 200
    assert "The bin is empty" in admin.get("/apps/bin").get_data(as_text=True)


def test_discarding_the_draft_brings_back_the_published_version(app, make):
    owner = make.user("Olga")
    make.install("sales-mini", owner=owner)
    actor = Actor.from_user(owner)
    draft = apps.draft(actor, "sales_mini")
    draft["forms"][0]["fields"].append({"key": "website", "type": "url", "label": "Website"})
    apps.save_draft(actor, "sales_mini", draft)
    client = browser(app, owner)
    assert "Adds the field Website" in client.get("/a/sales_mini/publish").get_data(as_text=True)
    assert client.post("/a/sales_mini/draft/discard").status_code == 302
    assert "website" not in json.dumps(apps.draft(actor, "sales_mini"))
    assert "Nothing changes the stored data" in client.get("/a/sales_mini/publish").get_data(as_text=True)


def test_an_apps_name_icon_and_colour_show_on_its_tile(app, make):
    owner = make.user("Olga")
    make.install("sales-mini", owner=owner)
    actor = Actor.from_user(owner)
    draft = apps.draft(actor, "sales_mini")
    draft.update(name="Deals", icon="briefcase", color="green")
    assert apps.save_draft(actor, "sales_mini", draft)["valid"]
    assert not apps.save_draft(actor, "sales_mini", {**draft, "color": "#00ff00"})["valid"]
    apps.save_draft(actor, "sales_mini", draft)
    apps.publish(actor, "sales_mini")
    index = browser(app, owner).get("/").get_data(as_text=True)
    assert "Deals" in index and "fl-tile-icon fl-tile-green" in index and "bi-briefcase" in index


def test_four_fields_to_a_row(app, make):
    owner = make.user("Olga")
    make.install("sales-mini", owner=owner)
    actor = Actor.from_user(owner)
    draft = apps.draft(actor, "sales_mini")
    for f in draft["forms"][0]["fields"][:4]:
        f["width"] = "quarter"
    assert apps.save_draft(actor, "sales_mini", draft)["valid"]
    apps.publish(actor, "sales_mini")
    page = browser(app, owner).get("/a/sales_mini/f/company/new").get_data(as_text=True)
    assert len(re.findall(r'class="col-12 col-md-3 fl-slot"', page)) == 4
