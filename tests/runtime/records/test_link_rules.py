"""Deleting a record others link to follows each link field's `on_delete`; restoring undoes it."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import RecordRevision
from formloom.runtime.exceptions import Conflict, NotFound
from formloom.runtime.records import service as records

SYSTEM = Actor.system()
DEFINITION = {"key": "links", "name": "Links", "forms": [
    {"key": "customer", "name": "Customer", "title_field": "name",
     "fields": [{"key": "name", "type": "text", "label": "Name"}]},
    {"key": "order", "name": "Order", "title_field": "ref",
     "fields": [{"key": "ref", "type": "text", "label": "Ref"},
                {"key": "customer", "type": "link", "form": "customer", "label": "Customer", "on_delete": "restrict"}]},
    {"key": "line", "name": "Order line",
     "fields": [{"key": "order", "type": "link", "form": "order", "label": "Order", "on_delete": "cascade"},
                {"key": "qty", "type": "number", "label": "Qty"}]},
    {"key": "note", "name": "Note", "title_field": "text",
     "fields": [{"key": "text", "type": "text", "label": "Text"},
                {"key": "about", "type": "link", "form": "customer", "multiple": True, "label": "About",
                 "on_delete": "clear"},
                {"key": "main", "type": "link", "form": "customer", "label": "Main", "on_delete": "clear"}]},
    {"key": "contact", "name": "Contact",
     "fields": [{"key": "customer", "type": "link", "form": "customer", "label": "Customer"}]}]}


@pytest.fixture
def rt(make, any_db):
    return make.install(DEFINITION)


def new(rt, form, **fields):
    return records.create(SYSTEM, rt, form, fields)["id"]


def fields(rt, form, rid):
    return records.get(SYSTEM, rt, form, rid, include_deleted=True)["fields"]


def test_restrict_refuses_naming_the_records_that_link(rt):
    acme = new(rt, "customer", name="Acme")
    new(rt, "order", ref="O-1", customer=acme)
    new(rt, "order", ref="O-2", customer=acme)
    with pytest.raises(Conflict) as refused:
        records.delete(SYSTEM, rt, "customer", acme)
    assert refused.value.message == '2 records link to this one (Order "O-1", Order "O-2"); change or delete them first'
    assert [e["record_id"] for e in refused.value.errors] == sorted(e["record_id"] for e in refused.value.errors)
    assert records.get(SYSTEM, rt, "customer", acme)  # still there


def test_clear_takes_the_record_out_of_links_and_restore_puts_it_back(rt):
    acme, other = new(rt, "customer", name="Acme"), new(rt, "customer", name="Other")
    note = new(rt, "note", text="n", about=[acme, other], main=acme)
    contact = new(rt, "contact", customer=acme)
    records.delete(SYSTEM, rt, "customer", acme)
    assert (fields(rt, "note", note)["about"], fields(rt, "note", note)["main"]) == ([other], None)
    assert fields(rt, "contact", contact)["customer"] == acme  # no rule: still points to the recycle bin
    caused = db.session.execute(sa.select(RecordRevision.caused_by).where(
        RecordRevision.form_key == "note", RecordRevision.action == "updated")).scalars().all()
    assert caused == [f"customer:{acme}@2"] * 2  # one revision per link field it was cleared from
    records.restore(SYSTEM, rt, "customer", acme)
    assert (sorted(fields(rt, "note", note)["about"]), fields(rt, "note", note)["main"]) == (sorted([acme, other]),
                                                                                           acme)


def test_a_link_changed_meanwhile_is_not_overwritten_on_restore(rt):
    acme, other = new(rt, "customer", name="Acme"), new(rt, "customer", name="Other")
    note = new(rt, "note", text="n", main=acme)
    records.delete(SYSTEM, rt, "customer", acme)
    records.update(SYSTEM, rt, "note", note, {"main": other})
    records.restore(SYSTEM, rt, "customer", acme)
    assert fields(rt, "note", note)["main"] == other


def test_cascade_deletes_the_children_and_restore_brings_back_only_those(rt):
    acme = new(rt, "customer", name="Acme")
    order = new(rt, "order", ref="O-1", customer=acme)
    lines = [new(rt, "line", order=order, qty=n) for n in (1, 2, 3)]
    records.delete(SYSTEM, rt, "line", lines[0])  # deleted by itself, before
    records.delete(SYSTEM, rt, "order", order)
    for rid in lines[1:]:
        with pytest.raises(NotFound):
            records.get(SYSTEM, rt, "line", rid)
    records.restore(SYSTEM, rt, "order", order)
    assert [records.get(SYSTEM, rt, "line", rid)["id"] for rid in lines[1:]] == lines[1:]
    with pytest.raises(NotFound):
        records.get(SYSTEM, rt, "line", lines[0])  # it was not the order's delete that removed it


def test_a_restrict_deeper_in_a_cascade_refuses_the_whole_delete(make, any_db):
    defn = {"key": "deep", "name": "Deep", "forms": [
        {"key": "a", "name": "A", "fields": [{"key": "name", "type": "text", "label": "Name"}]},
        {"key": "b", "name": "B", "fields": [{"key": "a", "type": "link", "form": "a", "label": "A",
                                              "on_delete": "cascade"}]},
        {"key": "c", "name": "C", "fields": [{"key": "b", "type": "link", "form": "b", "label": "B",
                                              "on_delete": "restrict"}]}]}
    rt = make.install(defn)
    a = new(rt, "a", name="x")
    b = new(rt, "b", a=a)
    new(rt, "c", b=b)
    with pytest.raises(Conflict):
        records.delete(SYSTEM, rt, "a", a)
    assert records.get(SYSTEM, rt, "a", a) and records.get(SYSTEM, rt, "b", b)  # nothing changed
