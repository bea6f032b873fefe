"""Validate a JSON condition and parse it into a typed tree, reporting JSON-pointer errors."""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from formloom.runtime.conditions.model import (
    DEFAULT_OPERATORS,
    FAMILY,
    MAX_DEPTH,
    MAX_GROUPS,
    MAX_LEAVES,
    MAX_LIST_ITEMS,
    MULTI_KINDS,
    Operand,
    Resolver,
    item_kind,
)
from formloom.runtime.conditions.operators import OPERATORS
from formloom.runtime.conditions.values import (
    FIXED_VARS,
    MAX_TODAY_OFFSET,
    ListOf,
    Literal,
    Now,
    Today,
    Var,
    describe,
    literal_error,
    parse_duration,
)

GROUP_KEYS = ("all", "any", "not")
LEAF_KEYS = frozenset(("field", "op", "value"))
REFERENCE_HELP = 'a reference is {"var": "..."}, {"today": n} or {"now": "<ISO 8601 duration>"}'


@dataclass(frozen=True, eq=False)  # holds SQLAlchemy columns, whose == builds SQL
class Leaf:
    """One checked `{"field", "op", "value"}`; value is None, a term, or a (low, high) pair."""

    operand: Operand
    op: str
    value: Any


@dataclass(frozen=True, eq=False)
class Group:
    """all / any / not over checked children."""

    kind: str
    children: tuple[Leaf | Group, ...]


def pointer(base: str, key: str | int) -> str:
    """Append one RFC 6901 reference token to a JSON pointer."""
    return f"{base}/{str(key).replace('~', '~0').replace('/', '~1')}"


class _Parser:
    """One validation pass; collects every error instead of stopping at the first."""

    def __init__(self, resolver: Resolver, record_resolver: Resolver | None):
        self.resolver = resolver
        self.record_resolver = record_resolver or resolver
        self.errors: list[tuple[str, str]] = []
        self.leaves = 0
        self.groups = 0

    def error(self, ptr: str, message: str) -> None:
        self.errors.append((ptr, message))

    def node(self, obj: Any, ptr: str, depth: int) -> Leaf | Group | None:
        if not isinstance(obj, dict):
            self.error(ptr, f"expected a condition object, got {describe(obj)}")
        elif any(key in obj for key in GROUP_KEYS):
            return self.group(obj, ptr, depth)
        elif "field" in obj or "op" in obj:
            return self.leaf(obj, ptr)
        else:
            self.error(ptr, 'expected "all", "any", "not", or a condition with "field" and "op"')
        return None

    def group(self, obj: dict, ptr: str, depth: int) -> Group | None:
        kind = next(key for key in GROUP_KEYS if key in obj)
        for key in sorted(obj.keys() - {kind}, key=str):
            self.error(pointer(ptr, key), f'unexpected key "{key}" in a "{kind}" group')
        if depth > MAX_DEPTH:
            # stop here: deeper input must not exhaust the Python stack
            self.error(ptr, f"conditions are nested deeper than {MAX_DEPTH} levels")
            return None
        self.groups += 1
        body, inner = obj[kind], pointer(ptr, kind)
        if kind == "not":
            return Group(kind, (self.node(body, inner, depth + 1),))
        if not isinstance(body, list):
            self.error(inner, f'"{kind}" needs a list of conditions, got {describe(body)}')
            return None
        items = enumerate(body)
        return Group(kind, tuple(self.node(item, pointer(inner, i), depth + 1) for i, item in items))

    def leaf(self, obj: dict, ptr: str) -> Leaf | None:
        self.leaves += 1
        for key in sorted(obj.keys() - LEAF_KEYS, key=str):
            self.error(pointer(ptr, key), f'unexpected key "{key}"')
        operand = self.operand(obj.get("field"), pointer(ptr, "field"))
        op = self.operator(obj.get("op"), operand, pointer(ptr, "op"))
        if operand is None or op is None:
            return None
        arity = OPERATORS[op].arity
        if arity == "none":
            return Leaf(operand, op, None)  # a stale "value" from an editor is harmless
        if obj.get("value") is None:
            self.error(pointer(ptr, "value"), f'missing "value" for operator "{op}"')
            return None
        parse_value = {"one": self.one, "pair": self.pair, "list": self.many}[arity]
        return Leaf(operand, op, parse_value(obj["value"], pointer(ptr, "value"), operand, op))

    def operand(self, key: Any, ptr: str) -> Operand | None:
        if not isinstance(key, str):
            self.error(ptr, 'missing "field"' if key is None else '"field" must be a string')
            return None
        try:
            operand = self.resolver(key)
        except KeyError:
            self.error(ptr, f'unknown field "{key}"')
            return None
        if operand.kind not in DEFAULT_OPERATORS:
            self.error(ptr, f'field "{key}" has an unsupported kind "{operand.kind}"')
            return None
        return operand

    def operator(self, op: Any, operand: Operand | None, ptr: str) -> str | None:
        if not isinstance(op, str):
            self.error(ptr, 'missing "op"' if op is None else '"op" must be a string')
        elif op not in OPERATORS:
            self.error(ptr, f'unknown operator "{op}"')
        elif operand is not None and op not in operand.allowed_operators():
            self.error(ptr, f'operator "{op}" does not apply to {operand.kind} field "{operand.key}"')
        else:
            return op
        return None

    def one(self, raw: Any, ptr: str, operand: Operand, op: str) -> Any:
        if isinstance(raw, list):
            self.error(ptr, f'operator "{op}" needs a single value, not a list')
            return None
        return self.scalar(raw, ptr, operand, op)

    def pair(self, raw: Any, ptr: str, operand: Operand, op: str) -> Any:
        if not isinstance(raw, list) or len(raw) != 2:
            self.error(ptr, f'operator "{op}" needs a list of two values [low, high]')
            return None
        return tuple(self.item(item, pointer(ptr, i), operand, op) for i, item in enumerate(raw))

    def many(self, raw: Any, ptr: str, operand: Operand, op: str) -> Any:
        if isinstance(raw, dict):
            return self.reference(raw, ptr, operand, op, want_list=True)
        if not isinstance(raw, list):
            self.error(ptr, f'operator "{op}" needs a list of values, got {describe(raw)}')
            return None
        if len(raw) > MAX_LIST_ITEMS:
            self.error(ptr, f"a list can hold at most {MAX_LIST_ITEMS} values")
            return None
        items = enumerate(raw)
        return ListOf(tuple(self.item(item, pointer(ptr, i), operand, op) for i, item in items))

    def item(self, raw: Any, ptr: str, operand: Operand, op: str) -> Any:
        if isinstance(raw, list):
            self.error(ptr, "expected a single value, not a nested list")
            return None
        return self.scalar(raw, ptr, operand, op)

    def scalar(self, raw: Any, ptr: str, operand: Operand, op: str) -> Any:
        if isinstance(raw, dict):
            return self.reference(raw, ptr, operand, op, want_list=False)
        message = literal_error(item_kind(operand.kind), raw)
        if message:
            self.error(ptr, message)
        return Literal(raw)

    def reference(self, raw: dict, ptr: str, operand: Operand, op: str, want_list: bool) -> Any:
        if len(raw) != 1 or next(iter(raw)) not in REFERENCES:
            self.error(ptr, REFERENCE_HELP)
            return None
        (key, arg), = raw.items()
        parsed = REFERENCES[key](self, arg, pointer(ptr, key))
        if parsed is None:
            return None
        term, kind, is_list = parsed
        label = json.dumps(raw, ensure_ascii=False)
        if FAMILY.get(kind) is None or FAMILY.get(kind) != FAMILY.get(operand.kind):
            self.error(ptr, f'{label} gives {kind} values; they cannot be compared with '
                            f'{operand.kind} field "{operand.key}"')
        elif is_list and not want_list:
            self.error(ptr, f'{label} is a list; operator "{op}" needs a single value')
        elif want_list and not is_list:
            self.error(ptr, f'operator "{op}" needs a list; {label} is a single value')
        return term

    def var(self, name: Any, ptr: str) -> tuple[Any, str, bool] | None:
        if not isinstance(name, str):
            self.error(ptr, '"var" must be a string')
            return None
        if name in FIXED_VARS:
            kind, is_list, _ = FIXED_VARS[name]
            return Var(name), kind, is_list
        key = name.removeprefix("record.")
        if key == name or not key:
            self.error(ptr, f'unknown variable "{name}"')
            return None
        try:
            kind = self.record_resolver(key).kind
        except KeyError:
            self.error(ptr, f'unknown field "{key}" in variable "{name}"')
            return None
        return Var(name), item_kind(kind), kind in MULTI_KINDS

    def today(self, days: Any, ptr: str) -> tuple[Any, str, bool] | None:
        if isinstance(days, bool) or not isinstance(days, int) or abs(days) > MAX_TODAY_OFFSET:
            self.error(ptr, f'"today" needs a whole number of days such as -7, got {describe(days)}')
            return None
        return Today(days), "date", False

    def now(self, duration: Any, ptr: str) -> tuple[Any, str, bool] | None:
        delta = parse_duration(duration)
        if delta is None:
            self.error(ptr, f'invalid duration {describe(duration)} '
                            '(expected ISO 8601 such as "-PT2H", "P1D" or "PT0S")')
            return None
        return Now(delta), "datetime", False


