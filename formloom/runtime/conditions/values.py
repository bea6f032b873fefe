"""Values in conditions: literals, references, and their coercion to a field's kind.

References are resolved and coerced once per compilation, in Python, so the SQL and the
Python compilations always see the same concrete values.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from formloom.platform.inputs import MAX_ID, MAX_INT, MIN_INT
from formloom.runtime.conditions.model import Env

# Years outside this range are refused: a day's end (D+1) and zone shifts must not overflow.
MIN_YEAR, MAX_YEAR = 1000, 9998
MAX_TODAY_OFFSET = 100_000  # days, about 270 years

_DURATION = re.compile(
    r"(?P<sign>[+-])?P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?"
    r"(?:(?P<days>\d+)D)?(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d{1,6})?)S)?)?"
)


@dataclass(frozen=True)
class Day:
    """A whole local day as a half-open range of naive UTC instants [start, end)."""

    start: datetime
    end: datetime


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def day_in_utc(day: date, tz: str) -> Day:
    """The instants of one local day in zone `tz`, as naive UTC."""
    return Day(_day_start(day, tz), _day_start(day + timedelta(days=1), tz))


def _day_start(day: date, tz: str) -> datetime:
    # fold=0 at a midnight DST gap maps to the first instant that exists on that day
    local = datetime.combine(day, time(0), tzinfo=_zone(tz))
    return local.astimezone(UTC).replace(tzinfo=None)


def local_date(instant: datetime, tz: str) -> date:
    """The date in zone `tz` of a naive UTC instant."""
    return instant.replace(tzinfo=UTC).astimezone(_zone(tz)).date()


def parse_duration(text: str) -> relativedelta | None:
    """Parse an ISO 8601 duration such as "-PT2H" or "P1DT30M"; None when invalid."""
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    parts = match.groupdict()
    sign = -1 if parts.pop("sign") == "-" else 1
    seconds = float(parts.pop("seconds") or 0)
    counts = {name: int(value or 0) for name, value in parts.items()}
    delta = relativedelta(**counts, seconds=int(seconds),
                          microseconds=round((seconds % 1) * 1_000_000))
    try:  # bound the offset so adding it to any sane "now" cannot overflow
        probe = datetime(5000, 1, 1) + delta * sign
    except (OverflowError, ValueError):
        return None
    return delta * sign if abs(probe.year - 5000) <= 1000 else None


def _in_range(value: date) -> bool:
    return MIN_YEAR <= value.year <= MAX_YEAR


def parse_iso(text: str, tz: str) -> date | datetime | None:
    """An ISO date, or an instant (naive UTC); wall-clock times without offset are in `tz`."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_zone(tz))
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None)


def _as_instant_or_date(raw: Any, tz: str) -> date | datetime | None:
    if isinstance(raw, str):
        raw = parse_iso(raw, tz)
    if not isinstance(raw, date) or not _in_range(raw):
        return None
    if isinstance(raw, datetime) and raw.tzinfo is not None:
        return raw.astimezone(UTC).replace(tzinfo=None)
    return raw  # a date, or a naive datetime: naive UTC by the storage convention


def _to_date(raw: Any, tz: str) -> date | None:
    value = _as_instant_or_date(raw, tz)
    return local_date(value, tz) if isinstance(value, datetime) else value


def _to_datetime(raw: Any, tz: str) -> datetime | Day | None:
    value = _as_instant_or_date(raw, tz)
    if value is None or isinstance(value, datetime):
        return value
    return day_in_utc(value, tz)


def _is_number(raw: Any) -> bool:
    return (isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw)
            and (not isinstance(raw, int) or MIN_INT <= raw <= MAX_INT))


def _is_id(raw: Any) -> bool:
    # 0 and negative numbers are ids of nothing, but fit the 32-bit id columns
    return isinstance(raw, int) and not isinstance(raw, bool) and -MAX_ID <= raw <= MAX_ID


_COERCE: dict[str, Callable[[Any, str], Any]] = {
    # text no database can store (NUL, lone surrogates) can match nothing, in either form
    "text": lambda raw, tz: raw if isinstance(raw, str) and raw and not _text_error(raw) else None,
    "number": lambda raw, tz: raw if _is_number(raw) else None,
    "boolean": lambda raw, tz: raw if isinstance(raw, bool) else None,
    "ref": lambda raw, tz: raw if _is_id(raw) else None,
    "date": _to_date,
    "datetime": _to_datetime,
}


