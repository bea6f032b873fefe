"""Compile a formula's syntax tree once into nested closures, the fast way to evaluate it.

Each closure computes exactly what the tree-walking interpreter in evaluator.py computes, in
the same order, and spends the same steps at the same moments: one per node when it starts
(a chain `a + b + c` pays for all its operators at once) and one per row of a subform column
read. So run-time errors, step limits and lazy IF/IFS/SWITCH/AND/OR behave identically.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from functools import partial
from typing import NoReturn

from formloom.runtime.formulas.errors import EvalError, FormulaLimitError
from formloom.runtime.formulas.functions import FUNCTIONS
from formloom.runtime.formulas.nodes import Binary, Boolean, Call, Node, Number, Ref, Text, Unary
from formloom.runtime.formulas.operators import BINARY, UNARY
from formloom.runtime.formulas.values import from_input

# Values from_input hands back unchanged; checking the exact type skips its isinstance chain.
_PLAIN = frozenset({int, float, str, bool, type(None), date})


class State:
    """One evaluation: the inputs, the clock, and the steps still allowed."""

    __slots__ = ("values", "today", "now", "budget", "max_steps")

    def __init__(self, values: Mapping[str, object], today: date, now: datetime, max_steps: int):
        self.values = values
        self.today = today
        self.now = now
        self.budget = max_steps
        self.max_steps = max_steps


Compiled = Callable[[State], object]


def _exhausted(state: State) -> NoReturn:
    raise FormulaLimitError(
        f"The formula needs too many steps to compute (the limit is {state.max_steps:,})"
    )


def compile_node(node: Node) -> Compiled:
    """A closure computing `node`'s value for a State."""
    return _COMPILERS[type(node)](node)


def _literal(node: Number | Text | Boolean) -> Compiled:
    value = node.value

    def literal(state: State) -> object:
        state.budget -= 1
        if state.budget < 0:
            _exhausted(state)
        return value

    return literal


def _ref(node: Ref) -> Compiled:
    if len(node.path) > 1:
        return _column(node.path[0], node.path[1])
    name = node.path[0]

    def ref(state: State) -> object:
        state.budget -= 1
        if state.budget < 0:
            _exhausted(state)
        value = state.values.get(name)
        if type(value) in _PLAIN:
            return value
        value = from_input(value)
        if isinstance(value, list):
            _spend(state, len(value))  # reading a long list is real work
        return value

    return ref


def _column(name: str, key: str) -> Compiled:
    """`items.subtotal`: the column of a subform's rows, one step per row."""

    def column(state: State) -> object:
        state.budget -= 1
        if state.budget < 0:
            _exhausted(state)
        head = state.values.get(name)
        if type(head) is not list:
            return _any_column(state, from_input(head), name, key)
        cells, plain = [], True
        for row in head:
            if type(row) is not dict:
                return _any_column(state, from_input(head), name, key)
            cell = row.get(key)
            plain = plain and type(cell) in _PLAIN
            cells.append(cell)
        _spend(state, len(head))
        return cells if plain else [from_input(cell) for cell in cells]

    return column


def _any_column(state: State, head: object, name: str, key: str) -> object:
    """The interpreter's general path for a column, for inputs the fast path does not cover."""
    if isinstance(head, list):
        _spend(state, len(head))
    if head is None:
        return []
    if not isinstance(head, list):
        raise EvalError(f"{name} is not a subform")
    return [from_input(row.get(key)) if isinstance(row, Mapping) else None for row in head]


def _spend(state: State, steps: int) -> None:
    state.budget -= steps
    if state.budget < 0:
        _exhausted(state)


def _unary(node: Unary) -> Compiled:
    op, operand = UNARY[node.op], compile_node(node.operand)

    def unary(state: State) -> object:
        state.budget -= 1
        if state.budget < 0:
            _exhausted(state)
        return op(operand(state))

    return unary


def _binary(node: Binary) -> Compiled:
    chain = node.spine()  # looped, not recursed: chains may be longer than the recursion limit
    cost, first = len(chain), compile_node(chain[-1].left)
    steps = [(BINARY[link.op], compile_node(link.right)) for link in reversed(chain)]
    if cost == 1:
        ((op, right),) = steps

        def binary(state: State) -> object:
            state.budget -= 1
            if state.budget < 0:
                _exhausted(state)
            return op(first(state), right(state))

        return binary

    def chained(state: State) -> object:
        _spend(state, cost)
        value = first(state)
        for op, right in steps:
            value = op(value, right(state))
        return value

    return chained


def _call(node: Call) -> Compiled:
    fn = FUNCTIONS[node.name]
    impl, args = fn.impl, [compile_node(arg) for arg in node.args]
    if fn.call == "lazy":
        return _paid(lambda state: impl([partial(arg, state) for arg in args]))
    if fn.call == "clock":
        return _paid(lambda state: impl(state.today, state.now))
    if len(args) == 1:
        (only,) = args
        return _paid(lambda state: impl(only(state)))
    if len(args) == 2:
        one, two = args
        return _paid(lambda state: impl(one(state), two(state)))
    return _paid(lambda state: impl(*[arg(state) for arg in args]))


def _paid(body: Compiled) -> Compiled:
    """`body` after paying the node's own step."""

    def call(state: State) -> object:
        state.budget -= 1
        if state.budget < 0:
            _exhausted(state)
        return body(state)

    return call


_COMPILERS: dict[type, Callable[..., Compiled]] = {
    Number: _literal,
    Text: _literal,
    Boolean: _literal,
    Ref: _ref,
    Unary: _unary,
    Binary: _binary,
    Call: _call,
}
