"""What any request may carry, checked once at the boundary.

JSON bodies and JSON parameters are parsed here, refusing what no database or handler can
take: nesting beyond MAX_DEPTH, text with NUL characters or lone surrogates, integers
beyond 64 bits and numbers beyond floats. Ids in paths go through `IdConverter` (the
`int` converter of every route), which refuses ids no 32-bit id column can hold; `as_id`
reads ids from query strings and forms. Headers, query parameters and form fields with a NUL
character are refused before any view runs.
"""
from __future__ import annotations

import json
import math
from typing import Any

import sqlalchemy as sa
from flask import Flask, request
from flask_babel import gettext as _
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from formloom.platform.exceptions import ValidationFailed

MAX_ID = 2**31 - 1  # ids are 32-bit integers on every database
MIN_INT, MAX_INT = -(2**63), 2**63 - 1  # the widest integer column of any database
MAX_DEPTH = 64  # arrays and objects inside each other


def is_id(value: Any) -> bool:
    """Whether `value` can be the id of a row (a whole number a 32-bit column holds)."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def as_id(value: Any) -> int | None:
    """An id from a path, query or form value ("12" or 12), or None when it cannot be one.

    isdecimal, not isdigit: int() refuses "²"; and no id column holds more than MAX_ID."""
    if isinstance(value, str):
        value = value.strip()
        if not value.isdecimal() or len(value) > len(str(MAX_ID)):
            return None
        value = int(value)
    return value if is_id(value) else None


def int_limit(column_type: sa.types.TypeEngine) -> int:
    """What an integer column holds: -limit <= value < limit (SMALLINT, INTEGER, BIGINT)."""
    if isinstance(column_type, sa.SmallInteger):
        return 2**15
    return 2**63 if isinstance(column_type, sa.BigInteger) else 2**31


def text_problem(text: str) -> str | None:
    """Why no database can store `text`, or None."""
    if "\x00" in text:
        return "must not contain the NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from JSON escapes such as "\ud800"
        return "must be valid Unicode (it has a lone surrogate)"
    return None


def pointer_token(part) -> str:
    """One JSON pointer reference token (RFC 6901)."""
    return str(part).replace("~", "~0").replace("/", "~1")


def json_problems(value: Any) -> list[dict]:
    """{pointer, message} for each part of a parsed JSON value that no handler can take.

    Iterative, so a value of any depth is walked without recursion.
    """
    problems: list[dict] = []
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack and len(problems) < 20:
        item, pointer, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                problems.append({"pointer": pointer, "message": f"is nested more than {MAX_DEPTH} levels deep"})
                continue
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(key, str) and (why := text_problem(key)):
                    problems.append({"pointer": f"{pointer}/{pointer_token(key)}", "message": f"the key {why}"})
                    continue
                stack.append((child, f"{pointer}/{pointer_token(key)}", depth + 1))
        elif isinstance(item, str):
            if why := text_problem(item):
                problems.append({"pointer": pointer, "message": why})
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not MIN_INT <= item <= MAX_INT:
                problems.append({"pointer": pointer, "message": "is a whole number beyond 64 bits"})
        elif isinstance(item, float) and not math.isfinite(item):
            problems.append({"pointer": pointer, "message": "is a number beyond the range of numbers"})
    return problems


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def parse_json(text: str | bytes, name: str | None = None) -> Any:
    """Parse JSON from a client. Raises ValidationFailed saying what is wrong and where;
    `name` is the parameter it came in (None for the body)."""
    what = f"{name} is" if name else "The body is"

    def error(message: str, problems: list[dict]):
        if name:
            problems = [{"field": name, **p} for p in problems]
        return ValidationFailed(message, problems)

    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise error(f"{what} nested too deeply (at most {MAX_DEPTH} levels)",
                    [{"pointer": "", "message": f"is nested more than {MAX_DEPTH} levels deep"}]) from None
    except ValueError as exc:  # UnicodeDecodeError is one
        raise error(f"{what} not valid JSON: {exc}", [{"pointer": "", "message": f"is not valid JSON ({exc})"}]) from None
    problems = json_problems(value)
    if problems:
        first = problems[0]
        raise error(f"{what} not acceptable: {first['pointer'] or '/'} {first['message']}", problems)
    return value


def _for_people() -> bool:
    return not request.path.startswith("/api/")  # the API speaks English, pages the reader's language


class IdConverter(IntegerConverter):
    """`<int:...>`: an id in a path. One no id column can hold is 404, saying so, instead
    of reaching the database (where PostgreSQL refuses it)."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > MAX_ID:
            shown = value[:30]
            raise NotFound(_("No such id %(id)s: ids are whole numbers from 1 to %(max)s", id=shown, max=MAX_ID)
                           if _for_people() else f"No such id {shown}: ids are whole numbers from 1 to {MAX_ID}")
        return number


def refuse_nul() -> None:
    """No header, query parameter or form field may carry a NUL character (PostgreSQL cannot
    store one)."""
    for pairs, name in ((request.headers.items(), "header"), (request.args.items(multi=True), "query parameter"),
                        (request.form.items(multi=True), "form field")):
        for key, value in pairs:
            if "\x00" in key or "\x00" in value:
                key = key.replace("\x00", "")
                detail = (_("“%(name)s” must not contain the NUL character", name=key) if _for_people()
                          else f'The {name} "{key}" must not contain the NUL character')
                raise ValidationFailed(detail, [{"field": key, "message": "must not contain the NUL character"}])


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_nul)
