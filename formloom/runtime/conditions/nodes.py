"""The primitive predicates operators lower to, each with one SQL and one Python form.

Every primitive is two-valued in SQL: a positive test is guarded with IS NOT NULL (and a
negative operator is NOT of a positive one), so NULL never reaches a NOT and SQL's
three-valued logic always agrees with the Python form.
"""
from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import (
    BigInteger,
    Float,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    cast,
    distinct,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from formloom.platform.inputs import int_limit
from formloom.runtime.conditions.model import MULTI_KINDS, Operand

Predicate = Callable[[Mapping[str, Any]], bool]

_ASCII_FOLD = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_EMPTY_FILE_TEXTS = ("", "[]", "null")  # JSON text of "no files"; 'null' is SQLAlchemy JSON's None


def fold_ascii(text: str) -> str:
    """Lower-case ASCII letters only, the case folding both databases can do identically."""
    return text.translate(_ASCII_FOLD)


class _AsciiLower(FunctionElement):
    """SQL lower() restricted to ASCII letters on every dialect."""

    type = String()
    name = "ascii_lower"
    inherit_cache = True


@compiles(_AsciiLower)
def _ascii_lower_sqlite(element, compiler, **kw):
    # SQLite's built-in lower() folds ASCII letters only (unless the ICU extension is loaded)
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(_AsciiLower, "postgresql")
def _ascii_lower_postgresql(element, compiler, **kw):
    # PostgreSQL's lower() folds all of Unicode; translate() keeps it to A-Z like SQLite
    args = compiler.process(element.clauses, **kw)
    return f"translate({args}, '{string.ascii_uppercase}', '{string.ascii_lowercase}')"


class _Position(FunctionElement):
    """1-based position of a substring (0 when absent), with no LIKE wildcards to escape."""

    type = Integer()
    name = "position"
    inherit_cache = True


@compiles(_Position)
def _position_sqlite(element, compiler, **kw):
    return f"instr({compiler.process(element.clauses, **kw)})"


@compiles(_Position, "postgresql")
def _position_postgresql(element, compiler, **kw):
    return f"strpos({compiler.process(element.clauses, **kw)})"


class Node(Protocol):
    """A predicate with a SQL form and an equivalent Python form."""

    def sql(self) -> ColumnElement[bool]: ...

    def py(self) -> Predicate: ...


@dataclass(frozen=True, eq=False)
class Const:
    """Always true or always false."""

    value: bool

    def sql(self) -> ColumnElement[bool]:
        return true() if self.value else false()

    def py(self) -> Predicate:
        value = self.value
        return lambda record: value


TRUE, FALSE = Const(True), Const(False)


@dataclass(frozen=True, eq=False)
class AllOf:
    """Conjunction; true when empty."""

    children: tuple[Node, ...]

    def sql(self) -> ColumnElement[bool]:
        return and_(*(child.sql() for child in self.children)) if self.children else true()

    def py(self) -> Predicate:
        tests = [child.py() for child in self.children]
        return lambda record: all(test(record) for test in tests)


@dataclass(frozen=True, eq=False)
class AnyOf:
    """Disjunction; false when empty."""

    children: tuple[Node, ...]

    def sql(self) -> ColumnElement[bool]:
        return or_(*(child.sql() for child in self.children)) if self.children else false()

    def py(self) -> Predicate:
        tests = [child.py() for child in self.children]
        return lambda record: any(test(record) for test in tests)


@dataclass(frozen=True, eq=False)
class Not:
    """Negation of a two-valued predicate."""

    child: Node

    def sql(self) -> ColumnElement[bool]:
        return not_(self.child.sql())

    def py(self) -> Predicate:
        test = self.child.py()
        return lambda record: not test(record)


def negate(node: Node) -> Node:
    """NOT node, folding constants."""
    return Const(not node.value) if isinstance(node, Const) else Not(node)


def _column(operand: Operand) -> Any:
    if operand.column is None:
        raise ValueError(f'field "{operand.key}" has no column to query')
    return operand.column


def _bind_type(column: Any, values: list[Any]) -> Any:
    """The column's type, or a wider one for numbers an integer column cannot hold: PostgreSQL
    casts a bind to the column's type (`:p::SMALLINT`), and 2**40 or 2.5 do not fit one."""
    ctype = column.type
    if not isinstance(ctype, Integer):
        return ctype
    limit = int_limit(ctype)
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if all(isinstance(v, int) and -limit <= v < limit for v in numbers):
        return ctype
    return BigInteger() if all(isinstance(v, int) for v in numbers) else Float()


def _bound(column: Any, value: Any) -> Any:
    # Binds are typed by the column, never by the value: SQLAlchemy would type the list of
    # `float_col IN (0, 0.5)` from its first item, and PostgreSQL then casts 0.5 to INTEGER.
    return bindparam(None, value, type_=_bind_type(column, [value]))


def _bound_list(column: Any, values: tuple[Any, ...]) -> Any:
    return bindparam(None, list(values), type_=_bind_type(column, list(values)), expanding=True)


def _items(value: Any) -> frozenset:
    return frozenset(item for item in value if item is not None) if value else frozenset()


def _junction(operand: Operand, *criteria: Any) -> Any:
    if operand.junction is None or operand.record_id is None:
        raise ValueError(f'field "{operand.key}" has no junction table to query')
    record_id, _ = operand.junction
    # correlate_except: correlate to the main table even if the outer query joins the junction
    return (
        select(record_id)
        .where(record_id == operand.record_id, *criteria)
        .correlate_except(record_id.table)
    )


def _file_blank(value: Any) -> bool:
    return value is None or value == [] or value in _EMPTY_FILE_TEXTS


def _file_blank_sql(operand: Operand) -> ColumnElement[bool]:
    column = _column(operand)
    text = column if isinstance(column.type, String) else cast(column, Text)
    return or_(column.is_(None), text.in_(_EMPTY_FILE_TEXTS))


def _no_items_sql(operand: Operand) -> ColumnElement[bool]:
    _, value = operand.junction
    return not_(_junction(operand, value.is_not(None)).exists())


_BLANK_PY: dict[str, Callable[[Any], bool]] = {
    "text": lambda value: value is None or value == "",
    "file": _file_blank,
    "multi_text": lambda value: not _items(value),
    "multi_ref": lambda value: not _items(value),
}

_BLANK_SQL: dict[str, Callable[[Operand], ColumnElement[bool]]] = {
    "text": lambda operand: or_(_column(operand).is_(None), _column(operand) == ""),
    "file": _file_blank_sql,
    "multi_text": _no_items_sql,
    "multi_ref": _no_items_sql,
}


@dataclass(frozen=True, eq=False)
class Blank:
    """is_empty: NULL, '' for text, no items for multi fields, NULL or '[]' for files."""

    operand: Operand

    def sql(self) -> ColumnElement[bool]:
        build = _BLANK_SQL.get(self.operand.kind)
        return build(self.operand) if build else _column(self.operand).is_(None)

    def py(self) -> Predicate:
        key, test = self.operand.key, _BLANK_PY.get(self.operand.kind, _is_none)
        return lambda record: test(record.get(key))


def _is_none(value: Any) -> bool:
    return value is None


@dataclass(frozen=True, eq=False)
class Compare:
    """field <op> value, false when the field is NULL; op is from the `operator` module."""

    operand: Operand
    op: Callable[[Any, Any], Any]
    value: Any

    def sql(self) -> ColumnElement[bool]:
        column = _column(self.operand)
        return and_(column.is_not(None), self.op(column, _bound(column, self.value)))

    def py(self) -> Predicate:
        key, op, value = self.operand.key, self.op, self.value
        return lambda record: (field := record.get(key)) is not None and op(field, value)


@dataclass(frozen=True, eq=False)
class Member:
    """field IN (values): one IN list, however long, to keep the SQL tree shallow."""

    operand: Operand
    values: tuple[Any, ...]

    def sql(self) -> ColumnElement[bool]:
        column = _column(self.operand)
        return and_(column.is_not(None), column.in_(_bound_list(column, self.values)))

    def py(self) -> Predicate:
        key, values = self.operand.key, frozenset(self.values)
        return lambda record: (field := record.get(key)) is not None and field in values


_TEXT_PY: dict[str, Callable[[str, str], bool]] = {
    "contains": lambda haystack, needle: needle in haystack,
    "starts_with": str.startswith,
    "ends_with": str.endswith,
}


def _ends_with_sql(haystack: Any, needle: str) -> ColumnElement[bool]:
    # When the needle is longer than the haystack the start is <= 0, where SQLite and
    # PostgreSQL disagree on substr(); both still return fewer characters than the needle
    # has, so the comparison is false either way.
    start = func.length(haystack) - literal(len(needle), Integer()) + 1
    return func.substr(haystack, start) == literal(needle, String())


_TEXT_SQL: dict[str, Callable[[Any, str], ColumnElement[bool]]] = {
    "contains": lambda haystack, needle: _Position(haystack, literal(needle, String())) > 0,
    "starts_with": lambda haystack, needle: _Position(haystack, literal(needle, String())) == 1,
    "ends_with": _ends_with_sql,
}


@dataclass(frozen=True, eq=False)
class TextMatch:
    """contains / starts_with / ends_with, ASCII-case-insensitively; needle is pre-folded."""

    operand: Operand
    mode: str
    needle: str

    def sql(self) -> ColumnElement[bool]:
        column = _column(self.operand)
        return and_(column.is_not(None), _TEXT_SQL[self.mode](_AsciiLower(column), self.needle))

    def py(self) -> Predicate:
        key, needle, test = self.operand.key, self.needle, _TEXT_PY[self.mode]
        return lambda record: (field := record.get(key)) is not None and test(
            fold_ascii(field), needle
        )


@dataclass(frozen=True, eq=False)
class HasAny:
    """A multi field holds at least one of values: one correlated EXISTS."""

    operand: Operand
    values: tuple[Any, ...]

    def sql(self) -> ColumnElement[bool]:
        _, value = self.operand.junction
        return _junction(self.operand, value.in_(_bound_list(value, self.values))).exists()

    def py(self) -> Predicate:
        key, values = self.operand.key, frozenset(self.values)
        return lambda record: not values.isdisjoint(_items(record.get(key)))


@dataclass(frozen=True, eq=False)
class HasAll:
    """A multi field holds every one of values (distinct): one COUNT(DISTINCT) subquery."""

    operand: Operand
    values: tuple[Any, ...]

    def sql(self) -> ColumnElement[bool]:
        _, value = self.operand.junction
        wanted = value.in_(_bound_list(value, self.values))
        found = _junction(self.operand, wanted).with_only_columns(
            func.count(distinct(value))
        )
        return found.scalar_subquery() == len(set(self.values))

    def py(self) -> Predicate:
        key, values = self.operand.key, frozenset(self.values)
        return lambda record: values <= _items(record.get(key))


def is_multi(operand: Operand) -> bool:
    """Whether the field stores many values in a junction table."""
    return operand.kind in MULTI_KINDS
