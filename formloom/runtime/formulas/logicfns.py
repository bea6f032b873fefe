"""Logic functions: IF, IFS, SWITCH, AND, OR, NOT, ISBLANK.

IF, IFS, SWITCH, AND and OR receive their arguments as thunks and compute only what they
need, so `IF(qty = 0, 0, total / qty)` never divides by zero.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from formloom.runtime.formulas.errors import EvalError
from formloom.runtime.formulas.operators import equal
from formloom.runtime.formulas.values import is_blank, to_bool

Thunk = Callable[[], object]


def if_(args: Sequence[Thunk]) -> object:
    """IF(condition, then, [otherwise]): a missing `otherwise` gives blank."""
    if to_bool(args[0]()):
        return args[1]()
    return args[2]() if len(args) > 2 else None


def ifs(args: Sequence[Thunk]) -> object:
    """IFS(cond1, value1, cond2, value2, ...): the first true condition's value, else blank."""
    for index in range(0, len(args), 2):
        if to_bool(args[index]()):
            return args[index + 1]()
    return None


def switch(args: Sequence[Thunk]) -> object:
    """SWITCH(value, case1, result1, ..., [default]): the result of the first equal case."""
    subject = args[0]()
    pairs = len(args) - 1
    for index in range(1, pairs - pairs % 2, 2):
        if equal(subject, args[index]()):
            return args[index + 1]()
    return args[-1]() if pairs % 2 else None


def _conditions(args: Sequence[Thunk]):
    """Each condition in turn; a list contributes its non-blank items."""
    for arg in args:
        value = arg()
        if isinstance(value, list):
            yield from (to_bool(item) for item in value if not is_blank(item))
        else:
            yield to_bool(value)


def and_(args: Sequence[Thunk]) -> bool:
    """AND(...): TRUE when every condition is; stops at the first FALSE."""
    return all(_conditions(args))


def or_(args: Sequence[Thunk]) -> bool:
    """OR(...): TRUE when any condition is; stops at the first TRUE."""
    return any(_conditions(args))


def not_(value: object) -> bool:
    """NOT(condition)."""
    if isinstance(value, list):
        raise EvalError("NOT needs a single value")
    return not to_bool(value)


def isblank(value: object) -> bool:
    """ISBLANK(value): TRUE for an empty field ("" counts as empty) or a list of empties."""
    if isinstance(value, list):
        return all(is_blank(item) for item in value)
    return is_blank(value)
