"""Dashboards in the definition: each widget kind is one class with its own schema; a wrong
form, field, measure or bucket is an error at its JSON pointer."""
import json
from pathlib import Path

import pytest

from formloom.runtime.dashboards import widget_types
from formloom.runtime.schema import compile_app, validate_definition

DATA = Path(__file__).parents[2] / "data"


def sales_mini() -> dict:
    return json.loads((DATA / "sales-mini.json").read_text("utf-8"))


def with_widgets(*widgets, filters=None) -> dict:
    d = sales_mini()
    d["dashboards"] = [{"key": "sales", "name": "销售", "name_en": "Sales", "widgets": list(widgets),
                        **({"filters": filters} if filters is not None else {})}]
    return d


def errors(*widgets, filters=None) -> dict[str, str]:
    return {e["pointer"]: e["message"] for e in validate_definition(with_widgets(*widgets, filters=filters))}


def deal(**source) -> dict:
    return {"form": "deal", "measures": [{"agg": "count"}], **source}


def test_each_kind_is_one_class_with_its_own_schema():
    assert sorted(widget_types.types()) == ["area", "bar", "funnel", "gauge", "kpi", "leaderboard", "line", "pie",
                                            "pivot", "table"]
    schemas = [json.dumps(t.config_schema, sort_keys=True) for t in widget_types]
    assert len(set(schemas)) >= 8  # line/leaderboard/funnel/table share nothing but the source


def test_a_dashboard_of_every_kind_compiles():
    d = with_widgets(
        {"key": "won", "type": "kpi", "title": "本月赢单", "compare": "previous_period", "target": 100000,
         "period": {"field": "close_date", "range": "this_month"},
         "source": {"form": "deal", "where": {"field": "stage", "op": "eq", "value": "won"},
                    "measures": [{"agg": "sum", "field": "amount"}]}},
        {"key": "funnel", "type": "funnel", "source": deal(dimensions=[{"field": "stage"}])},
        {"key": "by_month", "type": "line", "source": deal(dimensions=[{"field": "close_date", "bucket": "month"}],
                                                           measures=[{"agg": "sum", "field": "amount", "as": "won"}])},
        {"key": "bars", "type": "bar", "mode": "stacked", "horizontal": True,
         "source": deal(dimensions=[{"field": "$owner"}, {"field": "stage"}])},
        {"key": "area", "type": "area", "stacked": True, "source": deal(dimensions=[{"field": "$created_at", "bucket": "week"}])},
        {"key": "pie", "type": "pie", "donut": True, "source": deal(dimensions=[{"field": "company.tier"}])},
        {"key": "gauge", "type": "gauge", "max": 100, "source": deal(measures=[{"agg": "avg", "field": "probability"}])},
        {"key": "table", "type": "table", "totals": True, "source": deal(dimensions=[{"field": "company"}])},
        {"key": "pivot", "type": "pivot", "rows": 1, "source": deal(
            dimensions=[{"field": "company.industry"}, {"field": "stage"}],
            measures=[{"agg": "sum", "field": "amount"}, {"agg": "count"}, {"agg": "distinct", "field": "company"}])},
        {"key": "rate", "type": "leaderboard", "source": {"form": "deal", "dimensions": [{"field": "$owner"}],
         "measures": [{"agg": "count", "as": "won", "where": {"field": "stage", "op": "eq", "value": "won"}},
                      {"agg": "count", "as": "lost", "where": {"field": "stage", "op": "eq", "value": "lost"}},
                      {"ratio": {"of": "won", "to": ["won", "lost"]}, "as": "win_rate", "format": "percent"}],
         "sort": "-win_rate", "limit": 10, "others": True}},
        filters=[{"field": "close_date", "kind": "date_range", "default": "this_quarter"},
                 {"field": "stage", "kind": "select"}, {"field": "$owner", "kind": "user"}])
    app = compile_app(d)
    dash = app.dashboards["sales"]
    assert list(dash.widgets) == ["won", "funnel", "by_month", "bars", "area", "pie", "gauge", "table", "pivot", "rate"]
    assert [m.key for m in dash.widgets["pivot"].source.measures] == ["sum_amount", "count", "distinct_company"]
    assert dash.widgets["rate"].source.measures[2].ratio == ("won", ("won", "lost"))
    assert [f.key for f in dash.filters] == ["close_date", "stage", "$owner"]
    assert widget_types.get("pivot").grouping_sets(dash.widgets["pivot"]) == [(0,), (1,), ()]


