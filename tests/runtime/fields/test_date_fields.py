"""Date and datetime fields: ISO input, time zones, spreadsheet cells, display."""
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formloom.runtime.fields import FieldValueError, ValueContext, field_types

from support_formloom import conforms

DATE = field_types.get("date")
DATETIME = field_types.get("datetime")
D = {"key": "close_date", "type": "date"}
DT = {"key": "follow_up_at", "type": "datetime"}


# -- date -------------------------------------------------------------------------------

@pytest.mark.parametrize("sent, expected", [
    ("2026-01-31", date(2026, 1, 31)),
    (" 2026-02-28 ", date(2026, 2, 28)),
    ("2026-01-31T23:30:00-05:00", date(2026, 1, 31)),  # the date as written
    (date(2026, 3, 1), date(2026, 3, 1)),
    (datetime(2026, 3, 1, 12, 0), date(2026, 3, 1)),
    (None, None), ("", None),
])
def test_date_accepts_iso_dates(sent, expected, ctx):
    assert DATE.to_python(D, sent, ctx) == expected


@pytest.mark.parametrize("sent", [
    "2026-02-30", "2026-13-01", "2026-01-31garbage", "31.01.2026", "tomorrow", "2026/1/31", 20260131,
    True, ["2026-01-31"],
])
def test_date_rejects_the_rest(sent, ctx):
    with pytest.raises(FieldValueError, match="^must be a date like 2026-01-31$"):
        DATE.to_python(D, sent, ctx)


def test_date_today_is_the_apps_today(ctx):
    assert DATE.to_python(D, "$today", ctx) == date(2026, 1, 31)
    assert DATE.to_python(D, "today", ctx) == date(2026, 1, 31)


def test_date_today_without_a_given_day_uses_the_app_time_zone():
    # Kiritimati is UTC+14: its date is ahead of every other zone's for most of the day.
    ahead = DATE.to_python(D, "$today", ValueContext(tz="Pacific/Kiritimati"))
    behind = DATE.to_python(D, "$today", ValueContext(tz="Etc/GMT+12"))
    assert ahead - behind in (timedelta(days=1), timedelta(days=2))


def test_date_bounds(ctx):
    field = {**D, "min": "2026-01-01", "max": "2026-12-31"}
    assert DATE.to_python(field, "2026-06-30", ctx) == date(2026, 6, 30)
    with pytest.raises(FieldValueError, match="^must be on or after 2026-01-01$"):
        DATE.to_python(field, "2025-12-31", ctx)
    with pytest.raises(FieldValueError, match="^must be on or before 2026-12-31$"):
        DATE.parse_cell(field, "2027/1/1", ctx)


@pytest.mark.parametrize("cell", [
    "2026-01-31", "2026/1/31", "2026/01/31", "2026.1.31", "2026年1月31日", "2026年01月31日", "31/01/2026",
    " 2026/1/31 ", "2026-01-31 00:00:00",
])
def test_date_parse_cell_reads_spreadsheet_spellings(cell, ctx):
    assert DATE.parse_cell(D, cell, ctx) == date(2026, 1, 31)


def test_date_parse_cell_takes_spreadsheet_dates_and_refuses_nonsense(ctx):
    assert DATE.parse_cell(D, datetime(2026, 1, 31, 0, 0), ctx) == date(2026, 1, 31)
    with pytest.raises(FieldValueError, match="^must be a date like 2026-01-31$"):
        DATE.parse_cell(D, "2026年13月1日", ctx)


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_date_format_and_json(locale):
    assert DATE.format(D, date(2026, 1, 31), locale) == "2026-01-31"
    assert DATE.format(D, None, locale) == ""
    assert DATE.to_json(D, date(2026, 1, 31)) == "2026-01-31"
    assert DATE.to_json(D, None) is None


# -- datetime ---------------------------------------------------------------------------

