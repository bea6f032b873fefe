"""Compile a condition to SQL or to a Python predicate, via one shared lowering."""
from __future__ import annotations

from typing import Any

from sqlalchemy.sql.elements import ColumnElement

from formloom.runtime.conditions.model import ConditionError, Env, Resolver, item_kind
from formloom.runtime.conditions.nodes import TRUE, AllOf, AnyOf, Node, Predicate, negate
from formloom.runtime.conditions.operators import OPERATORS
from formloom.runtime.conditions.parse import Group, Leaf, parse
from formloom.runtime.conditions.values import coerce

_GROUPS = {
    "all": AllOf,
    "any": AnyOf,
    "not": lambda children: negate(children[0]),
}


def validate(
    condition: Any, resolver: Resolver, *, record_resolver: Resolver | None = None
) -> list[tuple[str, str]]:
    """Every problem in a condition as (json_pointer, message); pointers are root-relative.

    record_resolver describes the fields behind {"var": "record.<key>"} when the current
    record belongs to another form; it defaults to resolver. None is a valid condition.
    """
    return parse(condition, resolver, record_resolver)[1]


def to_sql(
    condition: Any, resolver: Resolver, env: Env, *, record_resolver: Resolver | None = None
) -> ColumnElement[bool]:
    """A dialect-neutral SQLAlchemy boolean expression; raises ConditionError when invalid."""
    return _lower_checked(condition, resolver, env, record_resolver).sql()


def to_python(
    condition: Any, resolver: Resolver, env: Env, *, record_resolver: Resolver | None = None
) -> Predicate:
    """A predicate over one record dict that agrees with to_sql; raises ConditionError."""
    return _lower_checked(condition, resolver, env, record_resolver).py()


def _lower_checked(
    condition: Any, resolver: Resolver, env: Env, record_resolver: Resolver | None
) -> Node:
    tree, errors = parse(condition, resolver, record_resolver)
    if errors:
        raise ConditionError(errors)
    return TRUE if tree is None else _lower(tree, env)


def _lower(tree: Leaf | Group, env: Env) -> Node:
    if isinstance(tree, Group):
        return _GROUPS[tree.kind](tuple(_lower(child, env) for child in tree.children))
    return OPERATORS[tree.op].lower(tree.operand, _bind(tree, env))


def _bind(leaf: Leaf, env: Env) -> Any:
    # References resolve here, once, so both compilations see identical concrete values.
    kind = item_kind(leaf.operand.kind)
    arity = OPERATORS[leaf.op].arity
    if arity == "none":
        return None
    if arity == "pair":
        return tuple(coerce(kind, term.resolve(env), env.tz) for term in leaf.value)
    resolved = leaf.value.resolve(env)
    if arity == "one":
        return coerce(kind, resolved, env.tz)
    items = resolved if isinstance(resolved, list | tuple) else []
    return tuple(coerce(kind, item, env.tz) for item in items)
