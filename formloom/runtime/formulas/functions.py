"""The whitelist of formula functions: one table of names, signatures and implementations.

A signature reads like `"number, number? -> number"`: parameter kinds, `?` for optional,
`...` for "one or more" (the last parameter repeats). Parameter kinds, checked by typecheck:

- number, text, boolean, date, any: one value (text accepts any value and converts it)
- unit: a text naming a unit; a literal is checked against the function's `units` at parse
- numbers, booleans, anything: one value or a subform column (a list)

A result is a kind, or `rule:<name>` when it depends on the arguments (see typecheck).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from formloom.runtime.formulas import datefns, logicfns, mathfns, textfns
from formloom.runtime.formulas.operators import power


@dataclass(frozen=True, slots=True)
class Function:
    """One whitelisted function."""

    name: str
    params: tuple[str, ...]
    result: str
    impl: Callable[..., object]
    min_args: int
    max_args: int | None  # None: no upper limit
    call: str = "eager"  # "eager" gets values, "lazy" gets thunks, "clock" gets (today, now)
    units: frozenset[str] = frozenset()
    pairs: bool = False  # arguments come in (condition, value) pairs

    def param(self, index: int) -> str:
        """The kind expected at argument `index`; the last parameter repeats."""
        return self.params[min(index, len(self.params) - 1)]


def _fn(name: str, signature: str, impl: Callable[..., object], **options) -> Function:
    """A Function from its signature string."""
    params_text, result = (part.strip() for part in signature.split("->"))
    params = [part.strip() for part in params_text.split(",") if part.strip()]
    variadic = bool(params) and params[-1].endswith("...")
    required = [p for p in params if not p.endswith("?")]
    return Function(
        name=name,
        params=tuple(p.rstrip("?.") for p in params),
        result=result,
        impl=impl,
        min_args=len(required),
        max_args=None if variadic else len(params),
        **options,
    )


_UNITS = {"units": datefns.UNITS}

FUNCTIONS: dict[str, Function] = {
    fn.name: fn
    for fn in (
        # logic
        _fn("IF", "boolean, any, any? -> rule:branches", logicfns.if_, call="lazy"),
        _fn("IFS", "boolean, any... -> rule:pairs", logicfns.ifs, call="lazy", pairs=True),
        _fn("SWITCH", "any, any, any... -> rule:switch", logicfns.switch, call="lazy"),
        _fn("AND", "booleans... -> boolean", logicfns.and_, call="lazy"),
        _fn("OR", "booleans... -> boolean", logicfns.or_, call="lazy"),
        _fn("NOT", "boolean -> boolean", logicfns.not_),
        _fn("ISBLANK", "anything -> boolean", logicfns.isblank),
        # math
        _fn("ROUND", "number, number? -> number", mathfns.round_),
        _fn("ROUNDUP", "number, number? -> number", mathfns.roundup),
        _fn("ROUNDDOWN", "number, number? -> number", mathfns.rounddown),
        _fn("ABS", "number -> number", mathfns.abs_),
        _fn("INT", "number -> number", mathfns.int_),
        _fn("MOD", "number, number -> number", mathfns.mod),
        _fn("POWER", "number, number -> number", power),
        _fn("SQRT", "number -> number", mathfns.sqrt),
        _fn("CEILING", "number, number? -> number", mathfns.ceiling),
        _fn("FLOOR", "number, number? -> number", mathfns.floor),
        # aggregates: over subform columns, single values, or both
        _fn("SUM", "numbers... -> number", mathfns.sum_),
        _fn("AVERAGE", "numbers... -> number", mathfns.average),
        _fn("MAX", "anything... -> rule:extreme", mathfns.max_),
        _fn("MIN", "anything... -> rule:extreme", mathfns.min_),
        _fn("COUNT", "anything... -> number", mathfns.count),
        _fn("COUNTA", "anything... -> number", mathfns.counta),
        # text
        _fn("CONCATENATE", "anything... -> text", textfns.concatenate),
        _fn("TEXT", "any, text -> text", textfns.text),
        _fn("LEN", "text -> number", textfns.len_),
        _fn("LEFT", "text, number? -> text", textfns.left),
        _fn("RIGHT", "text, number? -> text", textfns.right),
        _fn("MID", "text, number, number -> text", textfns.mid),
        _fn("UPPER", "text -> text", textfns.upper),
        _fn("LOWER", "text -> text", textfns.lower),
        _fn("TRIM", "text -> text", textfns.trim),
        _fn("SUBSTITUTE", "text, text, text, number? -> text", textfns.substitute),
        _fn("REPLACE", "text, number, number, text -> text", textfns.replace),
        _fn("FIND", "text, text, number? -> number", textfns.find),
        _fn("VALUE", "text -> number", textfns.value),
        _fn("CONTAINS", "anything, any -> boolean", textfns.contains),
        # dates
        _fn("TODAY", " -> date", datefns.today, call="clock"),
        _fn("NOW", " -> datetime", datefns.now, call="clock"),
        _fn("DATE", "number, number, number -> date", datefns.date_),
        _fn("YEAR", "date -> number", datefns.year),
        _fn("MONTH", "date -> number", datefns.month),
        _fn("DAY", "date -> number", datefns.day),
        _fn("DATEDIF", "date, date, unit -> number", datefns.datedif, **_UNITS),
        _fn("DAYS", "date, date -> number", datefns.days),
        _fn("DATEADD", "date, number, unit -> rule:same", datefns.dateadd, **_UNITS),
        _fn("WEEKNUM", "date, number? -> number", datefns.weeknum),
    )
}
