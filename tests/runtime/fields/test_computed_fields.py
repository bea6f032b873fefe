"""Serial numbers, formula results and subform rows."""
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from formloom.runtime.fields import FieldValueError, field_types

from support_formloom import conforms

SERIAL = field_types.get("serial")
FORMULA = field_types.get("formula")
SUBFORM = field_types.get("subform")


def serial(pattern):
    return {"key": "number", "type": "serial", "pattern": pattern}


# -- serial -----------------------------------------------------------------------------

@pytest.mark.parametrize("pattern, seq, expected", [
    ("QT-{YYYY}{MM}-{seq:4}", 7, "QT-202601-0007"),
    ("QT-{YYYY}{MM}-{seq:4}", 12345, "QT-202601-12345"),
    ("{YY}{MM}{DD}{seq:3}", 42, "260105042"),
    ("Q-{YYYY}-{seq}", 42, "Q-2026-42"),
    ("NO.{seq:6}", 1, "NO.000001"),
    ("合同{YYYY}年第{seq:3}号", 9, "合同2026年第009号"),
])
def test_numbers_render_the_pattern(pattern, seq, expected):
    assert SERIAL.number(serial(pattern), date(2026, 1, 5), seq) == expected


def test_the_period_key_changes_with_the_date_part_only():
    monthly = serial("QT-{YYYY}{MM}-{seq:4}")
    assert SERIAL.period(monthly, date(2026, 1, 5)) == SERIAL.period(monthly, date(2026, 1, 31))
    assert SERIAL.period(monthly, date(2026, 1, 31)) != SERIAL.period(monthly, date(2026, 2, 1))
    assert SERIAL.period(monthly, date(2026, 1, 5)) != SERIAL.period(monthly, date(2027, 1, 5))
    yearly = serial("Q-{YYYY}-{seq:4}")
    assert SERIAL.period(yearly, date(2026, 1, 1)) == SERIAL.period(yearly, date(2026, 12, 31))
    forever = serial("C{seq:5}")
    assert SERIAL.period(forever, date(2026, 1, 1)) == SERIAL.period(forever, date(2031, 7, 1))


def test_the_period_key_tells_patterns_apart():
    day = date(2026, 1, 5)
    assert SERIAL.period(serial("A-{YYYY}-{seq}"), day) != SERIAL.period(serial("B-{YYYY}-{seq}"), day)


@pytest.mark.parametrize("pattern, message", [
    ("Q-{YYYY}", "must contain {seq}"),
    ("Q-{yyyy}-{seq}", "unknown placeholder {yyyy}"),
    ("Q-{seq:4}-{n}", "unknown placeholder {n}"),
    ("X" * 75 + "{seq:99}", "longer than 100 characters"),
])
def test_pattern_problems_are_explained(pattern, message):
    errors = SERIAL.check_config(serial(pattern))
    assert len(errors) == 1 and errors[0][0] == "/pattern"
    assert message in errors[0][1]


def test_good_patterns_have_no_problems():
    assert SERIAL.check_config(serial("QT-{YYYY}{MM}-{seq:4}")) == []


def test_serial_is_computed_text():
    assert SERIAL.computed and SERIAL.result_kind(serial("{seq}")) == "text"
    assert isinstance(SERIAL.sa_type(serial("{seq}")), sa.String)
    assert SERIAL.format(serial("{seq}"), "QT-1", "zh") == "QT-1"


# -- formula ----------------------------------------------------------------------------

def formula(kind, **kw):
    return {"key": "f", "type": "formula", "expr": "1", "_result": kind, **kw}


