"""Text functions, including TEXT with a small subset of Excel's number and date formats."""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext

from formloom.runtime.formulas.errors import EvalError
from formloom.runtime.formulas.operators import equal
from formloom.runtime.formulas.values import (
    check_length,
    check_text,
    is_moment,
    parse_number,
    to_decimal,
    to_int,
    to_number,
    to_text,
)

# prefix, integer digits (with "," for thousands), decimals, percent, suffix: "¥#,##0.00 元"
_NUMBER_FORMAT = re.compile(
    r"(?P<pre>[^#0.,%]*)(?P<int>[#0,]*)(?:\.(?P<dec>[#0]*))?(?P<pct>%?)(?P<post>[^#0%]*)"
)
_DATE_TOKEN = re.compile(r"yyyy|yy|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|am/pm", re.IGNORECASE)
_MONTHS = "January February March April May June July August September October November December"
_DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday"


def concatenate(*args: object) -> str:
    """CONCATENATE(...): join everything as text; a list joins its items."""
    parts = [to_text(item) for arg in args for item in (arg if isinstance(arg, list) else [arg])]
    return check_text("".join(parts))


def _format_number(value: object, pattern: str) -> str | None:
    """A number shaped by a format like "0.00", "#,##0", "0%"; None if it is not one."""
    match = _NUMBER_FORMAT.fullmatch(pattern)
    if not match or not (match["int"] or match["dec"]):
        return None
    number = to_decimal(value) * (100 if match["pct"] else 1)
    decimals = match["dec"] or ""
    with localcontext(prec=400):
        rounded = number.quantize(Decimal(1).scaleb(-len(decimals)), rounding=ROUND_HALF_UP)
    whole, _, fraction = f"{abs(rounded):f}".partition(".")
    # "#" decimals are optional digits: drop their trailing zeros.
    while len(fraction) > decimals.count("0") and fraction.endswith("0"):
        fraction = fraction[:-1]
    whole = whole.lstrip("0").zfill(match["int"].count("0"))
    if "," in match["int"] and whole:
        whole = f"{int(whole):,}"
    sign = "-" if rounded < 0 else ""
    point = "." + fraction if fraction else ""
    return f"{sign}{match['pre']}{whole}{point}{match['pct']}{match['post']}"


def _date_part(token: str, moment: datetime, minutes: bool, twelve_hour: bool) -> str:
    """One date/time token of a format ("yyyy", "mm", "hh", ...) for `moment`."""
    lower = token.lower()
    hour = (moment.hour % 12 or 12) if twelve_hour else moment.hour
    parts = {
        "yyyy": f"{moment.year:04d}", "yy": f"{moment.year % 100:02d}",
        "mmmm": _MONTHS.split()[moment.month - 1], "mmm": _MONTHS.split()[moment.month - 1][:3],
        "mm": f"{moment.minute:02d}" if minutes else f"{moment.month:02d}",
        "m": str(moment.minute) if minutes else str(moment.month),
        "dddd": _DAYS.split()[moment.weekday()], "ddd": _DAYS.split()[moment.weekday()][:3],
        "dd": f"{moment.day:02d}", "d": str(moment.day),
        "hh": f"{hour:02d}", "h": str(hour), "ss": f"{moment.second:02d}", "s": str(moment.second),
        "am/pm": "AM" if moment.hour < 12 else "PM",
    }
    return parts[lower]


def _format_date(value: date, pattern: str) -> str:
    """A date shaped by a format like "yyyy-mm-dd", "yyyy年m月d日", "hh:mm"."""
    moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    pieces = re.split(f"({_DATE_TOKEN.pattern})", pattern, flags=re.IGNORECASE)
    tokens = [piece.lower() for piece in pieces[1::2]]
    twelve_hour = "am/pm" in tokens
    out = []
    for index, piece in enumerate(pieces):
        if index % 2 == 0:
            out.append(piece)
            continue
        # "m" means minutes right after hours or right before seconds, as in Excel.
        slot = index // 2
        before = tokens[slot - 1] if slot else ""
        after = tokens[slot + 1] if slot + 1 < len(tokens) else ""
        minutes = before in ("h", "hh") or after in ("s", "ss")
        out.append(_date_part(piece, moment, minutes, twelve_hour))
    return "".join(out)


