"""Date functions. Dates are datetime.date, datetimes naive UTC datetime.datetime."""
from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta

from formloom.runtime.formulas.errors import EvalError
from formloom.runtime.formulas.values import to_date, to_int, to_moment, to_text

UNITS = frozenset({"d", "m", "y"})


def today(today_: date, now_: datetime) -> date:
    """TODAY(): the caller's "today" (its time zone's date)."""
    return today_


def now(today_: date, now_: datetime) -> datetime:
    """NOW(): the caller's current moment, naive UTC."""
    return now_


def date_(year: object, month: object, day: object) -> date:
    """DATE(year, month, day): months and days past the end roll over, as in Excel."""
    months = to_int(year) * 12 + to_int(month) - 1
    first = date(months // 12, months % 12 + 1, 1)  # ValueError outside years 1-9999
    return first + timedelta(days=to_int(day) - 1)


def year(value: object) -> int:
    """YEAR(date)."""
    return to_date(value).year


def month(value: object) -> int:
    """MONTH(date)."""
    return to_date(value).month


def day(value: object) -> int:
    """DAY(date)."""
    return to_date(value).day


def _unit(value: object) -> str:
    """A unit argument: "d", "m" or "y", in either case."""
    unit = to_text(value).strip().lower()
    if unit not in UNITS:
        raise EvalError(f"unknown unit {unit!r}")
    return unit


def _whole_months(start: date, end: date) -> int:
    """Complete months from `start` to `end`: Jan 31 to Feb 28 is 0 months, as in Excel."""
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - 1 if end.day < start.day else months


def datedif(start: object, end: object, unit: object) -> int:
    """DATEDIF(start, end, "d"|"m"|"y"): whole days, months or years; start after end errs."""
    first, last, unit = to_date(start), to_date(end), _unit(unit)
    if first > last:
        raise EvalError("start date is after end date")
    if unit == "d":
        return (last - first).days
    months = _whole_months(first, last)
    return months if unit == "m" else months // 12


def days(end: object, start: object) -> int:
    """DAYS(end, start): days from start to end (negative when end is earlier)."""
    return (to_date(end) - to_date(start)).days


def add_months(moment: date, months: int) -> date:
    """`moment` moved by whole months; the day is clamped to the month's end (Jan 31 + 1 m)."""
    total = moment.year * 12 + moment.month - 1 + months
    new_year, new_month = divmod(total, 12)
    last_day = calendar.monthrange(new_year, new_month + 1)[1] if 0 < new_year < 10000 else 31
    return moment.replace(year=new_year, month=new_month + 1, day=min(moment.day, last_day))


def dateadd(value: object, amount: object, unit: object) -> date:
    """DATEADD(date, n, "d"|"m"|"y"): a date (or datetime) moved by n days, months or years."""
    moment, count, unit = to_moment(value), to_int(amount), _unit(unit)
    if unit == "d":
        return moment + timedelta(days=count)
    return add_months(moment, count * (12 if unit == "y" else 1))


def weeknum(value: object, kind: object = 1) -> int:
    """WEEKNUM(date, [1|2|21]): weeks from Sunday (1), Monday (2), or ISO weeks (21)."""
    moment, kind = to_date(value), to_int(kind)
    if kind == 21:
        return moment.isocalendar().week
    if kind not in (1, 2):
        raise EvalError("WEEKNUM type must be 1, 2 or 21")
    weekday = date(moment.year, 1, 1).weekday()  # Monday is 0
    offset = (weekday + 1) % 7 if kind == 1 else weekday
    return (moment.timetuple().tm_yday - 1 + offset) // 7 + 1
