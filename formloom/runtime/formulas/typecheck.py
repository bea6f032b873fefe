"""Static type checking of a formula against the kinds of the fields it reads.

Kinds are "number", "text", "boolean", "date", "datetime", and "list:<kind>" for a subform
column. The checker is lenient where Excel is (text & number joins, TRUE counts as 1, a date
plus days is a date) and strict where a formula would surely be a mistake (DATEDIF on text,
a subform column where one value is needed, IF giving a number in one case and TRUE in another).
"""
from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping

from formloom.runtime.formulas.errors import FormulaError
from formloom.runtime.formulas.functions import FUNCTIONS, Function
from formloom.runtime.formulas.nodes import Binary, Boolean, Call, Node, Number, Ref, Text, Unary
from formloom.runtime.formulas.parser import Formula, parse

SCALARS = frozenset({"number", "text", "boolean", "date", "datetime"})
KINDS = SCALARS | {f"list:{kind}" for kind in SCALARS}
_MOMENTS = frozenset({"date", "datetime"})
_NUMERIC = frozenset({"number", "boolean"})  # TRUE counts as 1, as in Excel

# What each parameter kind accepts, and how to say what it needs.
_ACCEPTS: dict[str, tuple[frozenset[str], str]] = {
    "number": (_NUMERIC, "a number"),
    "text": (SCALARS, "a value"),
    "any": (SCALARS, "a value"),
    "unit": (frozenset({"text"}), "a unit as text"),
    "boolean": (frozenset({"boolean", "number"}), "a true/false condition"),
    "date": (_MOMENTS, "a date"),
    "numbers": (_NUMERIC | {"list:number"}, "numbers"),
    "booleans": (frozenset({"boolean", "number", "list:boolean", "list:number"}), "conditions"),
    "anything": (KINDS, "values"),
}
_WORDS = {
    "number": "a number", "text": "text", "boolean": "true/false", "date": "a date",
    "datetime": "a date and time",
}
_PLURALS = {
    "number": "numbers", "text": "text", "boolean": "true/false values", "date": "dates",
    "datetime": "dates and times",
}
_SINGLE_PARAMS = frozenset({"number", "text", "any", "unit", "boolean", "date"})
_AGGREGATES = "SUM, AVERAGE, MAX, MIN, COUNT or COUNTA"


def typecheck(formula: Formula | str, types: Mapping[str, str]) -> str:
    """The kind of the formula's result; FormulaError for unknown fields or kind mistakes."""
    if isinstance(formula, str):
        formula = parse(formula)
    for path, kind in types.items():
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r} for {path!r}")
    checker = _Checker(formula.expr, types)
    return checker.single(formula.root, checker.kind(formula.root), "The result")


def _words(kind: str) -> str:
    """A kind in plain words: "a number", "a list of text", ..."""
    if kind.startswith("list:"):
        return "a list of " + _PLURALS[kind[5:]]
    return _WORDS[kind]


class _Checker:
    """Walks the tree once, computing each node's kind."""

    def __init__(self, source: str, types: Mapping[str, str]):
        self.source = source
        self.types = types

    def error(self, node: Node, message: str, *, hint: str = "", pos: int | None = None):
        """A FormulaError pointing at `node` (or at `pos`)."""
        token = self.source[node.pos : node.end]
        at = node.pos if pos is None else pos
        return FormulaError.at(self.source, at, message, token=token, hint=hint)

    def show(self, node: Node) -> str:
        """How to name a sub-expression in a message: the field name or the source text."""
        return f'"{node.name}"' if isinstance(node, Ref) else f'"{self.source[node.pos:node.end]}"'

    def kind(self, node: Node) -> str:
        return _RULES_BY_NODE[type(node)](self, node)

    def single(self, node: Node, kind: str, who: str) -> str:
        """`kind`, unless it is a list: a subform column must go through an aggregate."""
        if kind.startswith("list:"):
            raise self.error(
                node, f"{who} needs a single value, but {self.show(node)} is a list",
                hint=f" (one value per subform row); use it inside {_AGGREGATES}",
            )
        return kind

    def need(self, node: Node, kind: str, param: str, who: str) -> str:
        """Check `kind` against a parameter kind; explain the mismatch in plain words."""
        accepted, needs = _ACCEPTS[param]
        if kind in accepted:
            return kind
        if param in _SINGLE_PARAMS:
            self.single(node, kind, who)
        hint = ""
        if kind == "text" and param in ("number", "numbers") and isinstance(node, Ref):
            hint = f" (use VALUE({node.name}) to read a number from text)"
        raise self.error(
            node, f"{who} needs {needs}; {self.show(node)} is {_words(kind)}", hint=hint
        )

    def literal(self, node: Number | Text | Boolean) -> str:
        return {Number: "number", Text: "text", Boolean: "boolean"}[type(node)]

    def ref(self, node: Ref) -> str:
        kind = self.types.get(node.name)
        if kind is None:
            raise self.error(node, f'Unknown field "{node.name}"', hint=self._suggest(node.name))
        return kind

    def _suggest(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self.types), n=1)
        return f'; did you mean "{close[0]}"?' if close else ""

    def unary(self, node: Unary) -> str:
        self.need(node.operand, self.kind(node.operand), "number", f'"{node.op}"')
        return "number"

    def binary(self, node: Binary) -> str:
        chain = node.spine()
        kind = self.kind(chain[-1].left)
        for step in reversed(chain):
            right = self.kind(step.right)
            who = f'"{step.op}"'
            self.single(step.left, kind, who)
            self.single(step.right, right, who)
            kind = _OPERATOR_RULES.get(step.op, _arithmetic)(self, step, kind, right)
        return kind

    def call(self, node: Call) -> str:
        fn = FUNCTIONS[node.name]
        kinds = [self.kind(arg) for arg in node.args]
        for index, (arg, kind) in enumerate(zip(node.args, kinds, strict=True)):
            self.need(arg, kind, fn.param(index), fn.name)
        if fn.result.startswith("rule:"):
            return _RESULT_RULES[fn.result[5:]](self, node, fn, kinds)
        return fn.result

    def unify(self, node: Node, fn: Function, kinds: list[str]) -> str:
        """The one kind shared by values that may each be the result (IF's branches, ...)."""
        # Strict, so the stored value always has the field's kind: no number-or-TRUE fields.
        first, *others = dict.fromkeys(kinds)
        if not others:
            return first
        second = others[0]
        raise self.error(
            node, f"{fn.name} gives {_words(first)} in one case and {_words(second)} in another",
            hint="; make every case give the same kind of value",
        )


