"""Number fields: what people and API clients send, rounding, bounds, display."""
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from formloom.runtime.fields import FieldValueError, ValueContext, field_types

from support_formloom import assert_round_trips, conforms

NUMBER = field_types.get("number")


def num(**settings):
    return {"key": "amount", "type": "number", **settings}


@pytest.mark.parametrize("sent, expected", [
    (12, 12), (12.5, 12.5), ("12", 12), (" 12.5 ", 12.5), ("1,234", 1234), ("1,234,567.89", 1234567.89),
    ("-1,234.5", -1234.5), ("+7", 7), (".5", 0.5), ("1e3", 1000), (Decimal("2.50"), 2.5), ("3.0", 3),
    (None, None), ("", None),
])
def test_accepts_numbers_and_number_text(sent, expected, ctx):
    value = NUMBER.to_python(num(), sent, ctx)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize("sent", [
    "abc", "12abc", "1,2,3", "12,34", "1 234", "1_000", "0x10", "-", ".", "E0", "e5", "Infinity", "-inf", "NaN",
    "sNaN", True, False, [1], {"value": 1}, float("nan"), float("inf"),
])
def test_rejects_what_is_not_a_number(sent, ctx):
    with pytest.raises(FieldValueError) as exc:
        NUMBER.to_python(num(), sent, ctx)
    assert str(exc.value) in ("must be a number", "is too large")


def test_huge_values_are_refused_in_plain_words(ctx):
    with pytest.raises(FieldValueError, match="^is too large$"):
        NUMBER.to_python(num(), "1e400", ctx)
    with pytest.raises(FieldValueError, match="^is too large$"):
        NUMBER.to_python(num(), 10**400, ctx)
    # A decimal column holds 20 digits: 18 before the point with precision 2.
    with pytest.raises(FieldValueError, match="^is too large$"):
        NUMBER.to_python(num(precision=2), 10**18, ctx)
    assert NUMBER.to_python(num(precision=2), 10**17, ctx) == 10**17
    with pytest.raises(FieldValueError, match="^is too large$"):
        NUMBER.parse_cell(num(precision=2), "1E100", ctx)


@pytest.mark.parametrize("sent, places, expected", [
    (2.675, 2, 2.68), ("2.675", 2, 2.68), (1.005, 2, 1.01), (2.5, 0, 3), (3.5, 0, 4), (-2.5, 0, -3),
    (0.125, 2, 0.13), ("1,234.565", 2, 1234.57), (12.0001, 3, 12), (1.23456789, 8, 1.23456789),
])
def test_precision_rounds_half_up_as_people_do(sent, places, expected, ctx):
    value = NUMBER.to_python(num(precision=places), sent, ctx)
    assert value == expected
    if places == 0 or float(expected).is_integer():
        assert type(value) is int


def test_min_and_max_are_checked_after_rounding(ctx):
    field = num(precision=0, min=0, max=100)
    assert NUMBER.to_python(field, 100.4, ctx) == 100
    assert NUMBER.to_python(field, -0.4, ctx) == 0
    with pytest.raises(FieldValueError, match="^must be at most 100$"):
        NUMBER.to_python(field, 100.5, ctx)
    with pytest.raises(FieldValueError, match="^must be at least 0$"):
        NUMBER.to_python(field, "-1", ctx)


@pytest.mark.parametrize("field, value, text", [
    (num(), 1234.5, "1,234.5"),  # one format everywhere: thousands separated by default
    (num(), -7, "-7"),
    (num(precision=2), 1234.5, "1,234.50"),
    (num(display="plain"), 2026, "2026"),
    (num(precision=2, display="plain"), -1234.5, "-1234.50"),
    (num(precision=2, display="thousands"), 1234567.891, "1,234,567.89"),
    (num(display="thousands"), 1234567, "1,234,567"),
    (num(precision=2, display="currency"), 1234.5, "¥1,234.50"),
    (num(precision=2, display="currency"), -1234.5, "-¥1,234.50"),
    (num(precision=2, display="currency", currency="USD"), 99, "$99.00"),
    (num(precision=0, display="currency", currency="JPY"), 1500, "JPY 1,500"),
    (num(display="percent"), 12.5, "12.5%"),
    (num(precision=1, display="percent"), 12, "12.0%"),
    (num(precision=1, display="percent"), -3.25, "-3.2%"),
    (num(), None, ""),
])
@pytest.mark.parametrize("locale", ["zh", "en"])
def test_format_for_people(field, value, text, locale):
    assert NUMBER.format(field, value, locale) == text


@pytest.mark.parametrize("cell, expected", [
    ("1,234.50", 1234.5), ("¥1,234.50", 1234.5), ("-¥1,234.50", -1234.5), ("$99", 99), ("12.5%", 12.5),
    (" 300 元", 300), ("1 234", 1234), ("", None),
])
def test_parse_cell_reads_what_format_and_spreadsheets_write(cell, expected, ctx):
    assert NUMBER.parse_cell(num(), cell, ctx) == expected


def test_parse_cell_reads_back_every_display(ctx):
    for display in ("plain", "thousands", "currency", "percent"):
        field = num(precision=2, display=display)
        for value in (0, 1234567.5, -42.25):
            assert NUMBER.parse_cell(field, NUMBER.format(field, value, "zh"), ctx) == value


def test_parse_cell_still_refuses_words(ctx):
    with pytest.raises(FieldValueError, match="^must be a number$"):
        NUMBER.parse_cell(num(), "twelve", ctx)


def test_storage_follows_precision():
    numeric = NUMBER.sa_type(num(precision=2))
    assert isinstance(numeric.impl, sa.Numeric) and numeric.impl.scale == 2 and numeric.impl.asdecimal is False
    assert numeric.python_type is float
    assert isinstance(NUMBER.sa_type(num()), sa.Float)


def test_from_db_gives_whole_numbers_as_int():
    assert NUMBER.from_db(num(), 12.0) == 12 and type(NUMBER.from_db(num(), 12.0)) is int
    assert NUMBER.from_db(num(), 12.5) == 12.5
    assert NUMBER.from_db(num(), None) is None


def test_value_schema_states_the_bounds():
    schema = NUMBER.value_schema(num(min=0, max=100))
    assert conforms(schema, 0) and conforms(schema, 100) and conforms(schema, None)
    assert not conforms(schema, 101) and not conforms(schema, -1) and not conforms(schema, "12")


FIELDS = st.sampled_from([num(), num(precision=2), num(precision=0, min=0, max=1000), num(min=-5, max=5)])
INPUTS = st.one_of(
    st.integers(min_value=-10**12, max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
    st.decimals(min_value=-10**9, max_value=10**9, places=3).map(str),
    st.integers(min_value=-10**9, max_value=10**9).map(lambda i: f"{i:,}"),
    st.text(max_size=8),
)


@settings(max_examples=300, deadline=None)
@given(field=FIELDS, sent=INPUTS)
def test_accepted_values_conform_to_the_value_schema_and_round_trip(field, sent):
    assert_round_trips(field, sent)


@settings(max_examples=200, deadline=None)
@given(sent=st.floats(min_value=0, max_value=1000, allow_nan=False))
def test_every_value_the_schema_allows_is_accepted(sent):

    field = num(precision=2, min=0, max=1000)
    assert 0 <= NUMBER.to_python(field, sent, ValueContext()) <= 1000
