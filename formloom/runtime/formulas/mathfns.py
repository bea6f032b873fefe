"""Math and aggregate functions. Rounding works on decimals, half away from zero like Excel."""
from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_UP,
    ROUND_UP,
    Context,
    Decimal,
    localcontext,
)

from formloom.runtime.formulas.errors import EvalError
from formloom.runtime.formulas.operators import divide
from formloom.runtime.formulas.values import (
    check_number,
    from_decimal,
    is_blank,
    is_moment,
    is_number,
    to_datetime,
    to_decimal,
    to_int,
    to_number,
)

# Room for the largest float (309 digits) with 400 decimals; passed explicitly because
# entering a localcontext on every ROUND costs more than the rounding itself.
_WIDE = Context(prec=800)
_QUANTA = [Decimal(1).scaleb(places) for places in range(400, -401, -1)]  # 1E+400 .. 1E-400


def _rounder(mode: str):
    """ROUND / ROUNDUP / ROUNDDOWN(number, [digits]) with one decimal rounding mode."""

    def round_(value: object, digits: object = 0) -> int | float:
        number, places = to_decimal(value), max(-400, min(400, to_int(digits)))
        if not number.is_finite():  # an infinite input is a run-time error: the result is blank
            raise EvalError("cannot round an infinite number")
        if number.as_tuple().exponent >= -places:  # type: ignore[operator]
            return from_decimal(number)  # already has no more digits than asked for
        quantum = _QUANTA[places + 400]
        return from_decimal(number.quantize(quantum, rounding=mode, context=_WIDE))

    return round_


round_ = _rounder(ROUND_HALF_UP)
roundup = _rounder(ROUND_UP)
rounddown = _rounder(ROUND_DOWN)


def abs_(value: object) -> int | float:
    """ABS(number)."""
    return abs(to_number(value))


def int_(value: object) -> int:
    """INT(number): round down to a whole number (INT(-1.5) is -2, as in Excel)."""
    return check_number(math.floor(to_number(value)))  # type: ignore[return-value]


def mod(value: object, divisor: object) -> int | float:
    """MOD(number, divisor): the remainder takes the divisor's sign, as in Excel."""
    number, by = to_decimal(value), to_decimal(divisor)
    if by == 0:
        raise EvalError("division by zero")
    with localcontext(prec=400):
        rest = number % by  # Decimal's remainder takes the dividend's sign; fix below
        if rest != 0 and (rest < 0) != (by < 0):
            rest += by
    return from_decimal(rest)


def sqrt(value: object) -> float:
    """SQRT(number): a negative number is an error."""
    number = to_number(value)
    if number < 0:
        raise EvalError("square root of a negative number")
    return math.sqrt(number)


def _to_multiple(mode: str, zero_ok: bool):
    """CEILING / FLOOR(number, [significance]) rounding to a multiple of significance."""

    def to_multiple(value: object, significance: object = 1) -> int | float:
        number, step = to_decimal(value), to_decimal(significance)
        if step == 0:
            if zero_ok:
                return 0
            raise EvalError("division by zero")
        if number > 0 and step < 0:
            raise EvalError("significance has the wrong sign")  # Excel's #NUM!
        with localcontext(prec=400):
            return from_decimal((number / step).to_integral_value(rounding=mode) * step)

    return to_multiple


ceiling = _to_multiple(ROUND_CEILING, zero_ok=True)
floor = _to_multiple(ROUND_FLOOR, zero_ok=False)


def _numbers(args: tuple) -> Iterator[int | float]:
    """Numbers to aggregate: lists give their numbers (blanks, text skipped), scalars coerce."""
    for arg in args:
        if isinstance(arg, list):
            yield from (item for item in arg if is_number(item))
        elif not is_blank(arg):
            yield to_number(arg)


def sum_(*args: object) -> int | float:
    """SUM(...): blanks count as nothing; exact for integers, fsum for decimals."""
    numbers = list(_numbers(args))
    if all(isinstance(number, int) for number in numbers):
        return check_number(sum(numbers))  # type: ignore[arg-type]
    return check_number(math.fsum(numbers))


def average(*args: object) -> int | float:
    """AVERAGE(...): the mean of the numbers; none at all is an error (Excel's #DIV/0!)."""
    numbers = list(_numbers(args))
    return divide(sum_(numbers), len(numbers))


def _comparables(args: tuple) -> list:
    """Values for MAX/MIN: all numbers or all dates; mixing them is an error."""
    values: list = []
    for arg in args:
        if isinstance(arg, list):
            values.extend(item for item in arg if is_number(item) or is_moment(item))
        elif not is_blank(arg):
            values.append(arg if is_moment(arg) else to_number(arg))
    if values and any(is_moment(v) for v in values) and not all(is_moment(v) for v in values):
        raise EvalError("cannot mix dates and numbers")
    return values


def _extreme(pick):
    """MAX / MIN over numbers or dates; none at all gives 0, as in Excel."""

    def extreme(*args: object) -> object:
        values = _comparables(args)
        if not values:
            return 0
        found = pick(values, key=lambda v: to_datetime(v) if is_moment(v) else v)
        if any(isinstance(v, datetime) for v in values):
            return to_datetime(found)  # typecheck calls dates mixed with datetimes "datetime"
        return found

    return extreme


max_ = _extreme(max)
min_ = _extreme(min)


def count(*args: object) -> int:
    """COUNT(...): how many numbers (and dates, which are numbers in Excel) there are."""
    items = [item for arg in args for item in (arg if isinstance(arg, list) else [arg])]
    return sum(1 for item in items if is_number(item) or is_moment(item))


def counta(*args: object) -> int:
    """COUNTA(...): how many values are not blank."""
    items = [item for arg in args for item in (arg if isinstance(arg, list) else [arg])]
    return sum(1 for item in items if not is_blank(item))