def _arithmetic(checker: _Checker, node: Binary, left: str, right: str) -> str:
    """`* / ^`, and `+ -` on numbers: both sides must be numbers (TRUE counts as 1)."""
    for side, kind in ((node.left, left), (node.right, right)):
        checker.need(side, kind, "number", f'"{node.op}"')
    return "number"


def _plus(checker: _Checker, node: Binary, left: str, right: str) -> str:
    """`+`: a date plus days (either order) is a date."""
    if left in _MOMENTS and right in _NUMERIC:
        return left
    if right in _MOMENTS and left in _NUMERIC:
        return right
    return _arithmetic(checker, node, left, right)


def _minus(checker: _Checker, node: Binary, left: str, right: str) -> str:
    """`-`: date minus date is a number of days; date minus days is a date."""
    if left in _MOMENTS and right in _MOMENTS:
        return "number"
    if left in _MOMENTS and right in _NUMERIC:
        return left
    return _arithmetic(checker, node, left, right)


def _concat(checker: _Checker, node: Binary, left: str, right: str) -> str:
    """`&`: anything joins as text."""
    return "text"


def _compare(checker: _Checker, node: Binary, left: str, right: str) -> str:
    """Comparisons: same kinds (dates with datetimes); anything may be compared with ""."""
    blank_test = any(isinstance(side, Text) and side.value == "" for side in node.children())
    if left == right or {left, right} <= _MOMENTS or blank_test:
        return "boolean"
    raise checker.error(
        node, f'"{node.op}" cannot compare {_words(left)} with {_words(right)}',
        hint=f" ({checker.show(node.left)} and {checker.show(node.right)})", pos=node.op_pos,
    )


def _branches(checker: _Checker, node: Call, fn: Function, kinds: list[str]) -> str:
    """IF: the kind both branches share."""
    return checker.unify(node, fn, kinds[1:])


def _pairs(checker: _Checker, node: Call, fn: Function, kinds: list[str]) -> str:
    """IFS: conditions at even places, values at odd places."""
    for arg, kind in zip(node.args[::2], kinds[::2], strict=True):
        checker.need(arg, kind, "boolean", fn.name)
    return checker.unify(node, fn, kinds[1::2])


def _switch(checker: _Checker, node: Call, fn: Function, kinds: list[str]) -> str:
    """SWITCH(value, case, result, ..., [default]): the kind the results share."""
    results = kinds[2::2] + ([kinds[-1]] if len(kinds) % 2 == 0 else [])
    return checker.unify(node, fn, results)


def _extreme(checker: _Checker, node: Call, fn: Function, kinds: list[str]) -> str:
    """MAX/MIN: over numbers gives a number, over dates a date (datetime if any has a time)."""
    plain = {kind.removeprefix("list:") for kind in kinds}
    if plain <= _MOMENTS:
        return "datetime" if "datetime" in plain else "date"
    for arg, kind in zip(node.args, kinds, strict=True):
        checker.need(arg, kind, "numbers", fn.name)
    return "number"


def _same(checker: _Checker, node: Call, fn: Function, kinds: list[str]) -> str:
    """DATEADD: a date stays a date, a datetime a datetime."""
    return kinds[0]


_RULES_BY_NODE: dict[type, Callable[[_Checker, Node], str]] = {
    Number: _Checker.literal,
    Text: _Checker.literal,
    Boolean: _Checker.literal,
    Ref: _Checker.ref,
    Unary: _Checker.unary,
    Binary: _Checker.binary,
    Call: _Checker.call,
}
_OPERATOR_RULES = {
    "+": _plus,
    "-": _minus,
    "&": _concat,
    **{op: _compare for op in ("=", "<>", "<", "<=", ">", ">=")},
}
_RESULT_RULES = {
    "branches": _branches, "pairs": _pairs, "switch": _switch, "extreme": _extreme, "same": _same,
}
