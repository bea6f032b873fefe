"""The value model and its coercions: number (int/float), text, boolean, date, datetime, blank.

Blank (None, and also "") is 0 in arithmetic, "" in text and FALSE in logic, as in Excel.
Every failed coercion raises `EvalError`, which turns the whole formula's result blank.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal

from formloom.runtime.formulas.errors import EvalError, FormulaLimitError

MAX_TEXT = 100_000  # characters in any text value a formula builds
MAX_INT_BITS = 1024  # larger integers overflow, like floats beyond 1.8e308

_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_NUMBER_TEXT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_GROUPED_TEXT = re.compile(r"[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?")

# Exact types that need no conversion; checking them first keeps the common case cheap.
_PLAIN_INPUT = frozenset({int, float, str, bool, type(None), date})
_PLAIN_RESULT = frozenset({int, str, bool, type(None), date, datetime})


def is_blank(value: object) -> bool:
    """True for None and the empty text, which forms store for an empty field."""
    return value is None or (isinstance(value, str) and value == "")


def is_number(value: object) -> bool:
    """True for int and float, but not bool (which Python counts as an int)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_moment(value: object) -> bool:
    """True for dates and datetimes."""
    return isinstance(value, date)


def from_input(value: object) -> object:
    """Bring a caller's value into the model: Decimal to number, aware datetime to naive UTC."""
    if type(value) in _PLAIN_INPUT:
        return value
    if isinstance(value, Decimal):
        return from_decimal(value) if value.is_finite() else None
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, list | tuple):
        return [from_input(item) for item in value]
    return value


def check_number(value: int | float) -> int | float:
    """Reject results that overflowed (inf, nan, huge integers)."""
    if type(value) is float and math.isfinite(value):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise EvalError("number out of range")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise EvalError("number out of range")
    return value


def check_length(length: int) -> None:
    """Stop formulas that build gigantic text (e.g. nested SUBSTITUTE doubling a string)."""
    if length > MAX_TEXT:
        raise FormulaLimitError(f"The formula's text grew past {MAX_TEXT:,} characters")


def check_text(value: str) -> str:
    """`value`, once its length is within the limit."""
    check_length(len(value))
    return value


def parse_number(text: str) -> int | float:
    """Read a number typed as text: "12", " -1.5 ", "1e3", "1,234.5", "50%"."""
    body = text.strip()
    percent = body.endswith("%")
    if percent:
        body = body[:-1].rstrip()
    if _GROUPED_TEXT.fullmatch(body):
        body = body.replace(",", "")
    if _INT_TEXT.fullmatch(body):
        number: int | float = int(body)
    elif _NUMBER_TEXT.fullmatch(body):
        number = float(body)
    else:
        raise EvalError(f"not a number: {text!r}")
    return check_number(number / 100 if percent else number)


def to_number(value: object) -> int | float:
    """A value as a number: blank is 0, TRUE is 1, numeric text is read."""
    if type(value) is int or type(value) is float:
        return value
    if is_blank(value):
        return 0
    if isinstance(value, bool):
        return int(value)
    if is_number(value):
        return value  # type: ignore[return-value]
    if isinstance(value, str):
        return parse_number(value)
    raise EvalError(f"not a number: {type(value).__name__}")


def to_int(value: object) -> int:
    """A value as a whole number, cutting off decimals like Excel does for counts."""
    return int(to_number(value))


def format_number(value: int | float) -> str:
    """Excel's "General" look: whole numbers plainly, others to 15 significant digits."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.15g}".replace("e+", "E+").replace("e-", "E-")


def to_text(value: object) -> str:
    """A value as text: blank is "", booleans TRUE/FALSE, dates in ISO form."""
    if is_blank(value):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if is_number(value):
        return format_number(value)  # type: ignore[arg-type]
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    raise EvalError(f"not a single value: {type(value).__name__}")


def to_bool(value: object) -> bool:
    """A value as a condition: blank is FALSE, numbers are TRUE unless 0."""
    if is_blank(value):
        return False
    if isinstance(value, bool):
        return value
    if is_number(value):
        return value != 0
    if isinstance(value, str) and value.upper() in ("TRUE", "FALSE"):
        return value.upper() == "TRUE"
    raise EvalError(f"not TRUE or FALSE: {value!r}")


def to_moment(value: object) -> date:
    """A value as a date or datetime (kept as given); ISO text is read. Blank is an error."""
    if is_moment(value):
        return value  # type: ignore[return-value]
    if isinstance(value, str) and not is_blank(value):
        text = value.strip()
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    # A blank date would be day 0 in Excel (year 1900); a blank result is what forms want.
    raise EvalError("not a date")


def to_date(value: object) -> date:
    """A value as a calendar date; a datetime loses its time of day."""
    moment = to_moment(value)
    return moment.date() if isinstance(moment, datetime) else moment


def to_datetime(moment: date) -> datetime:
    """A date as midnight of that day, so dates and datetimes compare."""
    if isinstance(moment, datetime):
        return moment
    return datetime(moment.year, moment.month, moment.day)


def to_decimal(value: object) -> Decimal:
    """A number as Decimal, via its shortest repr, so 1.005 rounds like the 1.005 users see."""
    number = to_number(value)
    return Decimal(repr(number)) if isinstance(number, float) else Decimal(number)


def from_decimal(value: Decimal) -> int | float:
    """A Decimal back to int when whole, else float."""
    # Neither the comparison nor to_integral_value depends on the context's precision.
    if value == value.to_integral_value():
        return check_number(int(value))
    return check_number(float(value))


def normalize_result(value: object) -> object:
    """The final value handed to callers: floats cleaned to 15 digits, whole ones as int."""
    if type(value) in _PLAIN_RESULT:
        return value
    if isinstance(value, list | tuple | Mapping):
        raise EvalError("a formula must give a single value, not a list")
    if isinstance(value, float):
        value = float(f"{value:.15g}")
        return int(value) if value.is_integer() and abs(value) < 1e15 else value
    return value