@pytest.mark.parametrize("widget, pointer, words", [
    ({"key": "w", "type": "sparkle", "source": deal()}, "/dashboards/0/widgets/0/type", 'unknown widget type "sparkle"'),
    ({"key": "w", "type": "bar", "source": {"form": "nope", "measures": [{"agg": "count"}], "dimensions": [{"field": "x"}]}},
     "/dashboards/0/widgets/0/source/form", '"nope" is not a form'),
    ({"key": "w", "type": "bar", "source": deal(dimensions=[{"field": "colour"}])},
     "/dashboards/0/widgets/0/source/dimensions/0/field", '"colour" is not a field of form "deal"'),
    ({"key": "w", "type": "bar", "source": deal(dimensions=[{"field": "company.colour"}])},
     "/dashboards/0/widgets/0/source/dimensions/0/field", "not a link with that field"),
    ({"key": "w", "type": "bar", "source": deal(dimensions=[{"field": "title"}])},
     "/dashboards/0/widgets/0/source/dimensions/0/field", 'cannot group by "title"'),
    ({"key": "w", "type": "bar", "source": deal(dimensions=[{"field": "stage", "bucket": "month"}])},
     "/dashboards/0/widgets/0/source/dimensions/0/bucket", "a bucket groups dates only"),
    ({"key": "w", "type": "bar", "source": deal(dimensions=[{"field": "close_date"}])},
     "/dashboards/0/widgets/0/source/dimensions/0", "say how to group them"),
    ({"key": "w", "type": "kpi", "source": deal(measures=[{"agg": "sum", "field": "title"}])},
     "/dashboards/0/widgets/0/source/measures/0/field", 'cannot take the sum of "title"'),
    ({"key": "w", "type": "kpi", "source": deal(measures=[{"agg": "avg", "field": "nope"}])},
     "/dashboards/0/widgets/0/source/measures/0/field", '"nope" is not a field'),
    ({"key": "w", "type": "kpi", "source": deal(measures=[{"agg": "sum"}])},
     "/dashboards/0/widgets/0/source/measures/0", 'a sum needs a "field"'),
    ({"key": "w", "type": "kpi", "source": deal(where={"field": "nope", "op": "eq", "value": 1})},
     "/dashboards/0/widgets/0/source/where/field", 'unknown field "nope"'),
    ({"key": "w", "type": "kpi", "source": deal(measures=[{"ratio": {"of": "a", "to": "b"}, "as": "r"}])},
     "/dashboards/0/widgets/0/source/measures/0/ratio", 'is not another measure'),
    ({"key": "w", "type": "kpi", "source": deal(measures=[{"agg": "count"}, {"agg": "count", "as": "n"}])},
     "/dashboards/0/widgets/0/source/measures/0", "shows one number"),
    ({"key": "w", "type": "pivot", "source": deal(dimensions=[{"field": "stage"}])},
     "/dashboards/0/widgets/0/source/dimensions", "at least 2 dimensions"),
    ({"key": "w", "type": "kpi", "source": deal(dimensions=[{"field": "stage"}])},
     "/dashboards/0/widgets/0/source/dimensions", "at most 0 dimensions"),
    ({"key": "w", "type": "bar", "source": deal(dimensions=[{"field": "stage"}], sort="-nope")},
     "/dashboards/0/widgets/0/source/sort", '"nope" is not a measure or a dimension'),
    ({"key": "w", "type": "bar", "colour": "red", "source": deal(dimensions=[{"field": "stage"}])},
     "/dashboards/0/widgets/0/colour", 'unknown setting "colour"'),
    ({"key": "w", "type": "kpi", "period": {"field": "stage", "range": "this_month"}, "source": deal()},
     "/dashboards/0/widgets/0/period/field", "not a date"),
])
def test_wrong_widgets_are_errors_at_their_pointer(widget, pointer, words):
    found = errors(widget)
    assert pointer in found, found
    assert words in found[pointer]


def test_a_filter_no_widget_can_take_is_an_error():
    w = {"key": "w", "type": "bar", "source": deal(dimensions=[{"field": "stage"}])}
    found = errors(w, filters=[{"field": "stage", "kind": "date_range"}, {"field": "close_date", "kind": "date_range",
                                                                            "default": "someday"}])
    assert "no widget's form has a date range field" in found["/dashboards/0/filters/0/field"]
    assert "this_quarter" in found["/dashboards/0/filters/1/default"]


def test_the_example_definition_stays_without_dashboards():
    assert "dashboards" not in sales_mini()