REFERENCES = {"var": _Parser.var, "today": _Parser.today, "now": _Parser.now}


def parse(
    condition: Any, resolver: Resolver, record_resolver: Resolver | None = None
) -> tuple[Leaf | Group | None, list[tuple[str, str]]]:
    """Check a condition; the tree is only meaningful when the error list is empty."""
    if condition is None:
        return None, []
    parser = _Parser(resolver, record_resolver)
    tree = parser.node(condition, "", 1)
    if parser.leaves > MAX_LEAVES:
        parser.error("", f"more than {MAX_LEAVES} conditions ({parser.leaves})")
    if parser.groups > MAX_GROUPS:
        parser.error("", f"more than {MAX_GROUPS} groups ({parser.groups})")
    return tree, parser.errors


def _leaves(condition: Any) -> Iterator[dict]:
    # an explicit stack: dependency tracking must not fail on deep or malformed input
    stack = [condition]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            groups = [node[key] for key in GROUP_KEYS if key in node]
            stack.extend(groups)
            if not groups:
                yield node


def fields_used(condition: Any) -> set[str]:
    """The field keys a condition names (for dependency tracking)."""
    return {leaf["field"] for leaf in _leaves(condition) if isinstance(leaf.get("field"), str)}


def record_fields_used(condition: Any) -> set[str]:
    """The keys of the current record that {"var": "record.<key>"} references read."""
    keys = set()
    for leaf in _leaves(condition):
        value = leaf.get("value")
        for ref in value if isinstance(value, list) else [value]:
            name = ref.get("var") if isinstance(ref, dict) else None
            if isinstance(name, str) and name.startswith("record.") and len(name) > 7:
                keys.add(name[7:])
    return keys
