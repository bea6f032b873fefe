"""Date ranges: the presets a dashboard filter or a KPI's period names (`this_quarter`), in
the app's time zone, and the period before a range (what a KPI compares with)."""
from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from formloom.runtime.dashboards.base import PERIODS
from formloom.runtime.exceptions import ValidationFailed

RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})?\.\.(\d{4}-\d{2}-\d{2})?$")
Range = tuple[date | None, date | None]  # inclusive; None: open on that side


def today_in(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date()


def _month_start(d: date, back: int = 0) -> date:
    m = d.year * 12 + d.month - 1 - back
    return date(m // 12, m % 12 + 1, 1)


def _month_end(start: date, months: int = 1) -> date:
    last = _month_start(start, -(months - 1))
    return last.replace(day=calendar.monthrange(last.year, last.month)[1])


def preset(name: str, today: date) -> Range:
    """The dates a preset spans, `today` being the app's today."""
    if name == "all":
        return None, None
    if name in ("today", "yesterday"):
        d = today - timedelta(days=1 if name == "yesterday" else 0)
        return d, d
    if name.startswith("last_") and name.endswith("_days"):
        n = int(name[5:-5])
        return today - timedelta(days=n - 1), today
    if name == "last_12_months":
        return _month_start(today, 11), today
    unit, back = name.split("_", 1)[1], 1 if name.startswith("last_") else 0
    if unit == "week":
        start = today - timedelta(days=today.weekday() + 7 * back)
        return start, start + timedelta(days=6)
    if unit == "month":
        start = _month_start(today, back)
        return start, _month_end(start)
    if unit == "quarter":
        start = _month_start(today, (today.month - 1) % 3 + 3 * back)
        return start, _month_end(start, 3)
    start = date(today.year - back, 1, 1)  # year
    return start, date(start.year, 12, 31)


def parse(value: str, today: date, name: str = "period") -> Range:
    """A preset name or "2026-01-01..2026-03-31" (either end may be left out)."""
    if value in PERIODS:
        return preset(value, today)
    m = RANGE.match(value or "")
    if not m:
        raise ValidationFailed(f'"{value}" is not a date range: use a preset ({", ".join(PERIODS)}) or '
                               '2026-01-01..2026-03-31', [{"field": name, "message": "is not a date range"}])
    try:
        start, end = (date.fromisoformat(x) if x else None for x in m.groups())
    except ValueError:
        raise ValidationFailed(f'"{value}" holds a date that does not exist',
                               [{"field": name, "message": "is not a date range"}]) from None
    if start and end and end < start:
        raise ValidationFailed(f'"{value}" ends before it starts', [{"field": name, "message": "ends before it starts"}])
    return start, end


def previous(span: Range, how: str = "previous_period") -> Range | None:
    """The span before: whole months stay whole months (March -> February), other spans move
    back by their length; `previous_year`: the same dates a year before. None for an open span."""
    start, end = span
    if start is None or end is None:
        return None
    if how == "previous_year":
        return _year_back(start), _year_back(end)
    if start.day == 1 and end == _month_end(end.replace(day=1)):
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        first = _month_start(start, months)
        return first, _month_end(first, months)
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def _year_back(d: date) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def condition(field: str, span: Range) -> dict | None:
    """The condition for records whose `field` falls in the span (whole local days)."""
    start, end = span
    if start and end:
        return {"field": field, "op": "between", "value": [start.isoformat(), end.isoformat()]}
    if start:
        return {"field": field, "op": "gte", "value": start.isoformat()}
    if end:
        return {"field": field, "op": "lte", "value": end.isoformat()}
    return None
