"""Views in the definition: each kind checks its settings at validation with JSON pointers,
and a publish that removes a field a view names drops it from the view, in the plan."""
import copy
import json
from pathlib import Path

import pytest

from formloom.builder import apps
from formloom.runtime.apps import get_runtime
from formloom.runtime.exceptions import DefinitionError
from formloom.runtime.schema import compile_app, validate_definition
from formloom.runtime.views import view_types

DATA = Path(__file__).parents[2] / "data"


def sales_mini() -> dict:
    return json.loads((DATA / "sales-mini.json").read_text("utf-8"))


def with_views(*views) -> dict:
    d = sales_mini()
    d["views"] = list(views)
    return d


def errors(*views) -> dict[str, str]:
    return {e["pointer"]: e["message"] for e in validate_definition(with_views(*views))}


def test_each_kind_is_one_class_with_its_own_schema():
    assert view_types.types() == ["calendar", "gallery", "kanban", "table"]
    schemas = [json.dumps(t.config_schema, sort_keys=True) for t in view_types]
    assert len(set(schemas)) == 4


def test_good_views_of_every_kind_compile():
    d = with_views(
        {"key": "pipeline", "form": "deal", "type": "kanban", "name": "Pipeline", "group_by": "stage",
         "totals": {"amount": "sum"}, "sort": ["-amount"], "options": {"card_fields": ["company", "amount"]}},
        {"key": "mine", "form": "deal", "filter": {"field": "$owner", "op": "eq", "value": {"var": "user.id"}},
         "columns": ["title", "stage", "amount", "$owner"], "sort": "-amount,title",
         "group_by": {"field": "close_date", "bucket": "quarter"},
         "totals": {"amount": "avg", "probability": "max", "close_date": "min", "title": "empty"},
         "options": {"widths": {"title": 240}}},
        {"key": "closing", "form": "deal", "type": "calendar", "options": {"start": "close_date", "end": None}},
        {"key": "by_owner", "form": "company", "type": "kanban", "group_by": "owner"},
        {"key": "files", "form": "quote", "type": "gallery", "options": {"cover": "attachment", "card_fields": ["number"]}},
    )
    app = compile_app(d)
    assert list(app.views) == ["pipeline", "mine", "closing", "by_owner", "files"]
    mine = app.views["mine"]
    assert mine.type == "table" and mine.sort == ["-amount", "title"]
    assert (mine.group_by.field, mine.group_by.bucket) == ("close_date", "quarter")


@pytest.mark.parametrize("view, pointer, words", [
    ({"key": "k", "form": "deal", "type": "kanban", "group_by": "title"}, "/views/0/group_by", "select field or per user"),
    ({"key": "k", "form": "deal", "type": "kanban"}, "/views/0", '"group_by" is required'),
    ({"key": "k", "form": "deal", "type": "kanban", "group_by": {"field": "close_date", "bucket": "month"}},
     "/views/0/group_by/field", "select field or per user"),
    ({"key": "c", "form": "deal", "type": "calendar", "options": {"start": "amount"}}, "/views/0/options/start", "date"),
    ({"key": "c", "form": "deal", "type": "calendar", "options": {"start": "close_date", "end": "title"}},
     "/views/0/options/end", "date"),
    ({"key": "g", "form": "quote", "type": "gallery", "options": {"cover": "number"}}, "/views/0/options/cover", "image"),
    ({"key": "t", "form": "deal", "columns": ["title", "nope"]}, "/views/0/columns/1", '"nope" is not a field'),
    ({"key": "t", "form": "deal", "colour": "red"}, "/views/0/colour", 'unknown setting "colour"'),
    ({"key": "t", "form": "deal", "options": {"card_fields": ["title"]}}, "/views/0/options/card_fields", "unknown setting"),
    ({"key": "t", "form": "deal", "type": "pie"}, "/views/0/type", 'unknown view type "pie"'),
    ({"key": "t", "form": "nowhere"}, "/views/0/form", '"nowhere" is not a form'),
    ({"key": "t", "form": "deal", "sort": ["-ghost"]}, "/views/0/sort/0", '"ghost" is not a field'),
    ({"key": "t", "form": "company", "sort": ["tags"]}, "/views/0/sort/0", "several values"),
    ({"key": "t", "form": "deal", "totals": {"title": "sum"}}, "/views/0/totals/title", "sum"),
    ({"key": "t", "form": "deal", "totals": {"amount": "median"}}, "/views/0/totals/amount", "must be one of"),
    ({"key": "t", "form": "deal", "group_by": "close_date"}, "/views/0/group_by", "bucket"),
    ({"key": "t", "form": "deal", "group_by": {"field": "stage", "bucket": "day"}}, "/views/0/group_by/bucket", "dates only"),
    ({"key": "t", "form": "company", "group_by": "tags"}, "/views/0/group_by", "cannot group by"),
    ({"key": "t", "form": "deal", "group_by": "amount"}, "/views/0/group_by", "cannot group by"),
    ({"key": "t", "form": "deal", "filter": {"field": "amount", "op": "gt", "value": "lots"}}, "/views/0/filter/value", "number"),
    ({"key": "t", "form": "deal", "filter": {"field": "ghost", "op": "eq", "value": 1}}, "/views/0/filter/field", "ghost"),
])
def test_a_wrong_view_is_refused_at_its_pointer(view, pointer, words):
    found = errors(view)
    assert pointer in found, found
    assert words in found[pointer]


