"""SQL functions SQLite lacks, registered on each SQLite connection (`extensions.py`).

`formloom_date_bucket(value, bucket, tz)`: the day, week, month, quarter or year a stored
date or date-and-time falls in, as text that sorts in time order ("2026-03-05", the week's
Monday "2026-03-02", "2026-03", "2026-Q1", "2026"). A date-and-time is stored as naive UTC
and bucketed in the time zone `tz` (None for dates, which have no time zone). PostgreSQL
computes the same with its own functions (`runtime/views/buckets.py`).
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


def bucket_key(day: date, bucket: str) -> str:
    if bucket == "day":
        return day.isoformat()
    if bucket == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    if bucket == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if bucket == "quarter":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year:04d}"


def local_day(value, tz: str | None) -> date:
    """The calendar day of a stored value: a date, or naive UTC read in `tz`."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return value
    else:
        text = str(value)
        if len(text) <= 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text)
    if tz:
        moment = moment.replace(tzinfo=UTC).astimezone(ZoneInfo(tz))
    return moment.date()


def date_bucket(value, bucket, tz):
    if value is None or value == "":
        return None
    try:
        return bucket_key(local_day(value, tz), bucket)
    except (ValueError, TypeError, KeyError):
        return None


def register(dbapi_connection) -> None:
    dbapi_connection.create_function("formloom_date_bucket", 3, date_bucket, deterministic=True)
