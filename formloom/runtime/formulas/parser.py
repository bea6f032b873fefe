"""Parse formula text into a typed syntax tree with lark (LALR), within size limits.

The lark parser is built once, on first use. Its transformer runs inside the LALR parser,
so nodes are built bottom-up without recursion; limits are then checked by an iterative walk
before anything recursive (typecheck, evaluate) ever sees the tree.
"""
from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from importlib import resources

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from formloom.runtime.formulas.compiler import Compiled, compile_node
from formloom.runtime.formulas.errors import FormulaError, FormulaLimitError
from formloom.runtime.formulas.functions import FUNCTIONS, Function
from formloom.runtime.formulas.nodes import Binary, Boolean, Call, Node, Number, Ref, Text, Unary
from formloom.runtime.formulas.values import MAX_INT_BITS

MAX_LENGTH = 4_000  # characters of formula text
MAX_NODES = 500  # syntax tree nodes
MAX_DEPTH = 50  # nesting of operations and function calls

_OPERATOR_SPELLINGS = {"==": "=", "!=": "<>"}
_VALUE_TOKENS = {"NUMBER", "STRING", "BOOLEAN", "NAME", "SYSTEM"}
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


@dataclass(frozen=True)
class Formula:
    """A parsed, size-checked formula."""

    expr: str
    root: Node
    references: frozenset[tuple[str, ...]]
    functions: frozenset[str]

    @cached_property
    def program(self) -> Compiled:
        """The formula compiled to closures, once; evaluate() runs it."""
        return compile_node(self.root)

    def __getstate__(self) -> dict:
        # Closures do not pickle; a copy compiles its own program on first use.
        return {k: v for k, v in self.__dict__.items() if k != "program"}


def parse(expr: str) -> Formula:
    """Parse `expr`; raise FormulaError pointing at the problem for anything wrong."""
    if not isinstance(expr, str):
        raise TypeError(f"a formula is text, not {type(expr).__name__}")
    return _parse(expr)


@lru_cache(maxsize=512)  # forms recompute the same few formulas on every save
def _parse(expr: str) -> Formula:
    if not expr.strip():
        raise FormulaError("The formula is empty")
    if len(expr) > MAX_LENGTH:
        raise FormulaLimitError(
            f"The formula is too long ({len(expr):,} characters; the limit is {MAX_LENGTH:,})"
        )
    try:
        root = _lark().parse(expr)
    except UnexpectedInput as exc:
        raise _syntax_error(expr, exc) from None
    except _BadLiteral as exc:
        raise FormulaError.at(expr, exc.token.start_pos, exc.message, token=exc.token.value) from None
    references, functions = _inspect(expr, root)
    return Formula(expr, root, references, functions)


@cache
def _lark() -> Lark:
    grammar = resources.files(__package__).joinpath("grammar.lark").read_text("utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", transformer=_Build())


class _BadLiteral(Exception):
    """Raised inside the parser, which does not know the source; `_parse` adds the position."""

    def __init__(self, message: str, token: Token):
        super().__init__(message)
        self.message = message
        self.token = token


class _Build(Transformer):
    """Turns each grammar reduction into a node; tokens carry their source positions."""

    def number(self, children: list[Token]) -> Number:
        (token,) = children
        return Number(_number_value(token), token.start_pos, token.end_pos)

    def string(self, children: list[Token]) -> Text:
        (token,) = children
        return Text(_unquote(token.value), token.start_pos, token.end_pos)

    def boolean(self, children: list[Token]) -> Boolean:
        (token,) = children
        return Boolean(token.value.upper() == "TRUE", token.start_pos, token.end_pos)

    def ref(self, children: list[Token]) -> Ref:
        return Ref(tuple(t.value for t in children), children[0].start_pos, children[-1].end_pos)

    def system(self, children: list[Token]) -> Ref:
        (token,) = children
        return Ref((token.value,), token.start_pos, token.end_pos)

    def call(self, children: list) -> Call:
        name, *args, close = children
        return Call(name.value.upper(), tuple(args), name.start_pos, close.end_pos)

    def group(self, children: list) -> Node:
        return children[0]  # parentheses only steer precedence

    def unary(self, children: list) -> Unary:
        sign, operand = children
        return Unary(sign.value, operand, sign.start_pos, operand.end)

    def binary(self, children: list) -> Binary:
        left, op, right = children
        spelled = _OPERATOR_SPELLINGS.get(op.value, op.value)
        return Binary(spelled, left, right, op.start_pos, left.pos, right.end)


def _number_value(token: Token) -> int | float:
    """The value of a number literal; one too large to hold is a FormulaError."""
    text = token.value
    value = int(text) if text.isdigit() else float(text)
    if (isinstance(value, int) and value.bit_length() > MAX_INT_BITS) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        raise _BadLiteral(f'The number "{text}" is too large', token)
    return value


