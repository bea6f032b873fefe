"""Every field type through the record form: rendered, typed in, saved, shown again."""
from __future__ import annotations

import io

import pytest

from formloom.platform.extensions import db, write_transaction
from formloom.platform.models import Department
from formloom.runtime.records import service

KITCHEN = {
    "key": "kitchen", "name": "Kitchen sink",
    "forms": [
        {"key": "target", "name": "Target", "title_field": "name", "fields": [
            {"key": "name", "type": "text", "label": "Name"}]},
        {"key": "sink", "name": "Sink", "title_field": "title", "fields": [
            {"key": "code", "type": "serial", "label": "Code", "pattern": "S-{seq:3}"},
            {"key": "title", "type": "text", "label": "Title", "required": True},
            {"key": "notes", "type": "textarea", "label": "Notes"},
            {"key": "data", "type": "text", "label": "Data"},  # a WTForms Form attribute's name
            {"key": "qty", "type": "number", "label": "Qty", "precision": 2},
            {"key": "due", "type": "date", "label": "Due"},
            {"key": "meet_at", "type": "datetime", "label": "Meet at"},
            {"key": "done", "type": "boolean", "label": "Done"},
            {"key": "size", "type": "select", "label": "Size", "display": "radio", "options": ["s", "m", "l"]},
            {"key": "colors", "type": "multiselect", "label": "Colors", "options": ["red", "blue"]},
            {"key": "helper", "type": "user", "label": "Helper"},
            {"key": "watchers", "type": "user", "label": "Watchers", "multiple": True},
            {"key": "team", "type": "department", "label": "Team"},
            {"key": "mail", "type": "email", "label": "Mail"},
            {"key": "phone", "type": "phone", "label": "Phone"},
            {"key": "site", "type": "url", "label": "Site"},
            {"key": "target", "type": "link", "form": "target", "label": "Target"},
            {"key": "targets", "type": "link", "form": "target", "label": "Targets", "multiple": True},
            {"key": "stars", "type": "rating", "label": "Stars"},
            {"key": "double", "type": "formula", "label": "Double", "expr": "qty * 2"},
            {"key": "lines", "type": "subform", "label": "Lines", "fields": [
                {"key": "what", "type": "text", "label": "What"},
                {"key": "n", "type": "number", "label": "N"},
                {"key": "when", "type": "date", "label": "When"},
                {"key": "ok", "type": "boolean", "label": "OK"},
                {"key": "who", "type": "user", "label": "Who"},
                {"key": "ref", "type": "link", "form": "target", "label": "Ref"}]},
            {"key": "doc", "type": "file", "label": "Doc"},
            {"key": "pic", "type": "image", "label": "Pic"},
        ]}]}

URL = "/a/kitchen/f/sink"


@pytest.fixture
def kitchen(make, owner):
    return make.install(KITCHEN, owner=owner)


@pytest.fixture
def team():
    with write_transaction():
        dept = Department(name="Field team")
        db.session.add(dept)
    return dept


