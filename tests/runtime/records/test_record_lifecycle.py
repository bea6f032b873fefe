"""Records through the service: formulas, defaults, drafts, revisions and outbox, recycle bin."""
import pytest
import sqlalchemy as sa

from formloom.platform.exceptions import Conflict, ValidationFailed
from formloom.platform.extensions import db
from formloom.platform.models import OutboxEvent, RecordRevision
from formloom.runtime.records import query, service


@pytest.fixture
def env(any_db, acme):
    return acme


def trail(rt, form_key, record_id):
    """(revisions, events) written for one record, oldest first."""
    revs = db.session.execute(sa.select(RecordRevision.version, RecordRevision.action, RecordRevision.changes,
                                        RecordRevision.actor_id)
                              .where(RecordRevision.form_key == form_key, RecordRevision.record_id == record_id)
                              .order_by(RecordRevision.id)).all()
    events = db.session.execute(sa.select(OutboxEvent.type, OutboxEvent.payload)
                                .where(OutboxEvent.form_key == form_key, OutboxEvent.record_id == record_id)
                                .order_by(OutboxEvent.id)).all()
    return revs, events


def test_formulas_and_drafts(env):
    actor, rt, company = env
    deal = service.create(actor, rt, "deal", {"title": "Big", "company": company["id"], "amount": 1000})
    assert deal["fields"]["probability"] == 10 and deal["fields"]["weighted"] == 100
    assert service.update(actor, rt, "deal", deal["id"], {"amount": 2500})["fields"]["weighted"] == 250
    assert service.update(actor, rt, "deal", deal["id"], {"amount": None})["fields"]["weighted"] == 0
    quote = service.create(actor, rt, "quote", {"deal": deal["id"], "items": [
        {"product": "A", "qty": 3, "price": 10}, {"product": "B", "price": 99.99, "discount": 50}]})
    rows = quote["fields"]["items"]
    assert [(r["qty"], r["discount"], r["subtotal"]) for r in rows] == [(3, 0, 30), (1, 50, 50)]
    assert quote["fields"]["total"] == 80 and quote["fields"]["max_discount"] == 50
    changed = service.update(actor, rt, "quote", quote["id"], {"items": [
        {"product": "A", "qty": 4, "price": 10, "discount": 25}]})
    assert [r["subtotal"] for r in changed["fields"]["items"]] == [30]
    assert changed["fields"]["total"] == 30 and changed["fields"]["max_discount"] == 25
    untouched = service.update(actor, rt, "quote", quote["id"], {"valid_until": "2026-12-31"})
    assert untouched["fields"]["total"] == 30 and untouched["fields"]["items"] == changed["fields"]["items"]
    stored, _ = query.list_records(actor, rt, "quote", condition={"field": "total", "op": "eq", "value": 30})
    assert [r["id"] for r in stored] == [quote["id"]]
    draft = service.create(actor, rt, "deal", {"stage": "lost"}, draft=True)
    assert draft["flow_status"] == "draft" and draft["fields"]["title"] is None
    still = service.update(actor, rt, "deal", draft["id"], {"amount": 5})
    assert still["flow_status"] == "draft"
    with pytest.raises(ValidationFailed) as err:
        service.update(actor, rt, "deal", draft["id"], {"title": "Now"}, draft=False)
    assert {e["field"] for e in err.value.errors} == {"company", "lost_reason"}
    done = service.update(actor, rt, "deal", draft["id"], {"title": "Now", "company": company["id"],
                                                           "lost_reason": "price"}, draft=False)
    assert done["flow_status"] is None and done["version"] == 3
    # A complete record cannot skip its required values by calling itself a draft.
    with pytest.raises(ValidationFailed):
        service.update(actor, rt, "deal", done["id"], {"title": ""}, draft=True)
    assert service.get(actor, rt, "deal", done["id"])["fields"]["title"] == "Now"


def test_each_change_writes_one_revision_and_one_event(env, make):
    actor, rt, company = env
    deal = service.create(actor, rt, "deal", {"title": "Big", "company": company["id"], "amount": 10})
    service.update(actor, rt, "deal", deal["id"], {"amount": 20, "stage": "won"})
    service.update(actor, rt, "deal", deal["id"], {"amount": 20})  # nothing changes: nothing written
    with pytest.raises(ValidationFailed):
        service.update(actor, rt, "deal", deal["id"], {"stage": "lost"})
    with pytest.raises(Conflict):
        service.update(actor, rt, "deal", deal["id"], {"title": "Stale"}, expected_version=1)
    service.delete(actor, rt, "deal", deal["id"])
    service.restore(actor, rt, "deal", deal["id"])
    revs, events = trail(rt, "deal", deal["id"])
    assert [(v, a) for v, a, _c, _u in revs] == [(1, "created"), (2, "updated"), (3, "deleted"), (4, "restored")]
    assert revs[1].changes == {"amount": [10, 20], "stage": ["new", "won"], "weighted": [1, 2]}
    assert revs[0].changes["title"] == [None, "Big"] and all(r.actor_id == actor.user_id for r in revs)
    assert [t for t, _p in events] == ["record.created", "record.updated", "record.deleted", "record.restored"]
    assert events[1].payload["changes"] == revs[1].changes and events[1].payload["version"] == 2
    now = service.get(actor, rt, "deal", deal["id"])
    assert now["version"] == 4 and now["fields"]["title"] == "Big" and now["fields"]["stage"] == "won"
    ids = service.bulk_create(actor, rt, "deal", [{"title": "B", "company": company["id"]}])
    revs, events = trail(rt, "deal", ids[0])
    assert [(r.action, r.changes["title"]) for r in revs] == [("created", [None, "B"])]
    assert [t for t, _p in events] == ["record.created"]