def text(value: object, pattern: object) -> str:
    """TEXT(value, format): numbers with "0.00"-style formats, dates with "yyyy-mm-dd"-style."""
    pattern = to_text(pattern)
    if isinstance(value, str) or pattern.lower() in ("", "general", "@"):
        return to_text(value)
    if is_moment(value):
        return check_text(_format_date(value, pattern))  # type: ignore[arg-type]
    shaped = _format_number(to_number(value), pattern)
    if shaped is None:
        raise EvalError(f"not a number format: {pattern!r}")
    return check_text(shaped)


def len_(value: object) -> int:
    """LEN(text): the number of characters."""
    return len(to_text(value))


def _count(value: object) -> int:
    """A character count argument; negative counts are an error."""
    number = to_int(value)
    if number < 0:
        raise EvalError("negative count")
    return number


def _start(value: object) -> int:
    """A 1-based position argument, returned 0-based; below 1 is an error."""
    number = to_int(value)
    if number < 1:
        raise EvalError("position before the start")
    return number - 1


def left(value: object, count: object = 1) -> str:
    """LEFT(text, [count])."""
    return to_text(value)[: _count(count)]


def right(value: object, count: object = 1) -> str:
    """RIGHT(text, [count])."""
    number = _count(count)
    return to_text(value)[-number:] if number else ""


def mid(value: object, start: object, count: object) -> str:
    """MID(text, start, count): `start` counts from 1."""
    first = _start(start)
    return to_text(value)[first : first + _count(count)]


def upper(value: object) -> str:
    """UPPER(text)."""
    return to_text(value).upper()


def lower(value: object) -> str:
    """LOWER(text)."""
    return to_text(value).lower()


def trim(value: object) -> str:
    """TRIM(text): strip spaces at both ends and squeeze inner runs to one, as Excel does."""
    return re.sub(r"[ \u3000]+", " ", to_text(value)).strip(" \u3000")


def substitute(value: object, old: object, new: object, instance: object = None) -> str:
    """SUBSTITUTE(text, old, new, [which]): replace every (or only the n-th) occurrence."""
    source, old, new = to_text(value), to_text(old), to_text(new)
    if not old:
        return source
    if instance is None:
        # Check the size first: replacing in a long text can grow it enormously.
        check_length(len(source) + source.count(old) * (len(new) - len(old)))
        return source.replace(old, new)
    nth, found = _start(instance), -1
    for _ in range(nth + 1):
        found = source.find(old, found + 1)
        if found < 0:
            return source
    return check_text(source[:found] + new + source[found + len(old) :])


def replace(value: object, start: object, count: object, new: object) -> str:
    """REPLACE(text, start, count, new): put `new` in place of `count` characters."""
    source, first = to_text(value), _start(start)
    return check_text(source[:first] + to_text(new) + source[first + _count(count) :])


def find(needle: object, haystack: object, start: object = 1) -> int:
    """FIND(find, within, [start]): 1-based position, case-sensitive; not found is an error."""
    within, first = to_text(haystack), _start(start)
    if first > len(within):
        raise EvalError("start past the end")
    found = within.find(to_text(needle), first)
    if found < 0:
        raise EvalError("text not found")
    return found + 1


def value(text_value: object) -> int | float:
    """VALUE(text): read a number from text; blank is 0, non-numeric text is an error."""
    if isinstance(text_value, str) and text_value.strip():
        return parse_number(text_value)
    return to_number(text_value)


def contains(haystack: object, needle: object) -> bool:
    """CONTAINS(text or list, value): a list holds an equal item, or text holds the piece."""
    if isinstance(haystack, list):
        return any(equal(item, needle) for item in haystack)
    return to_text(needle).casefold() in to_text(haystack).casefold()
