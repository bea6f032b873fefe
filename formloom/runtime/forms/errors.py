"""Service errors on a built form: each at its field or subform cell, plus a summary.

The records service words its errors in English for API clients (`{field, message}`, with
`row`/`column` inside a subform). Pages show them in the reader's language: the common
messages are translated here; anything else is shown as the service wrote it.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from formloom.runtime.definition import FormDef
from formloom.runtime.forms.builder import attr

EXACT = {
    "is required": _l("is required"),
    "must be a number": _l("must be a number"),
    "must be text": _l("must be text"),
    "must be one of the options": _l("must be one of the options"),
    "must be true or false": _l("must be true or false"),
    "must be a date like 2026-01-31": _l("must be a date like 2026-01-31"),
    "is not a valid phone number": _l("is not a valid phone number"),
    "must be a web address starting with http:// or https://":
        _l("must be a web address starting with http:// or https://"),
    "does not have the expected format": _l("does not have the expected format"),
    "is computed by the system and cannot be set": _l("is computed by the system and cannot be set"),
    "must be a whole number of stars": _l("must be a whole number of stars"),
    "is too large": _l("is too large"),
    "must not contain spaces": _l("must not contain spaces"),
    "must not contain the NUL character": _l("must not contain the NUL character"),
    "must be a date and time like 2026-01-31T09:30:00+08:00": _l("must be a date and time like 2026-01-31 09:30"),
    "must be a list of options": _l("must be a list of options"),
    "is numbered by the system": _l("is numbered by the system"),
    "may be set only to yourself": _l("may be set only to yourself"),
    "its formula's result must not contain the NUL character": _l("its formula's result must not contain the NUL character"),
}
PATTERNS = [
    (re.compile(r"its formula exceeds its limits on these values: .*"),
     _l("its formula exceeds its limits on these values (too much work, or too long a text)")),
    (re.compile(r"must be at least (?P<n>-?[\d.]+) characters"), _l("must be at least %(n)s characters")),
    (re.compile(r"must be at most (?P<n>-?[\d.]+) characters"), _l("must be at most %(n)s characters")),
    (re.compile(r"must be at least (?P<n>-?[\d.]+)"), _l("must be at least %(n)s")),
    (re.compile(r"must be at most (?P<n>-?[\d.]+)"), _l("must be at most %(n)s")),
    (re.compile(r"must be between (?P<a>\d+) and (?P<b>\d+)"), _l("must be between %(a)s and %(b)s")),
    (re.compile(r"must be on or after (?P<d>[\d-]+)"), _l("must be on or after %(d)s")),
    (re.compile(r"must be on or before (?P<d>[\d-]+)"), _l("must be on or before %(d)s")),
    (re.compile(r"needs at least (?P<n>\d+) rows"), _l("needs at least %(n)s rows")),
    (re.compile(r"allows at most (?P<n>\d+) rows"), _l("allows at most %(n)s rows")),
    (re.compile(r"allows at most (?P<n>\d+) files"), _l("allows at most %(n)s files")),
    (re.compile(r"allows at most (?P<n>\d+) choices"), _l("allows at most %(n)s choices")),
    (re.compile(r"must be unique; record (?P<id>\d+) already has this value"),
     _l("must be unique; record #%(id)s already has this value")),
    (re.compile(r"no record with id (?P<ids>[\d, ]+)"), _l("refers to a record that does not exist or you cannot see (#%(ids)s)")),
    (re.compile(r"is not a valid e-mail address.*"), _l("is not a valid e-mail address")),
    (re.compile(r'"(?P<v>.*)" is not one of the options.*'), _l('"%(v)s" is not one of the options')),
    (re.compile(r'"(?P<name>.*)" is larger than (?P<n>[\d.]+) MB'), _l('"%(name)s" is larger than %(n)s MB')),
    (re.compile(r'"(?P<name>.*)" is not an accepted file type \((?P<types>.*)\)'),
     _l('"%(name)s" is not an accepted file type (%(types)s)')),
    (re.compile(r'"(?P<name>.*)" would take your uploads that no record holds yet past the quota of (?P<quota>\d+) MB '
                r'\((?P<pending>[\d.]+) MB now\)\. .*'),
     _l('"%(name)s" was not kept: your uploads not yet saved in a record would pass your quota of %(quota)s MB '
        '(%(pending)s MB now). Save them in records, or wait a day: unsaved uploads are then removed')),
]


def translate(message: str, first: Sequence[tuple[re.Pattern, Any]] = ()) -> str:
    """The service's message in the reader's language, when we know it; `first`: a caller's own
    (pattern, words) pairs, tried before the common ones (the import's row messages)."""
    for pattern, text in first:
        m = pattern.fullmatch(message)
        if m:
            return str(text) % m.groupdict()
    if message in EXACT:
        return str(EXACT[message])
    for pattern, text in PATTERNS:
        m = pattern.fullmatch(message)
        if m:
            return str(text) % m.groupdict()
    return message


def sentence(label: str, message: str) -> str:
    """"Quantity must be at least 1" / "数量不能小于 1"."""
    return _("%(label)s %(message)s", label=label, message=translate(message))


@dataclass
class Problem:
    """One error as the summary lists it: where (label path), what, and the input to jump to."""

    where: str
    message: str
    target: str | None = None


def _position(form: FormDef, err: dict) -> tuple:
    """Where an error sits on the page, so the summary reads top to bottom."""
    order = list(form.fields)
    key, column = err.get("field"), err.get("column")
    child = form.children.get(key)
    return (order.index(key) if key in order else -1, err.get("row") or 0,
            list(child.fields).index(column) if child and column in child.fields else -1)


def _append(field, text: str) -> None:
    field.errors = [*(field.errors or []), text]


def place(form: FormDef, wt, errors: list[dict], rows_sent: dict[str, list[int]], locale: str
          ) -> tuple[list[Problem], dict[str, list[str]]]:
    """Attach each error to its WTForms field; return the summary and subform-level errors."""
    problems: list[Problem] = []
    table_errors: dict[str, list[str]] = {}
    for err in sorted(errors, key=lambda e: _position(form, e)):
        key, row, column = err.get("field"), err.get("row"), err.get("column")
        message = err.get("message", "")
        if key not in form.fields:
            problems.append(Problem("", translate(message)))
            continue
        label = form.label(key, locale)
        field = wt._fields.get(attr(key))
        if row is not None and column and key in form.children:
            problems.append(_place_cell(form.children[key], key, label, field, rows_sent.get(key, []),
                                        row, column, message, locale))
            continue
        text = sentence(label, message)
        if field is None:
            problems.append(Problem(label, text))
        elif key in form.children:
            table_errors.setdefault(key, []).append(text)
            problems.append(Problem(label, text, key))
        else:
            _append(field, text)
            problems.append(Problem(label, text, field.id))
    return problems, table_errors


def _place_cell(child: FormDef, key: str, label: str, field, sent: list[int], row: int, column: str,
                message: str, locale: str) -> Problem:
    col_label = child.label(column, locale) if column in child.fields else column
    entry_index = sent[row] if row < len(sent) else None
    shown_row = (entry_index if entry_index is not None else row) + 1
    where = _("%(table)s, row %(row)s", table=label, row=shown_row)
    text = sentence(col_label, message)
    if field is None or entry_index is None or entry_index >= len(field.entries):
        return Problem(where, text)
    cell = field.entries[entry_index].form._fields.get(attr(column))
    if cell is None:
        return Problem(where, text)
    _append(cell, text)
    return Problem(where, text, cell.id)