def coerce(kind: str, raw: Any, tz: str) -> Any:
    """Turn a resolved value into `kind`'s domain; None (blank) when it does not fit.

    text -> non-empty str, number -> int|float, boolean -> bool, ref -> int,
    date -> date, datetime -> naive UTC datetime, or a `Day` when given a date.
    """
    return _COERCE[kind](raw, tz)


def describe(raw: Any) -> str:
    """A short description of a JSON value for error messages."""
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | float):
        return f"number {raw!r}"
    if isinstance(raw, str):
        return f'text "{raw}"' if len(raw) <= 40 else "text"
    return "a list" if isinstance(raw, list) else "an object"


_EXPECTED = {
    "text": "text",
    "number": "a number",
    "boolean": "true or false",
    "ref": "an id (a whole number)",
    "date": 'a date ("YYYY-MM-DD") or date-time',
    "datetime": 'a date ("YYYY-MM-DD") or date-time',
}

_LITERAL_TYPE_OK: dict[str, Callable[[Any], bool]] = {
    "text": lambda raw: isinstance(raw, str),
    "number": lambda raw: isinstance(raw, int | float) and not isinstance(raw, bool),
    "boolean": lambda raw: isinstance(raw, bool),
    "ref": lambda raw: isinstance(raw, int) and not isinstance(raw, bool),
    "date": lambda raw: isinstance(raw, str),
    "datetime": lambda raw: isinstance(raw, str),
}


def _text_error(raw: str) -> str | None:
    if "\x00" in raw:
        return "text must not contain NUL characters"  # PostgreSQL cannot store them
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from JSON escapes: no database accepts them
        return "text must be valid Unicode"
    return None


def literal_error(kind: str, raw: Any) -> str | None:
    """Why a JSON literal is not a valid value for `kind`, or None."""
    if not _LITERAL_TYPE_OK[kind](raw):
        return f"expected {_EXPECTED[kind]}, got {describe(raw)}"
    if kind == "text":
        return _text_error(raw)
    if kind == "number" and not math.isfinite(raw):
        return "numbers must be finite"
    if kind == "number" and not _is_number(raw):
        return f"number {raw} is beyond 64 bits"
    if kind == "ref" and not _is_id(raw):
        return f"no record or person has id {raw} (ids are whole numbers up to {MAX_ID})"
    if kind in ("date", "datetime") and coerce(kind, raw, "UTC") is None:
        return f'invalid date "{raw}" (expected YYYY-MM-DD or an ISO date-time, years {MIN_YEAR}-{MAX_YEAR})'
    return None


# --- terms: a value spec, resolved against an Env at compile time ---------------------------

@dataclass(frozen=True)
class Literal:
    """A constant from the condition's JSON."""

    value: Any

    def resolve(self, env: Env) -> Any:
        return self.value


@dataclass(frozen=True)
class ListOf:
    """A literal list whose items are literals or references."""

    items: tuple[Any, ...]

    def resolve(self, env: Env) -> list[Any]:
        return [item.resolve(env) for item in self.items]


@dataclass(frozen=True)
class Var:
    """{"var": "user.id"}, {"var": "record.<key>"} and friends."""

    name: str

    def resolve(self, env: Env) -> Any:
        getter = FIXED_VARS.get(self.name)
        if getter is not None:
            return getter[2](env)
        return (env.record or {}).get(self.name.removeprefix("record."))


@dataclass(frozen=True)
class Today:
    """{"today": n}: the app-zone date n days from today."""

    days: int

    def resolve(self, env: Env) -> date:
        return env.today + timedelta(days=self.days)


@dataclass(frozen=True)
class Now:
    """{"now": "-PT2H"}: now (naive UTC) shifted by an ISO 8601 duration."""

    delta: relativedelta

    def resolve(self, env: Env) -> datetime:
        return env.now + self.delta


# name -> (value kind, is a list, getter)
FIXED_VARS: dict[str, tuple[str, bool, Callable[[Env], Any]]] = {
    "user.id": ("ref", False, lambda env: env.user_id),
    "user.department": ("ref", False, lambda env: env.department_id),
    "user.subordinates": ("ref", True, lambda env: list(env.org_value("subordinates"))),
    "user.department_members": ("ref", True, lambda env: list(env.org_value("department_members"))),
    "user.departments": ("ref", True, lambda env: list(env.org_value("departments"))),
    "record.$id": ("ref", False, lambda env: (env.record or {}).get("$id")),
}
