"""The infix and prefix operators: arithmetic, date shifts, text joining and comparisons."""
from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime, timedelta

from formloom.runtime.formulas.errors import EvalError
from formloom.runtime.formulas.values import (
    check_number,
    check_text,
    is_blank,
    is_moment,
    is_number,
    to_datetime,
    to_number,
    to_text,
)


def _shift(moment: date, days: int | float) -> date:
    """A date moved by a number of days; a plain date keeps whole days only."""
    if isinstance(moment, datetime):
        return moment + timedelta(days=days)
    return moment + timedelta(days=math.floor(days))


def _days_between(later: date, earlier: date) -> int | float:
    """Days from `earlier` to `later`; fractional once a time of day is involved."""
    if isinstance(later, datetime) or isinstance(earlier, datetime):
        return (to_datetime(later) - to_datetime(earlier)).total_seconds() / 86400
    return (later - earlier).days


def add(left: object, right: object) -> object:
    """`+`: numbers add; a date plus a number of days is a date."""
    if is_moment(left) and is_moment(right):
        raise EvalError("cannot add two dates")
    if is_moment(left):
        return _shift(left, to_number(right))  # type: ignore[arg-type]
    if is_moment(right):
        return _shift(right, to_number(left))  # type: ignore[arg-type]
    return check_number(to_number(left) + to_number(right))


def subtract(left: object, right: object) -> object:
    """`-`: numbers subtract; date minus date is days; date minus number is a date."""
    if is_moment(left) and is_moment(right):
        return _days_between(left, right)  # type: ignore[arg-type]
    if is_moment(left):
        return _shift(left, -to_number(right))  # type: ignore[arg-type]
    if is_moment(right):
        raise EvalError("cannot subtract a date from a number")
    return check_number(to_number(left) - to_number(right))


def multiply(left: object, right: object) -> int | float:
    """`*`."""
    return check_number(to_number(left) * to_number(right))


def divide(left: object, right: object) -> int | float:
    """`/`: whole when two integers divide evenly; dividing by zero (or blank) is an error."""
    dividend, divisor = to_number(left), to_number(right)
    if divisor == 0:
        raise EvalError("division by zero")
    if isinstance(dividend, int) and isinstance(divisor, int) and dividend % divisor == 0:
        return dividend // divisor
    return check_number(dividend / divisor)


def power(left: object, right: object) -> int | float:
    """`^` and POWER: errors where Excel gives #NUM!/#DIV/0! (0^0, 0^-1, (-8)^0.5)."""
    base, exponent = to_number(left), to_number(right)
    if base == 0 and exponent <= 0:
        raise EvalError("zero to a zero or negative power")
    if base < 0 and not float(exponent).is_integer():
        raise EvalError("negative number to a fractional power")
    if isinstance(base, int) and isinstance(exponent, int) and exponent >= 0:
        # Check the size before computing: 9^999999 would otherwise take a long time.
        if abs(base) > 1 and (abs(base).bit_length() - 1) * exponent > 1024:
            raise EvalError("number out of range")
        return check_number(base**exponent)
    return check_number(float(base) ** float(exponent))


def concat(left: object, right: object) -> str:
    """`&`: join as text; blank joins as ""."""
    return check_text(to_text(left) + to_text(right))


def _zero_like(other: object) -> object:
    """What a blank compares as next to `other`: 0, "", FALSE, or before every date."""
    if is_moment(other):
        return datetime.min
    return {bool: False, str: ""}.get(type(other), 0)


def _comparable(left: object, right: object) -> tuple[object, object] | None:
    """Both sides brought to one comparable type, or None when their kinds differ."""
    if isinstance(left, list | tuple) or isinstance(right, list | tuple):
        raise EvalError("cannot compare a list")
    if is_blank(left) and is_blank(right):
        return 0, 0
    left = _zero_like(right) if is_blank(left) else left
    right = _zero_like(left) if is_blank(right) else right
    if is_number(left) and is_number(right):
        # Excel compares numbers as shown, to 15 digits: 0.1 + 0.2 = 0.3 is TRUE.
        return float(f"{left:.15g}"), float(f"{right:.15g}")
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold(), right.casefold()  # Excel compares text ignoring case
    if isinstance(left, bool) and isinstance(right, bool):
        return left, right
    if is_moment(left) and is_moment(right):
        return to_datetime(left), to_datetime(right)  # type: ignore[arg-type]
    return None


def _ordering(test: Callable[[object, object], bool]) -> Callable[[object, object], bool]:
    """An ordering operator; ordering values of different kinds is an error."""

    def compare(left: object, right: object) -> bool:
        pair = _comparable(left, right)
        if pair is None:
            raise EvalError("cannot order values of different kinds")
        return test(*pair)

    return compare


def equal(left: object, right: object) -> bool:
    """`=`: values of different kinds are simply not equal, as in Excel."""
    pair = _comparable(left, right)
    return pair is not None and pair[0] == pair[1]


def not_equal(left: object, right: object) -> bool:
    """`<>`."""
    return not equal(left, right)


BINARY: dict[str, Callable[[object, object], object]] = {
    "+": add,
    "-": subtract,
    "*": multiply,
    "/": divide,
    "^": power,
    "&": concat,
    "=": equal,
    "<>": not_equal,
    "<": _ordering(lambda a, b: a < b),  # type: ignore[operator]
    "<=": _ordering(lambda a, b: a <= b),  # type: ignore[operator]
    ">": _ordering(lambda a, b: a > b),  # type: ignore[operator]
    ">=": _ordering(lambda a, b: a >= b),  # type: ignore[operator]
}

UNARY: dict[str, Callable[[object], object]] = {
    "-": lambda value: check_number(-to_number(value)),
    "+": to_number,
}