def _unquote(literal: str) -> str:
    """The text inside quotes: doubled quotes and backslash escapes are undone."""
    quote, body = literal[0], literal[1:-1]

    def unescape(match: re.Match) -> str:
        if match.group(1) is None:
            return quote
        return _ESCAPES.get(match.group(1), match.group(0))

    return re.sub(r"\\(.)|" + quote * 2, unescape, body, flags=re.DOTALL)


def _syntax_error(expr: str, exc: UnexpectedInput) -> FormulaError:
    """A lark parse error told in plain words, pointing at the offending text."""
    if isinstance(exc, UnexpectedCharacters):
        char = expr[exc.pos_in_stream]
        if char in "\"'":
            return FormulaError.at(expr, exc.pos_in_stream, "Text has no closing quote", token=char)
        return FormulaError.at(expr, exc.pos_in_stream, f'Unexpected "{char}"', token=char)
    token = getattr(exc, "token", None)
    if isinstance(exc, UnexpectedToken) and token is not None and token.type != "$END":
        # A value right after a complete value: most likely a forgotten operator or comma.
        hint = "; is an operator or comma missing?" if token.type in _VALUE_TOKENS else ""
        return FormulaError.at(
            expr, token.start_pos, f'Unexpected "{token.value}"', token=token.value, hint=hint
        )
    end = len(expr.rstrip())
    expected = getattr(exc, "expected", None) or set()
    if "CLOSE" in expected:
        return FormulaError.at(expr, end, 'Missing ")"', hint=" (end of the formula)")
    return FormulaError.at(expr, end, "The formula ends too early")


def _inspect(expr: str, root: Node) -> tuple[frozenset[tuple[str, ...]], frozenset[str]]:
    """Check size, depth and function calls; collect references and function names."""
    references: set[tuple[str, ...]] = set()
    functions: set[str] = set()
    stack: list[tuple[Node, int]] = [(root, 1)]
    count = 0
    while stack:  # iterative on purpose: the tree may be deeper than Python's recursion limit
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise FormulaLimitError(f"The formula is too big (more than {MAX_NODES} parts)")
        if depth > MAX_DEPTH:
            raise FormulaLimitError.at(
                expr, node.pos, f"The formula is nested too deeply (more than {MAX_DEPTH} levels)"
            )
        if isinstance(node, Ref):
            references.add(node.path)
        elif isinstance(node, Call):
            _check_call(expr, node)
            functions.add(node.name)
        if isinstance(node, Binary):
            # `a + b + c + ...` is a chain, not nesting: evaluator and typecheck walk the left
            # spine in a loop, so only the right operand is one level deeper.
            stack.extend([(node.right, depth + 1), (node.left, depth)])
        else:
            stack.extend((child, depth + 1) for child in reversed(node.children()))
    return frozenset(references), frozenset(functions)


def _check_call(expr: str, node: Call) -> None:
    """The function exists, gets an allowed number of arguments and known unit literals."""
    token = expr[node.pos : node.pos + len(node.name)]
    fn = FUNCTIONS.get(node.name)
    if fn is None:
        close = difflib.get_close_matches(node.name, FUNCTIONS, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise FormulaError.at(expr, node.pos, f'Unknown function "{token}"', token=token, hint=hint)
    count = len(node.args)
    too_few = count < fn.min_args or (fn.pairs and count % 2)
    if too_few or (fn.max_args is not None and count > fn.max_args):
        raise FormulaError.at(
            expr, node.pos, f"{fn.name} needs {_arity(fn)} but got {count}", token=token
        )
    for index, arg in enumerate(node.args):
        if fn.param(index) == "unit" and isinstance(arg, Text):
            if arg.value.strip().lower() not in fn.units:
                *first, last = (f'"{unit}"' for unit in sorted(fn.units))
                choices = f"{', '.join(first)} or {last}"
                raise FormulaError.at(
                    expr, arg.pos, f'{fn.name} unit must be {choices}, not "{arg.value}"',
                    token=expr[arg.pos : arg.end],
                )


def _arity(fn: Function) -> str:
    """How many arguments `fn` takes, in words."""
    if fn.pairs:
        return "pairs of condition and value"
    if fn.max_args is None:
        return f"at least {fn.min_args} value{'s' * (fn.min_args != 1)}"
    if fn.min_args == fn.max_args:
        return {0: "no values", 1: "1 value"}.get(fn.min_args, f"{fn.min_args} values")
    joiner = " or " if fn.max_args == fn.min_args + 1 else " to "
    return f"{fn.min_args}{joiner}{fn.max_args} values"
