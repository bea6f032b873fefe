"""The typed syntax tree of a formula: one small frozen dataclass per construct.

Every node keeps `pos`/`end`, the slice of the source it came from, so errors can point at it.
"""
from __future__ import annotations

from dataclasses import dataclass


class _Leaf:
    __slots__ = ()

    def children(self) -> tuple[Node, ...]:
        """Leaves have no sub-expressions."""
        return ()


@dataclass(frozen=True, slots=True)
class Number(_Leaf):
    """A number literal: `12`, `1.5`, `1e3`."""

    value: int | float
    pos: int
    end: int


@dataclass(frozen=True, slots=True)
class Text(_Leaf):
    """A text literal, quotes and escapes already removed."""

    value: str
    pos: int
    end: int


@dataclass(frozen=True, slots=True)
class Boolean(_Leaf):
    """TRUE or FALSE."""

    value: bool
    pos: int
    end: int


@dataclass(frozen=True, slots=True)
class Ref(_Leaf):
    """A field reference: ("amount",), ("items", "subtotal") or ("$id",)."""

    path: tuple[str, ...]
    pos: int
    end: int

    @property
    def name(self) -> str:
        """The reference as written, parts joined by dots."""
        return ".".join(self.path)


@dataclass(frozen=True, slots=True)
class Unary:
    """A leading sign: `-x` or `+x`."""

    op: str
    operand: Node
    pos: int
    end: int

    def children(self) -> tuple[Node, ...]:
        """The signed operand."""
        return (self.operand,)


@dataclass(frozen=True, slots=True)
class Binary:
    """An infix operation; `op` is normalised (`==` becomes `=`, `!=` becomes `<>`)."""

    op: str
    left: Node
    right: Node
    op_pos: int
    pos: int
    end: int

    def children(self) -> tuple[Node, ...]:
        """Both operands, left first."""
        return (self.left, self.right)

    def spine(self) -> list[Binary]:
        """This node and the operations down its left side, innermost (evaluated first) last."""
        # `a + b + c + ...` nests to the left; callers loop over this list rather than
        # recurse, so long chains of operators stay within Python's recursion limit.
        chain: list[Binary] = []
        node: Node = self
        while isinstance(node, Binary):
            chain.append(node)
            node = node.left
        return chain


@dataclass(frozen=True, slots=True)
class Call:
    """A function call; `name` is upper-cased."""

    name: str
    args: tuple[Node, ...]
    pos: int
    end: int

    def children(self) -> tuple[Node, ...]:
        """The arguments in order."""
        return self.args


Node = Number | Text | Boolean | Ref | Unary | Binary | Call
