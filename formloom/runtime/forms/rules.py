"""Show/require rules on a page: the state to render first and the data the script reads.

The server decides (`records.values.rule_state` runs again on save); the page only keeps
up while someone types. The script evaluates the simple conditions (eq, ne, in, ...
against literal values); for anything else it shows the field, which is never wrong.
"""
from __future__ import annotations

from formloom.runtime import conditions
from formloom.runtime.definition import FormDef
from formloom.runtime.records.values import rule_state


def client_rules(form: FormDef) -> dict:
    """{field key: {"show": [conditions], "require": [conditions]}} for the page script."""
    out: dict = {}
    for rule in form.rules:
        for key in rule.get("show", []):
            out.setdefault(key, {"show": [], "require": []})["show"].append(rule["when"])
        for key in rule.get("require", []):
            out.setdefault(key, {"show": [], "require": []})["require"].append(rule["when"])
    return out


def hidden_fields(form: FormDef, values: dict, env: conditions.Env) -> set[str]:
    """Fields the rules hide for `values`; on a value the rules cannot read, hide nothing."""
    if not form.rules:
        return set()
    try:
        hidden, _required = rule_state(form, values, env)
    except (TypeError, ValueError, KeyError):
        return set()
    return hidden