def test_recycle_bin_and_restore_refused_when_unique_value_taken(env):
    actor, rt, company = env
    service.delete(actor, rt, "company", company["id"])
    page, _ = query.list_records(actor, rt, "company")
    assert page == []
    binned, _ = query.list_records(actor, rt, "company", deleted=True)
    assert [r["id"] for r in binned] == [company["id"]] and binned[0]["deleted_at"]
    with pytest.raises(ValidationFailed):  # a deleted record's link target is gone
        service.create(actor, rt, "deal", {"title": "T", "company": company["id"]})
    again = service.create(actor, rt, "company", {"name": "Acme"})  # the name is free again
    with pytest.raises(Conflict) as err:
        service.restore(actor, rt, "company", company["id"])
    assert [e["field"] for e in err.value.errors] == ["name"]
    assert service.get(actor, rt, "company", company["id"], include_deleted=True)["deleted_at"]
    service.update(actor, rt, "company", again["id"], {"name": "Acme 2"})
    restored = service.restore(actor, rt, "company", company["id"])
    assert restored["deleted_at"] is None
    names = sorted(r["fields"]["name"] for r in query.list_records(actor, rt, "company")[0])
    assert names == ["Acme", "Acme 2"]


def test_defaults_and_me(any_db, app, make):
    owner = make.user("Owner", password=None)
    definition = {"key": "tasks", "name": "Tasks", "forms": [{"key": "task", "name": "Task", "fields": [
        {"key": "title", "type": "text", "default": "Untitled"},
        {"key": "assignee", "type": "user", "default": "$me"},
        {"key": "due", "type": "date", "default": "$today"},
        {"key": "done", "type": "boolean", "default": False},
        {"key": "points", "type": "number", "default": 3},
        {"key": "tags", "type": "multiselect", "options": ["a", "b"], "default": ["a"]},
        {"key": "steps", "type": "subform", "fields": [
            {"key": "what", "type": "text"}, {"key": "who", "type": "user", "default": "$me"}]}]}]}
    rt = make.install(definition, owner=owner)
    actor = make.actor(owner)
    rec = service.create(actor, rt, "task", {})
    assert rec["fields"]["title"] == "Untitled" and rec["fields"]["assignee"] == owner.id
    assert rec["fields"]["due"] is not None and rec["fields"]["done"] is False
    assert rec["fields"]["points"] == 3 and rec["fields"]["tags"] == ["a"] and rec["fields"]["steps"] == []
    with_rows = service.create(actor, rt, "task", {"steps": [{"what": "call"}]})
    assert with_rows["fields"]["steps"] == [{"what": "call", "who": owner.id}]
    explicit = service.create(actor, rt, "task", {"title": None, "points": None, "tags": []})
    assert explicit["fields"]["title"] is None and explicit["fields"]["points"] is None
    assert explicit["fields"]["tags"] == []


def test_bulk_create_does_not_query_per_row(env, make):
    actor, rt, company = env
    other = service.create(actor, rt, "company", {"name": "Globex"})
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def load(n):
        rows = [{"title": f"D{i}", "company": (company, other)[i % 2]["id"], "amount": i,
                 "stage": "lost", "lost_reason": "price"} for i in range(n)]
        statements.clear()
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            ids = service.bulk_create(actor, rt, "deal", rows)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        assert len(ids) == n
        return len(statements)

    few, many = load(20), load(400)
    assert many <= few + 2, statements
    page, _ = query.list_records(actor, rt, "deal", limit=500)
    assert len(page) == 420 and {r["fields"]["weighted"] for r in page} >= {0, 39.9}


def test_formula_reads_a_file_field_as_its_file_names(app, make):
    import io

    from formloom.platform.files import store_upload

    owner = make.user("Filer", password=None)
    rt = make.install({"key": "docs", "name": "Docs", "forms": [{"key": "doc", "name": "Doc", "fields": [
        {"key": "attachment", "type": "file"},
        {"key": "summary", "type": "formula", "expr": 'CONCATENATE("files: ", attachment)'}]}]}, owner=owner)
    stored = store_upload(rt.app_id, io.BytesIO(b"hi"), "plan.pdf", "application/pdf", owner.id)
    rec = service.create(make.actor(owner), rt, "doc", {"attachment": [stored.id]})
    assert rec["fields"]["summary"] == "files: plan.pdf"