@pytest.mark.parametrize("field, result, expected", [
    (formula("number"), 2.675, 2.675),
    (formula("number", precision=2), 2.675, 2.68),
    (formula("number", precision=0), 2.5, 3),
    (formula("number"), 12.0, 12),
    (formula("number"), True, None),
    (formula("number"), "12", None),
    (formula("number"), float("inf"), None),
    (formula("number", precision=2), 1e100, 1e100),
    (formula("text"), 3, "3"),
    (formula("text"), True, "TRUE"),
    (formula("text"), date(2026, 1, 31), "2026-01-31"),
    (formula("boolean"), True, True),
    (formula("boolean"), 1, None),
    (formula("date"), date(2026, 1, 31), date(2026, 1, 31)),
    (formula("date"), datetime(2026, 1, 31, 5, 0), date(2026, 1, 31)),
    (formula("datetime"), date(2026, 1, 31), datetime(2026, 1, 31, 0, 0)),
    (formula("datetime"), datetime(2026, 1, 31, 5, 0, 0, 999), datetime(2026, 1, 31, 5, 0)),
    (formula("number"), None, None),
])
def test_results_are_fitted_to_the_result_kind(field, result, expected):
    value = FORMULA.coerce_result(field, result)
    assert value == expected and type(value) is type(expected)


def test_a_date_in_a_datetime_result_is_stored_and_shown_as_a_datetime():
    field = formula("datetime")
    value = FORMULA.coerce_result(field, date(2026, 1, 31))
    assert FORMULA.to_json(field, value) == "2026-01-31T00:00:00Z"
    assert FORMULA.format(field, value, "zh") == "2026-01-31 00:00"


@pytest.mark.parametrize("kind, column", [
    ("number", sa.Float), ("boolean", sa.Boolean), ("date", sa.Date), ("datetime", sa.DateTime), ("text", sa.Text),
])
def test_storage_and_schema_follow_the_result_kind(kind, column):
    field = formula(kind)
    assert isinstance(FORMULA.sa_type(field), column)
    assert FORMULA.result_kind(field) == kind
    sample = {"number": 1.5, "boolean": True, "date": "2026-01-31", "datetime": "2026-01-31T01:30:00Z",
              "text": "x"}[kind]
    assert conforms(FORMULA.value_schema(field), sample) and conforms(FORMULA.value_schema(field), None)


def test_format_and_json_go_through_the_result_type():
    money = formula("number", precision=2, display="currency")
    assert FORMULA.format(money, 1234.5, "zh") == "¥1,234.50"
    assert FORMULA.format(formula("boolean"), True, "zh") == "是"
    assert FORMULA.to_json(formula("date"), date(2026, 1, 31)) == "2026-01-31"
    assert FORMULA.from_db(formula("number"), 3.0) == 3


def test_formulas_cannot_be_set(ctx):
    with pytest.raises(FieldValueError, match="^is computed by its formula$"):
        FORMULA.to_python(formula("number"), 3, ctx)


# -- subform ----------------------------------------------------------------------------

ITEMS = {"key": "items", "type": "subform", "fields": [{"key": "qty", "type": "number"}], "max_rows": 3}


def test_subform_takes_a_list_of_rows(ctx):
    rows = [{"qty": 1}, {"qty": 2}]
    assert SUBFORM.to_python(ITEMS, rows, ctx) == rows
    assert SUBFORM.to_python(ITEMS, None, ctx) == []
    with pytest.raises(FieldValueError, match="^must be a list of rows$"):
        SUBFORM.to_python(ITEMS, {"qty": 1}, ctx)
    with pytest.raises(FieldValueError, match="^must be a list of rows$"):
        SUBFORM.to_python(ITEMS, [1, 2], ctx)
    with pytest.raises(FieldValueError, match="^allows at most 3 rows$"):
        SUBFORM.to_python(ITEMS, [{}] * 4, ctx)


def test_subform_format_counts_rows():
    assert SUBFORM.format(ITEMS, [{}, {}], "zh") == "2 行"
    assert SUBFORM.format(ITEMS, [{}], "en") == "1 row"
    assert SUBFORM.format(ITEMS, [], "en") == "0 rows"


def test_subform_is_stored_in_rows_and_cannot_nest():
    assert SUBFORM.storage_for(ITEMS) == "rows" and SUBFORM.in_subform is False
    assert SUBFORM.check_config({**ITEMS, "min_rows": 5}) == [
        ("/min_rows", "is more than the maximum number of rows (3)")]
