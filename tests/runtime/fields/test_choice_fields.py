"""Boolean, select, multiselect and rating fields."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formloom.runtime.fields import FieldValueError, field_types

from support_formloom import assert_round_trips, assert_schema_accepts, conforms

BOOLEAN = field_types.get("boolean")
SELECT = field_types.get("select")
MULTI = field_types.get("multiselect")
RATING = field_types.get("rating")
B = {"key": "active", "type": "boolean"}
TIER = {"key": "tier", "type": "select", "options": [
    {"value": "A", "label": "重点客户", "label_en": "Key account", "color": "#d4380d"},
    {"value": "B", "label": "普通客户", "label_en": "Regular"},
    "C",
]}
TAGS = {"key": "tags", "type": "multiselect", "options": ["vip", "partner", "reseller", "Sales, East"]}


# -- boolean ----------------------------------------------------------------------------

@pytest.mark.parametrize("sent, expected", [
    (True, True), (False, False), (1, True), (0, False), ("true", True), ("FALSE", False),
    ("yes", True), ("No", False), ("是", True), ("否", False), ("√", True), ("×", False),
    (None, None), ("", None),
])
def test_boolean_accepts_yes_and_no_in_both_languages(sent, expected, ctx):
    assert BOOLEAN.to_python(B, sent, ctx) is expected


@pytest.mark.parametrize("sent", [2, -1, 1.5, "maybe", "好的", [True]])
def test_boolean_rejects_the_rest(sent, ctx):
    with pytest.raises(FieldValueError, match="^must be true or false$"):
        BOOLEAN.to_python(B, sent, ctx)


@pytest.mark.parametrize("cell, expected", [(" 是 ", True), ("否", False), ("TRUE", True), ("0", False)])
def test_boolean_parse_cell(cell, expected, ctx):
    assert BOOLEAN.parse_cell(B, cell, ctx) is expected


def test_boolean_format_per_language_and_reads_back(ctx):
    assert BOOLEAN.format(B, True, "zh") == "是" and BOOLEAN.format(B, False, "zh_CN") == "否"
    assert BOOLEAN.format(B, True, "en") == "Yes" and BOOLEAN.format(B, False, "en") == "No"
    assert BOOLEAN.format(B, None, "zh") == ""
    for value in (True, False):
        for locale in ("zh", "en"):
            assert BOOLEAN.parse_cell(B, BOOLEAN.format(B, value, locale), ctx) is value


# -- select -----------------------------------------------------------------------------

@pytest.mark.parametrize("sent, expected", [
    ("A", "A"), ("重点客户", "A"), ("Key account", "A"), ("Regular", "B"), ("C", "C"), (" B ", "B"),
    (None, None), ("", None),
])
def test_select_by_value_or_label(sent, expected, ctx):
    assert SELECT.to_python(TIER, sent, ctx) == expected


def test_select_value_wins_over_a_label_that_spells_another_value(ctx):
    field = {"key": "s", "type": "select", "options": [{"value": "a", "label": "b"}, {"value": "b", "label": "a"}]}
    assert SELECT.to_python(field, "a", ctx) == "a"
    assert SELECT.to_python(field, "b", ctx) == "b"


def test_select_numbers_for_numeric_options(ctx):
    field = {"key": "level", "type": "select", "options": ["1", "2", "3"]}
    assert SELECT.to_python(field, 2, ctx) == "2"
    assert SELECT.to_python(field, 3.0, ctx) == "3"


def test_select_refuses_other_choices_listing_the_options(ctx):
    with pytest.raises(FieldValueError) as exc:
        SELECT.to_python(TIER, "D", ctx)
    assert str(exc.value) == '"D" is not one of the options (A, B, C)'
    with pytest.raises(FieldValueError, match="^must be one of the options$"):
        SELECT.to_python(TIER, ["A"], ctx)
    with pytest.raises(FieldValueError, match="^must be one of the options$"):
        SELECT.to_python(TIER, True, ctx)


def test_select_long_option_lists_are_shortened_in_the_message(ctx):
    field = {"key": "s", "type": "select", "options": [f"o{i}" for i in range(30)]}
    with pytest.raises(FieldValueError) as exc:
        SELECT.to_python(field, "zz", ctx)
    assert str(exc.value).endswith("o18, o19, ...)")


def test_select_format_shows_the_label_in_the_language():
    assert SELECT.format(TIER, "A", "zh") == "重点客户"
    assert SELECT.format(TIER, "A", "en") == "Key account"
    assert SELECT.format(TIER, "C", "en") == "C"
    assert SELECT.format(TIER, None, "zh") == ""


def test_select_parse_cell_reads_labels(ctx):
    assert SELECT.parse_cell(TIER, " 普通客户 ", ctx) == "B"
    assert SELECT.parse_cell(TIER, SELECT.format(TIER, "A", "en"), ctx) == "A"


def test_select_value_schema_is_the_option_values():
    schema = SELECT.value_schema(TIER)
    assert all(conforms(schema, v) for v in ("A", "B", "C", None))
    assert not conforms(schema, "重点客户") and not conforms(schema, "D")


# -- multiselect ------------------------------------------------------------------------

@pytest.mark.parametrize("sent, expected", [
    (["vip", "partner"], ["vip", "partner"]),
    (["partner", "vip", "partner"], ["partner", "vip"]),
    ("vip, partner", ["vip", "partner"]),
    ("vip，partner", ["vip", "partner"]),
    ("vip、reseller", ["vip", "reseller"]),
    ("vip;partner", ["vip", "partner"]),
    ("Sales, East", ["Sales, East"]),  # one option whose value has a comma
    ([" vip "], ["vip"]),
    (None, []), ("", []), ([], []),
])
def test_multiselect_from_a_list_or_a_comma_string(sent, expected, ctx):
    assert MULTI.to_python(TAGS, sent, ctx) == expected


def test_multiselect_by_label(ctx):
    field = {"key": "m", "type": "multiselect", "options": [{"value": "a", "label": "甲"}, {"value": "b", "label": "乙"}]}
    assert MULTI.to_python(field, "甲、乙", ctx) == ["a", "b"]


def test_multiselect_refuses_unknown_choices_and_too_many(ctx):
    with pytest.raises(FieldValueError, match='^"gold" is not one of the options'):
        MULTI.to_python(TAGS, ["vip", "gold"], ctx)
    with pytest.raises(FieldValueError, match="^must be a list of options$"):
        MULTI.to_python(TAGS, [1, 2], ctx)
    with pytest.raises(FieldValueError, match="^must be a list of options$"):
        MULTI.to_python(TAGS, {"vip": True}, ctx)
    with pytest.raises(FieldValueError, match="^allows at most 2 choices$"):
        MULTI.to_python({**TAGS, "max_items": 2}, "vip,partner,reseller", ctx)


def test_multiselect_format_json_and_schema():
    assert MULTI.format(TAGS, ["vip", "partner"], "zh") == "vip, partner"
    assert MULTI.format(TAGS, [], "en") == ""
    assert MULTI.to_json(TAGS, ["vip"]) == ["vip"]
    schema = MULTI.value_schema({**TAGS, "max_items": 2})
    assert conforms(schema, ["vip", "partner"]) and conforms(schema, [])
    assert not conforms(schema, ["vip", "vip"]) and not conforms(schema, ["gold"])
    assert not conforms(schema, ["vip", "partner", "reseller"])
    assert MULTI.is_empty([]) and MULTI.empty(TAGS) == []


def test_multiselect_parse_cell_reads_its_own_format(ctx):
    assert MULTI.parse_cell(TAGS, MULTI.format(TAGS, ["vip", "reseller"], "zh"), ctx) == ["vip", "reseller"]


# -- rating -----------------------------------------------------------------------------

@pytest.mark.parametrize("sent, expected", [(1, 1), (5, 5), ("3", 3), (4.0, 4), (0, None), (None, None), ("", None)])
def test_rating_whole_stars(sent, expected, ctx):
    assert RATING.to_python({"key": "r", "type": "rating"}, sent, ctx) == expected


@pytest.mark.parametrize("sent, message", [
    (6, "must be between 1 and 5"), (-1, "must be between 1 and 5"), (2.5, "must be a whole number of stars"),
    ("three", "must be a whole number of stars"), (True, "must be a whole number of stars"),
    ("²", "must be a whole number of stars"), ("9" * 5000, "must be a whole number of stars"),
    (False, "must be a whole number of stars"),
])
def test_rating_bounds(sent, message, ctx):
    with pytest.raises(FieldValueError, match=f"^{message}$"):
        RATING.to_python({"key": "r", "type": "rating"}, sent, ctx)


def test_rating_with_ten_stars(ctx):
    field = {"key": "r", "type": "rating", "max": 10}
    assert RATING.to_python(field, 10, ctx) == 10
    assert RATING.format(field, 7, "zh") == "★★★★★★★☆☆☆"
    assert conforms(RATING.value_schema(field), 10) and not conforms(RATING.value_schema(field), 11)


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_rating_format(locale):
    assert RATING.format({"key": "r", "type": "rating"}, 3, locale) == "★★★☆☆"
    assert RATING.format({"key": "r", "type": "rating"}, None, locale) == ""


# -- value_schema against to_python ------------------------------------------------------

CHOICES = st.sampled_from([B, TIER, TAGS, {"key": "r", "type": "rating", "max": 7}])
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["A", "B", "C", "重点客户", "vip", "partner", "vip, partner", "是", "否", "3", "x"]),
    lambda inner: st.lists(inner, max_size=4), max_leaves=6)


@settings(max_examples=400, deadline=None)
@given(field=CHOICES, sent=ANY_JSON)
def test_accepted_choices_conform_to_the_value_schema_and_round_trip(field, sent):
    assert_round_trips(field, sent)


@settings(max_examples=200, deadline=None)
@given(field=CHOICES, sent=ANY_JSON)
def test_what_the_value_schema_allows_is_accepted(field, sent):
    assert_schema_accepts(field, sent)
