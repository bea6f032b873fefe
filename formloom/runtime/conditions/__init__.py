"""The one JSON condition language of Formloom, compiled to SQL and to Python predicates.

Filters in views and the API, flow branches, show/require rules, permission row filters,
automation conditions and dashboard filters all use it. Modules: `model` (the contract with
the storage layer), `values` (literals and references), `parse` (validation), `operators`
and `nodes` (semantics, SQL and Python side by side), `compiler` (the entry points).
"""
from formloom.runtime.conditions.compiler import to_python, to_sql, validate
from formloom.runtime.conditions.model import (
    DEFAULT_OPERATORS,
    ConditionError,
    Env,
    Operand,
    Resolver,
)
from formloom.runtime.conditions.parse import fields_used, record_fields_used

__all__ = [
    "DEFAULT_OPERATORS",
    "ConditionError",
    "Env",
    "Operand",
    "Resolver",
    "fields_used",
    "record_fields_used",
    "to_python",
    "to_sql",
    "validate",
]