def test_a_view_key_used_twice_and_a_view_without_form():
    found = errors({"key": "a", "form": "deal"}, {"key": "a", "form": "company"}, {"key": "b"})
    assert "twice" in found["/views/1/key"]
    assert "form" in found["/views/2"]


@pytest.fixture
def published(any_db, app, make):
    owner = make.user("Owner", password=None)
    make.install(with_views(
        {"key": "mine", "form": "deal", "columns": ["title", "probability", "amount"], "sort": ["-probability", "title"],
         "totals": {"probability": "avg", "amount": "sum"}, "group_by": "stage"},
        {"key": "pipeline", "form": "deal", "type": "kanban", "group_by": "stage",
         "options": {"card_fields": ["probability"]}},
        {"key": "closing", "form": "deal", "type": "calendar", "options": {"start": "close_date"}}), owner=owner)
    return make.actor(owner)


def without_field(defn: dict, form: str, key: str) -> dict:
    d = copy.deepcopy(defn)
    f = next(f for f in d["forms"] if f["key"] == form)
    f["fields"] = [x for x in f["fields"] if x["key"] != key]
    return d


def test_publishing_a_removed_field_drops_it_from_the_views_and_the_plan_says_so(published):
    actor = published
    draft = without_field(get_runtime("sales_mini").source, "deal", "probability")
    # weighted is computed from probability: it goes too.
    draft = without_field(draft, "deal", "weighted")
    saved = apps.save_draft(actor, "sales_mini", draft)
    assert saved["valid"], saved["errors"]
    dry = apps.publish(actor, "sales_mini", dry_run=True)
    steps = [s for s in dry["plan"] if s["op"] == "view_drop_field"]
    assert {(s["view"], s["field"]) for s in steps} == {("mine", "probability"), ("pipeline", "probability")}
    assert all("probability" in s["summary"] and s["view"] in s["summary"] for s in steps)
    apps.publish(actor, "sales_mini")
    rt = get_runtime("sales_mini")
    mine = rt.definition.views["mine"]
    assert mine.columns == ["title", "amount"] and mine.sort == ["title"] and mine.totals == {"amount": "sum"}
    assert mine.group_by.field == "stage"
    assert rt.definition.views["pipeline"].options == {"card_fields": []}
    assert {v["key"] for v in rt.source["views"]} == {"mine", "pipeline", "closing"}
    # The draft goes on from what was published: publishing it again changes nothing more.
    again = apps.publish(actor, "sales_mini", dry_run=True)
    assert not [s for s in again["plan"] if s["op"] == "view_drop_field"]


def test_removing_a_field_a_view_cannot_do_without_is_refused_at_the_view(published):
    actor = published
    draft = without_field(get_runtime("sales_mini").source, "deal", "close_date")
    saved = apps.save_draft(actor, "sales_mini", draft)
    found = {e["pointer"]: e["message"] for e in saved["errors"]}
    assert '"close_date" is not a field' in found["/views/2/options/start"]


def test_a_version_published_before_a_check_still_loads_without_the_view_it_fails():
    d = with_views({"key": "ok", "form": "deal"}, {"key": "old", "form": "deal", "type": "kanban", "group_by": "title"})
    with pytest.raises(DefinitionError):
        compile_app(d)
    app = compile_app(d, stored=True)
    assert list(app.views) == ["ok"] and list(app.forms) == ["company", "deal", "quote"]


def _indexed_columns(table: str) -> set[str]:
    import sqlalchemy as sa

    from formloom.platform.extensions import db

    return {c for ix in sa.inspect(db.engine).get_indexes(table) for c in ix["column_names"]}


def test_a_calendar_s_dates_are_indexed_also_when_a_publish_adds_the_calendar(published):
    actor = published
    rt = get_runtime("sales_mini")
    deal = rt.form_tables("deal")
    assert deal.columns["close_date"].name in _indexed_columns(deal.table.name)
    company = rt.form_tables("company")
    assert company.columns["since"].name not in _indexed_columns(company.table.name)
    draft = copy.deepcopy(rt.source)
    draft["views"].append({"key": "anniversaries", "form": "company", "type": "calendar", "options": {"start": "since"}})
    saved = apps.save_draft(actor, "sales_mini", draft)
    assert saved["valid"], saved["errors"]
    apps.publish(actor, "sales_mini")
    company = get_runtime("sales_mini").form_tables("company")
    assert company.columns["since"].name in _indexed_columns(company.table.name)