@pytest.mark.parametrize("sent, expected", [
    ("2026-01-31T09:30:00+08:00", datetime(2026, 1, 31, 1, 30)),
    ("2026-01-31T01:30:00Z", datetime(2026, 1, 31, 1, 30)),
    ("2026-01-30T20:30:00-05:00", datetime(2026, 1, 31, 1, 30)),
    ("2026-01-31T09:30:00", datetime(2026, 1, 31, 1, 30)),  # naive: read in the app's zone
    ("2026-01-31 09:30", datetime(2026, 1, 31, 1, 30)),
    ("2026-01-31", datetime(2026, 1, 30, 16, 0)),  # midnight in Shanghai
    ("2026-01-31T09:30:00.987654+08:00", datetime(2026, 1, 31, 1, 30)),  # to the second
    (datetime(2026, 1, 31, 9, 30, tzinfo=timezone(timedelta(hours=8))), datetime(2026, 1, 31, 1, 30)),
    (datetime(2026, 1, 31, 9, 30), datetime(2026, 1, 31, 1, 30)),
    (None, None), ("", None),
])
def test_datetime_stores_naive_utc(sent, expected, ctx):
    value = DATETIME.to_python(DT, sent, ctx)
    assert value == expected
    assert value is None or value.tzinfo is None


@pytest.mark.parametrize("sent", ["yesterday", "2026-01-31T25:00:00", "31/01/2026 09:30", 1769823000, True])
def test_datetime_rejects_the_rest(sent, ctx):
    with pytest.raises(FieldValueError, match="^must be a date and time like 2026-01-31T09:30:00\\+08:00$"):
        DATETIME.to_python(DT, sent, ctx)


def test_datetime_now_is_the_contexts_now(ctx):
    assert DATETIME.to_python(DT, "$now", ctx) == datetime(2026, 1, 31, 1, 30)


@pytest.mark.parametrize("cell", [
    "2026/1/31 9:30", "2026/01/31 09:30:00", "2026-01-31 9:30", "2026年1月31日 09:30", "2026.1.31 9:30",
    "2026-01-31T09:30:00+08:00",
])
def test_datetime_parse_cell_reads_spreadsheet_spellings_in_the_app_zone(cell, ctx):
    assert DATETIME.parse_cell(DT, cell, ctx) == datetime(2026, 1, 31, 1, 30)


def test_datetime_parse_cell_of_a_bare_date_is_local_midnight(ctx):
    assert DATETIME.parse_cell(DT, "2026/1/31", ctx) == datetime(2026, 1, 30, 16, 0)


def test_datetime_json_is_utc_with_z(ctx):
    value = DATETIME.to_python(DT, "2026-01-31T09:30:00+08:00", ctx)
    assert DATETIME.to_json(DT, value) == "2026-01-31T01:30:00Z"
    assert DATETIME.to_python(DT, DATETIME.to_json(DT, value), ctx) == value
    assert conforms(DATETIME.value_schema(DT), DATETIME.to_json(DT, value))
    assert not conforms(DATETIME.value_schema(DT), "2026-01-31 09:30")


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_datetime_format_shows_the_time_in_the_given_zone(locale):
    value = datetime(2026, 1, 31, 1, 30)
    assert DATETIME.format(DT, value, locale) == "2026-01-31 01:30"
    assert DATETIME.format(DT, value, locale, tz="Asia/Shanghai") == "2026-01-31 09:30"
    assert DATETIME.format(DT, None, locale) == ""


def test_datetime_form_round_trip_in_local_time(ctx):
    value = datetime(2026, 1, 31, 1, 30)
    shown = DATETIME.to_form(DT, value, tz="Asia/Shanghai")
    assert shown == datetime(2026, 1, 31, 9, 30)
    assert DATETIME.from_form(DT, shown, ctx) == value


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
    offset=st.integers(min_value=-14 * 60, max_value=14 * 60),
    zone=st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York", "Europe/Berlin"]),
)
def test_any_offset_becomes_utc_that_conforms_and_round_trips(moment, offset, zone):
    ctx = ValueContext(tz=zone)
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=offset)))
    value = DATETIME.to_python(DT, aware.isoformat(), ctx)
    assert value == (aware.astimezone(UTC).replace(tzinfo=None, microsecond=0))
    as_json = DATETIME.to_json(DT, value)
    assert conforms(DATETIME.value_schema(DT), as_json)
    assert DATETIME.to_python(DT, as_json, ctx) == value


@settings(max_examples=200, deadline=None)
@given(day=st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_dates_round_trip_and_conform(day):
    ctx = ValueContext()
    assert DATE.to_python(D, DATE.to_json(D, day), ctx) == day
    assert DATE.parse_cell(D, DATE.format(D, day, "zh"), ctx) == day
    assert conforms(DATE.value_schema(D), DATE.to_json(D, day))
