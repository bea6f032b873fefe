"""The operator registry: each operator lowers a field and its bound value to primitives.

Negative operators are NOT of their positive twin, which is false on a blank field, so
"stage ne won", "not_in" and "not_contains" include blank fields by construction.
"""
from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from formloom.runtime.conditions.model import Operand
from formloom.runtime.conditions.nodes import (
    FALSE,
    TRUE,
    AllOf,
    Blank,
    Compare,
    HasAll,
    HasAny,
    Member,
    Node,
    TextMatch,
    fold_ascii,
    is_multi,
    negate,
)
from formloom.runtime.conditions.values import Day

Lower = Callable[[Operand, Any], Node]


@dataclass(frozen=True)
class Operator:
    """arity: "none" (no value), "one", "pair" ([low, high]) or "list"."""

    arity: str
    lower: Lower


@dataclass(frozen=True)
class _Span:
    """A value as the range [low, high] it stands for; a whole Day is [start, end)."""

    low: Any
    high: Any
    high_open: bool

    @classmethod
    def of(cls, value: Any) -> _Span:
        if isinstance(value, Day):
            return cls(value.start, value.end, True)
        return cls(value, value, False)


def _at_least(operand: Operand, span: _Span) -> Node:
    return Compare(operand, operator.ge, span.low)


def _at_most(operand: Operand, span: _Span) -> Node:
    return Compare(operand, operator.lt if span.high_open else operator.le, span.high)


def _above(operand: Operand, span: _Span) -> Node:
    return Compare(operand, operator.ge if span.high_open else operator.gt, span.high)


def _below(operand: Operand, span: _Span) -> Node:
    return Compare(operand, operator.lt, span.low)


def _blank_value_is_false(lower: Lower) -> Lower:
    """A value that resolved to blank (e.g. a user with no department) matches nothing."""

    def guarded(operand: Operand, value: Any) -> Node:
        return FALSE if value is None else lower(operand, value)

    return guarded


def _negated(lower: Lower) -> Lower:
    return lambda operand, value: negate(lower(operand, value))


def _ordering(bound: Callable[[Operand, _Span], Node]) -> Lower:
    return _blank_value_is_false(lambda operand, value: bound(operand, _Span.of(value)))


@_blank_value_is_false
def _eq(operand: Operand, value: Any) -> Node:
    span = _Span.of(value)
    if span.high_open:  # a datetime field compared with a whole day
        return AllOf((_at_least(operand, span), _at_most(operand, span)))
    return Compare(operand, operator.eq, value)


def _between(operand: Operand, bounds: tuple[Any, Any]) -> Node:
    low, high = bounds
    if low is None or high is None:
        return FALSE
    return AllOf((_at_least(operand, _Span.of(low)), _at_most(operand, _Span.of(high))))


def _distinct(values: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(dict.fromkeys(value for value in values if value is not None))


def _in(operand: Operand, values: tuple[Any, ...]) -> Node:
    values = _distinct(values)
    return Member(operand, values) if values else FALSE


def _has_any(operand: Operand, values: tuple[Any, ...]) -> Node:
    values = _distinct(values)
    return HasAny(operand, values) if values else FALSE


def _has_all(operand: Operand, values: tuple[Any, ...]) -> Node:
    values = _distinct(values)
    return HasAll(operand, values) if values else TRUE  # every one of no values: vacuously


def _text_match(mode: str) -> Lower:
    return _blank_value_is_false(lambda operand, value: TextMatch(operand, mode, fold_ascii(value)))


@_blank_value_is_false
def _contains(operand: Operand, value: Any) -> Node:
    if is_multi(operand):
        return HasAny(operand, (value,))
    return TextMatch(operand, "contains", fold_ascii(value))


def _blank(operand: Operand, value: None) -> Node:
    return Blank(operand)


OPERATORS: dict[str, Operator] = {
    "eq": Operator("one", _eq),
    "ne": Operator("one", _negated(_eq)),
    "gt": Operator("one", _ordering(_above)),
    "gte": Operator("one", _ordering(_at_least)),
    "lt": Operator("one", _ordering(_below)),
    "lte": Operator("one", _ordering(_at_most)),
    "before": Operator("one", _ordering(_below)),
    "after": Operator("one", _ordering(_above)),
    "between": Operator("pair", _between),
    "in": Operator("list", _in),
    "not_in": Operator("list", _negated(_in)),
    "contains": Operator("one", _contains),
    "not_contains": Operator("one", _negated(_contains)),
    "starts_with": Operator("one", _text_match("starts_with")),
    "ends_with": Operator("one", _text_match("ends_with")),
    "has_any": Operator("list", _has_any),
    "has_all": Operator("list", _has_all),
    "is_empty": Operator("none", _blank),
    "is_not_empty": Operator("none", _negated(_blank)),
}
