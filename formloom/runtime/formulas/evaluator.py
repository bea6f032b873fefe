"""Evaluate a parsed formula against a record's values.

Run-time errors (division by zero, VALUE of non-numeric text, SQRT of a negative number, an
impossible date, a blank date given to a date function, ...) make the whole formula evaluate
to None, a blank field: a stored formula field cannot show Excel's #DIV/0!, and a blank is
what users expect while the inputs are incomplete. Exceeding a work limit (steps, text size)
is different: it raises FormulaLimitError, because it means the formula itself is abusive.

Formulas run as closures compiled once per Formula (compiler.py). The tree-walking `_Run`
below is the reference they are tested against: `evaluate(..., interpret=True)` uses it.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import partial

from formloom.runtime.formulas.compiler import State
from formloom.runtime.formulas.errors import EvalError, FormulaLimitError
from formloom.runtime.formulas.functions import FUNCTIONS
from formloom.runtime.formulas.nodes import Binary, Boolean, Call, Node, Number, Ref, Text, Unary
from formloom.runtime.formulas.operators import BINARY, UNARY
from formloom.runtime.formulas.parser import Formula, parse
from formloom.runtime.formulas.values import from_input, normalize_result

MAX_STEPS = 100_000


def evaluate(
    formula: Formula | str,
    values: Mapping[str, object],
    *,
    today: date | None = None,
    now: datetime | None = None,
    max_steps: int = MAX_STEPS,
    interpret: bool = False,
) -> object:
    """The formula's value for `values`, or None (blank) when it hits a run-time error."""
    if isinstance(formula, str):
        formula = parse(formula)
    now = from_input(now or datetime.now(UTC))  # aware datetimes become naive UTC
    today = today or date.today()
    try:
        if interpret:
            run = _Run(values, today, now, max_steps)  # type: ignore[arg-type]
            return normalize_result(run.eval(formula.root))
        state = State(values, today, now, max_steps)  # type: ignore[arg-type]
        return normalize_result(formula.program(state))
    except (EvalError, ArithmeticError, ValueError):
        # ArithmeticError covers overflow and decimal errors, ValueError impossible dates.
        return None


class _Run:
    """One evaluation: the inputs, the clock, and the step budget."""

    def __init__(self, values: Mapping[str, object], today: date, now: datetime, max_steps: int):
        self.values = values
        self.today = today
        self.now = now
        self.max_steps = max_steps
        self.steps = 0

    def spend(self, steps: int) -> None:
        """Count work; raise FormulaLimitError once the budget is used up."""
        self.steps += steps
        if self.steps > self.max_steps:
            raise FormulaLimitError(
                f"The formula needs too many steps to compute (the limit is {self.max_steps:,})"
            )

    def eval(self, node: Node) -> object:
        """The value of one node."""
        self.spend(1)
        return _HANDLERS[type(node)](self, node)

    def literal(self, node: Number | Text | Boolean) -> object:
        return node.value

    def ref(self, node: Ref) -> object:
        """A field's value; `items.subtotal` is the column of a subform's rows."""
        head = from_input(self.values.get(node.path[0]))
        if isinstance(head, list):
            self.spend(len(head))  # reading a long list is real work
        if len(node.path) == 1:
            return head
        if head is None:
            return []
        if not isinstance(head, list):
            raise EvalError(f"{node.path[0]} is not a subform")
        column = node.path[1]
        return [from_input(row.get(column)) if isinstance(row, Mapping) else None for row in head]

    def unary(self, node: Unary) -> object:
        return UNARY[node.op](self.eval(node.operand))

    def binary(self, node: Binary) -> object:
        chain = node.spine()
        self.spend(len(chain) - 1)  # `eval` paid for `node` itself
        value = self.eval(chain[-1].left)
        for step in reversed(chain):
            value = BINARY[step.op](value, self.eval(step.right))
        return value

    def call(self, node: Call) -> object:
        fn = FUNCTIONS[node.name]
        if fn.call == "lazy":
            return fn.impl([partial(self.eval, arg) for arg in node.args])
        if fn.call == "clock":
            return fn.impl(self.today, self.now)
        return fn.impl(*[self.eval(arg) for arg in node.args])


_HANDLERS = {
    Number: _Run.literal,
    Text: _Run.literal,
    Boolean: _Run.literal,
    Ref: _Run.ref,
    Unary: _Run.unary,
    Binary: _Run.binary,
    Call: _Run.call,
}
