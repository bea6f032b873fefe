"""Formloom's formula language: Excel-like formulas computed on save into "formula" fields.

    formula = parse('ROUND(qty * price * (1 - discount / 100), 2)')
    typecheck(formula, {"qty": "number", "price": "number", "discount": "number"})  # "number"
    evaluate(formula, {"qty": 3, "price": 9.99, "discount": 10})  # 26.97

Values: number is int/float, text str, boolean bool, date datetime.date, datetime a naive UTC
datetime.datetime, a subform column (`items.subtotal`) a list, blank None. System values are
read as `$id`, `$created_at`, ... from the same `values` mapping.

Syntax: + - * / ^ & = (or ==) <> (or !=) < <= > >=, parentheses, numbers (12, 1.5, 1e3), text in
double or single quotes ("" or \\" inside), TRUE/FALSE, FUNCTION(args) with names in any case,
fields `amount`, subform columns `items.subtotal`, system values `$id`; a leading "=" is allowed.

Semantics, following Excel where sensible:

- Blank (None or "") is 0 in arithmetic, "" in text, FALSE in logic; aggregates skip blanks;
  COUNT counts numbers (and dates), COUNTA non-blank values. Date functions given a blank date
  give blank, not Excel's year-1900 dates.
- Precedence, loosest first: comparisons, &, + -, * /, ^, leading sign. As in Excel, a leading
  minus binds tighter than ^ (-2^2 = 4) and ^ groups left to right (2^3^2 = 64).
- ROUND/ROUNDUP/ROUNDDOWN/CEILING/FLOOR/MOD/TEXT compute on decimals of the number as shown,
  so ROUND(2.5, 0) = 3, ROUND(-2.5, 0) = -3 and ROUND(1.005, 2) = 1.01 (half away from zero).
- Numbers compare to 15 significant digits (0.1 + 0.2 = 0.3 is TRUE); results come back with
  15 significant digits, whole numbers as int. Text compares ignoring case, as in Excel.
- IF without an "otherwise" gives blank; IF, IFS, SWITCH, AND and OR only compute what they
  need, so IF(qty = 0, 0, total / qty) is safe. typecheck() insists every case of IF, IFS and
  SWITCH gives the same kind, so a formula field always stores one kind of value.
- Dates: date + n and date - n shift by days, date - date counts days; DATEDIF "m" counts
  whole months (Jan 31 to Feb 29 is 0); DATEADD clamps to the month's end (Jan 31 + 1 m is
  Feb 29). TODAY()/NOW() come from evaluate's `today`/`now`, so callers pass their time zone.
- Run-time errors (division by zero, VALUE of non-numeric text, SQRT of a negative number,
  an impossible date) make the whole formula evaluate to None: a blank field instead of
  Excel's #DIV/0!. Exceeding a limit (steps, text size, formula size) raises FormulaLimitError.
- Limits: 4,000 characters, 500 syntax nodes, nesting 50 deep, 100,000 evaluation steps (a
  subform column costs one step per row).
"""
from formloom.runtime.formulas.errors import FormulaError, FormulaLimitError
from formloom.runtime.formulas.evaluator import evaluate
from formloom.runtime.formulas.functions import FUNCTIONS, Function
from formloom.runtime.formulas.parser import Formula, parse
from formloom.runtime.formulas.typecheck import KINDS, typecheck

__all__ = [
    "FUNCTIONS",
    "KINDS",
    "Formula",
    "FormulaError",
    "FormulaLimitError",
    "Function",
    "evaluate",
    "parse",
    "typecheck",
]
