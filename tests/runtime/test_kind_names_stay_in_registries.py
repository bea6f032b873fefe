"""Only the flow-step, trigger and action registries know their kinds' names
(docs/architecture.md, "Flows and automations").

Code outside them asks a kind what it does (`flow_node_types.get(step["type"]).decides`,
`trigger_types.get(auto.on).runs_by_hand(...)`, `action_types.get(kind).calls_out`) instead of
comparing a step's `type` or a trigger's `on` with a name. This test reads every module of
`formloom/` and lists, file:line, each such comparison and each collection of two or more
kind names outside the registry packages.
"""
from __future__ import annotations

import ast
from pathlib import Path

from formloom.runtime.automations.model import action_types, trigger_types
from formloom.runtime.flows.model import flow_node_types

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "formloom"

ALLOWED = (
    "formloom/runtime/flows/nodes/",
    "formloom/runtime/automations/triggers/",
    "formloom/runtime/automations/actions/",
)
KEYS = ("type", "on")  # a step's and an action's kind is its "type", a trigger's its "on"


def _names() -> frozenset[str]:
    import formloom.runtime.automations  # noqa: F401 - registers the triggers and actions
    import formloom.runtime.flows.nodes  # noqa: F401 - registers the step kinds

    return frozenset([*flow_node_types.types(), *trigger_types.types(), *action_types.types()])


def _names_a_kind(node: ast.AST, aliases: set[str]) -> bool:
    """`x["type"]`, `x.get("on")`, `x.type`, `x.on`, or a variable assigned one of these."""
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Constant) and node.slice.value in KEYS
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
        return bool(node.args) and isinstance(node.args[0], ast.Constant) and node.args[0].value in KEYS
    if isinstance(node, ast.Attribute):
        return node.attr in KEYS
    return isinstance(node, ast.Name) and node.id in aliases


def _strings(node: ast.AST) -> list | None:
    if isinstance(node, (ast.Set, ast.Tuple, ast.List)):
        return [e.value if isinstance(e, ast.Constant) else None for e in node.elts]
    return None


def switches(tree: ast.AST, names: frozenset[str]) -> list[tuple[int, str]]:
    found: dict[int, str] = {}
    scopes = [tree, *(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))]
    for scope in scopes:
        aliases = {n.targets[0].id for n in ast.walk(scope) if isinstance(n, ast.Assign) and len(n.targets) == 1
                   and isinstance(n.targets[0], ast.Name) and _names_a_kind(n.value, set())}
        for node in ast.walk(scope):
            if not isinstance(node, ast.Compare):
                continue
            sides = [node.left, *node.comparators]
            for op, left, right in zip(node.ops, sides, sides[1:], strict=False):
                if not isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)):
                    continue
                for subject, other in ((left, right), (right, left)):
                    literal = [other.value] if isinstance(other, ast.Constant) else (_strings(other) or [])
                    if _names_a_kind(subject, aliases) and set(literal) & names:
                        found.setdefault(node.lineno, "compares a kind with a kind name")
    for node in ast.walk(tree):
        values = _strings(node)
        if values and len(values) >= 2 and all(isinstance(v, str) for v in values) and set(values) <= names:
            found.setdefault(node.lineno, "lists kind names")
    return sorted(found.items())


def occurrences() -> list[str]:
    names = _names()
    result = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(ALLOWED):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        result += [f"{rel}:{line}: {what}" for line, what in switches(tree, names)]
    return result


def test_the_scanner_sees_the_switches_it_forbids():
    code = '''
STEP_TYPES = ("approval", "cc", "action")
def f(step, node, auto, result):
    if step["type"] == "branch": pass
    if node.type != "approval": pass
    if auto.on == "schedule": pass
    if step.get("type") in ("branch", "parallel"): pass
    kind = result.get("type")
    if kind == "webhook": pass
    if step["type"] == "subform": pass
    if "approval" in step: pass
'''
    assert [line for line, _ in switches(ast.parse(code), _names())] == [2, 4, 5, 6, 7, 9]


def test_only_the_registries_name_step_trigger_and_action_kinds():
    found = occurrences()
    assert not found, (
        "Ask the kind what it does (an attribute or hook on FlowNodeType, TriggerType or "
        "ActionType) instead of naming kinds here:\n" + "\n".join(found)
    )
