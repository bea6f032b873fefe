"""A number the system hands out, like QT-202611-0001, unique under concurrency.

The pattern mixes text with `{YYYY}`, `{YY}`, `{MM}`, `{DD}` and `{seq:n}` (the counter,
zero-padded to n digits). The counter restarts whenever the date part changes, so
`QT-{YYYY}{MM}-{seq:4}` counts per month.
"""
import re
from datetime import date

import sqlalchemy as sa

from formloom.runtime.fields.base import FieldType, FieldValueError, ValueContext

TOKEN = re.compile(r"\{(YYYY|YY|MM|DD|seq(?::(\d{1,2}))?)\}")
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
LONGEST = 100  # characters of a number, as stored


def render(pattern: str, today: date, seq: int | None) -> str:
    """The pattern with date tokens filled in and `{seq}` filled when `seq` is given."""

    def fill(m: re.Match) -> str:
        tok = m.group(1)
        if tok.startswith("seq"):
            return "{seq}" if seq is None else str(seq).zfill(int(m.group(2) or 1))
        return {"YYYY": f"{today.year:04d}", "YY": f"{today.year % 100:02d}",
                "MM": f"{today.month:02d}", "DD": f"{today.day:02d}"}[tok]

    return TOKEN.sub(fill, pattern)


class SerialFieldType(FieldType):
    type = "serial"
    numbered = True
    kind = "text"
    computed = True
    in_subform = False
    config_schema = {
        "type": "object",
        "required": ["pattern"],
        "properties": {"pattern": {"type": "string", "minLength": 1, "maxLength": 80}},
    }

    def check_config(self, field: dict) -> list[tuple[str, str]]:
        pattern = field["pattern"]
        unknown = [p for p in PLACEHOLDER.findall(pattern) if not TOKEN.fullmatch(p)]
        if unknown:
            return [("/pattern", f"has an unknown placeholder {unknown[0]}; use {{YYYY}}, {{YY}}, "
                                 "{MM}, {DD} and {seq} or {seq:n}")]
        if not any(m.group(1).startswith("seq") for m in TOKEN.finditer(pattern)):
            return [("/pattern", "must contain {seq} (or {seq:4} for four digits): "
                                 "where the counter goes")]
        if len(render(pattern, date(2000, 1, 1), 0)) > LONGEST - 6:  # room for the counter to grow
            return [("/pattern", f"makes numbers longer than {LONGEST} characters")]
        return []

    def sa_type(self, field: dict):
        return sa.String(LONGEST)

    def period(self, field: dict, today: date) -> str:
        """The counter's key: the date part of the number, so counters restart with it."""
        return render(field["pattern"], today, None)

    def number(self, field: dict, today: date, seq: int) -> str:
        return render(field["pattern"], today, seq)

    def to_python(self, field: dict, value, ctx: ValueContext):
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise FieldValueError("is numbered by the system")
        return value