def test_every_field_type_renders_saves_and_comes_back_unchanged(any_db, client, auth, make, owner, kitchen, team, html):
    helper, watcher = make.user("Hana Helper"), make.user("Walt Watcher")
    actor = make.actor(owner)
    t1 = service.create(actor, kitchen, "target", {"name": "Target one"})
    t2 = service.create(actor, kitchen, "target", {"name": "Target two"})
    auth.login(owner.email)

    page = html(client.get(URL + "/new"))
    slots = {s.attrs["data-field"]: s for s in page.select(cls="fl-slot")}
    assert list(slots) == [f["key"] for f in KITCHEN["forms"][1]["fields"]]
    assert [o.attrs["value"] for o in slots["helper"].select("option")][1:] == sorted(
        [str(owner.id), str(helper.id), str(watcher.id)], key=lambda i: {str(owner.id): "Olga", str(helper.id): "Hana",
                                                                         str(watcher.id): "Walt"}[i])
    assert slots["size"].select("input", type="radio") and slots["stars"].select("input", type="radio")
    assert slots["target"].select(data_link_picker="") and slots["lines"].select("template")
    assert slots["doc"].select("input", type="file") and "image/png" in slots["pic"].one("input", type="file").attrs["accept"]
    assert "Filled in when you save" in slots["code"].text and "Filled in when you save" in slots["double"].text

    form = {
        "title": "Everything", "notes": "Line one\nLine two", "data": "kept apart", "qty": "2.5", "due": "2026-03-01",
        "meet_at": "2026-03-01T09:30", "done": "y", "size": "m", "colors": ["red", "blue"],
        "helper": str(helper.id), "watchers": [str(helper.id), str(watcher.id)], "team": str(team.id),
        "mail": "a@example.com", "phone": "+86 10 1234 5678", "site": "https://example.com",
        "target": str(t1["id"]), "targets": [str(t2["id"]), str(t1["id"])], "stars": "4",
        "lines-0-what": "Bolt", "lines-0-n": "3", "lines-0-when": "2026-02-01", "lines-0-ok": "y",
        "lines-0-who": str(watcher.id), "lines-0-ref": str(t2["id"]),
        "doc": (io.BytesIO(b"hello"), "hello.txt", "text/plain"),
        "pic": (io.BytesIO(b"\x89PNG fake"), "dot.png", "image/png"),
    }
    response = client.post(URL + "/new", data=form, content_type="multipart/form-data")
    assert response.status_code == 302, html(response).select(id="fl-error-summary")[0].text
    rid = int(response.headers["Location"].rsplit("/", 1)[1])
    record = service.get(actor, kitchen, "sink", rid)
    values = record["fields"]
    assert values["code"] == "S-001" and values["qty"] == 2.5 and values["double"] == 5
    assert values["data"] == "kept apart"
    assert values["meet_at"].isoformat() == "2026-03-01T01:30:00"  # typed in Asia/Shanghai, kept in UTC
    assert values["done"] is True and values["size"] == "m" and values["colors"] == ["red", "blue"]
    assert values["helper"] == helper.id and values["watchers"] == [helper.id, watcher.id]
    assert values["team"] == team.id and values["targets"] == [t2["id"], t1["id"]] and values["stars"] == 4
    assert values["lines"][0]["who"] == watcher.id and values["lines"][0]["ref"] == t2["id"]
    assert [f["name"] for f in values["doc"]] == ["hello.txt"] and [f["name"] for f in values["pic"]] == ["dot.png"]

    detail = html(client.get(response.headers["Location"]))
    shown = {row.attrs["data-field"]: row.one("dd").text for row in detail.select(cls="fl-dl-row")}
    assert shown["meet_at"] == "2026-03-01 09:30" and shown["helper"] == "Hana Helper"
    assert shown["watchers"] == "Hana Helper, Walt Watcher" and shown["team"] == "Field team"
    assert [a.text for a in detail.one(data_field="targets").select("a")] == ["Target two", "Target one"]
    assert shown["stars"] == "★★★★☆"
    assert shown["done"] == "Yes" and shown["size"] == "m" and shown["doc"] == "hello.txt"
    line = [td.text for td in detail.one(data_field="lines").one("tbody").select("td")]
    assert line == ["1", "Bolt", "3", "2026-02-01", "Yes", "Walt Watcher", "Target two"]

    # The edit page shows every value again; sending it back unchanged changes nothing.
    edit = html(client.get(f"{URL}/r/{rid}/edit"))
    again = {k: edit.value(k) for k in ("title", "notes", "data", "qty", "due", "meet_at", "size", "helper", "team",
                                         "mail", "phone", "site", "stars", "lines-0-what", "lines-0-n")}
    assert again == {"title": "Everything", "notes": "Line one\nLine two", "data": "kept apart", "qty": "2.5", "due": "2026-03-01",
                     "meet_at": "2026-03-01T09:30", "size": ["m"], "helper": str(helper.id), "team": str(team.id),
                     "mail": "a@example.com", "phone": "+86 10 1234 5678", "site": "https://example.com",
                     "stars": ["4"], "lines-0-what": "Bolt", "lines-0-n": "3"}
    assert edit.value("watchers") == [str(helper.id), str(watcher.id)]
    assert [c.attrs["value"] for c in edit.one(data_field="targets").select("input", type="hidden") if "value" in c.attrs] == [
        str(t2["id"]), str(t1["id"])]
    kept = edit.value("_keep-doc") + edit.value("_keep-pic")
    resend = {**{k: v for k, v in form.items() if k not in ("doc", "pic")}, "_version": "1",
              "_keep-doc": kept[:1], "_keep-pic": kept[1:]}
    response = client.post(f"{URL}/r/{rid}/edit", data=resend, content_type="multipart/form-data")
    assert response.status_code == 302
    assert service.get(actor, kitchen, "sink", rid)["version"] == 1
