"""Only the field-type registries know type names (docs/architecture.md, "Field types").

Code outside them asks a type what it can do (`field_types.get(t).holds_rows`,
`field_widgets.get(t).cell(...)`) instead of comparing `f["type"]` with a name. This test
reads every module of `formloom/` and lists, file:line, each comparison of a type with the
name of a registered field type (`f["type"] == "subform"`, `t in ("user", "link")`), and each
set, tuple, list or dict keyed by such names (`REF_TYPES = {"user", "department", "link"}`)
outside the registry modules.
"""
from __future__ import annotations

import ast
from pathlib import Path

from formloom.runtime.fields import field_types

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "formloom"

# The registries: the field types themselves, and how the pages show and edit them.
ALLOWED = ("formloom/runtime/fields/", "formloom/runtime/web/fields/")

NAMES = frozenset(field_types.types())
# Value kinds (the condition and formula languages) share some spellings with type names
# ("number", "date", "text"): a set of these alone names kinds, not types.
KINDS = frozenset(
    k for t in field_types for k in (t.kind, t.result_kind({"key": "x", "type": t.type}))
) | {"text", "number", "date", "datetime", "boolean"}


def _names_a_type(node: ast.AST, aliases: dict[str, int] | None = None) -> bool:
    """`f["type"]`, `f.get("type")`, `f.type`, `getattr(f, "type")`, a variable like `ftype`,
    or one of `aliases` after the line that assigns it a type (`kind = f["type"]`)."""
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Constant) and node.slice.value == "type"
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "get":
            return node.args[0].value == "type"
        if isinstance(func, ast.Name) and func.id == "getattr" and len(node.args) >= 2:
            arg = node.args[1]
            return isinstance(arg, ast.Constant) and arg.value == "type"
        return False
    if isinstance(node, ast.Attribute):
        return node.attr == "type" or node.attr.endswith("_type")
    if isinstance(node, ast.Name):
        if node.lineno >= (aliases or {}).get(node.id, node.lineno + 1):
            return True
        return node.id in {"t", "typ", "ftype", "type_", "kind_type"} or node.id.endswith("_type")
    return False


def _strings(node: ast.AST) -> list[str] | None:
    """The string literals of a set, tuple, list or frozenset(...) literal; None if not one."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in (
        "frozenset", "set", "tuple"
    ) and len(node.args) == 1:
        node = node.args[0]
    if isinstance(node, (ast.Set, ast.Tuple, ast.List)):
        values = [e.value for e in node.elts if isinstance(e, ast.Constant)]
        if values and all(isinstance(v, str) for v in values) and len(values) == len(node.elts):
            return values
    return None


def _is_type_name_set(node: ast.AST) -> bool:
    """A collection of two or more type names, not all of them also value kinds."""
    values = _strings(node)
    return (
        values is not None and len(values) >= 2 and set(values) <= NAMES
        and not set(values) <= KINDS
    )


def _names_type(node: ast.AST) -> bool:
    """A type-name literal, or a collection holding one."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and node.value in NAMES
    values = _strings(node)
    return values is not None and bool(set(values) & NAMES)


def _aliases(scope: ast.AST) -> dict[str, int]:
    """Variables a function (or, at its top level, a module) assigns a type to, and where."""
    nodes = ast.walk(scope) if not isinstance(scope, ast.Module) else iter(scope.body)
    found: dict[str, int] = {}
    for node in nodes:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and _names_a_type(node.value)):
            found[node.targets[0].id] = min(node.lineno, found.get(node.targets[0].id, node.lineno))
    return found


def _compares(node: ast.Compare, aliases: dict[str, int]) -> bool:
    sides = [node.left, *node.comparators]
    for op, left, right in zip(node.ops, sides, sides[1:], strict=False):
        if not isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)):
            continue
        # `t in ("user", "link")`, `"link" == t`; not `"user" in t` (a key of a dict).
        if (_names_a_type(left, aliases) and _names_type(right)) or (
            isinstance(op, (ast.Eq, ast.NotEq)) and _names_a_type(right, aliases) and _names_type(left)
        ):
            return True
    return False


def switches(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) for each comparison with a type name and each set of type names."""
    found: dict[int, str] = {}
    scopes = [tree, *(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))]
    for scope in scopes:
        aliases = _aliases(scope)
        for node in ast.walk(scope):
            if isinstance(node, ast.Compare) and _compares(node, aliases):
                found.setdefault(node.lineno, "compares a type with a type name")
    for node in ast.walk(tree):
        if _is_type_name_set(node):
            found.setdefault(node.lineno, "lists type names")
        elif isinstance(node, ast.Dict) and _is_type_name_set(ast.Tuple(elts=node.keys)):
            found.setdefault(node.lineno, "maps type names")
    return sorted(found.items())


def occurrences() -> list[str]:
    result = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(ALLOWED):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        result += [f"{rel}:{line}: {what}" for line, what in switches(tree)]
    return result


def test_the_scanner_sees_the_switches_it_forbids():
    code = '''
REF_TYPES = {"user", "department", "link"}
KINDS = ("number", "date")
def f(field, t):
    if field["type"] == "subform": pass
    if field.get("type") in ("user", "link"): pass
    if t != "lookup": pass
    if "user" in t: pass
    if field.type == "approval": pass
    if field["type"] == kind: pass
ANNOTATIONS = {"lookup": {"_target"}, "rollup": {"_result"}}
def g(field, kind):
    if kind == "number": pass
    kind = field["type"]
    if kind == "link": pass
'''
    assert [line for line, _ in switches(ast.parse(code))] == [2, 5, 6, 7, 11, 15]


def test_only_the_registries_name_field_types():
    found = occurrences()
    assert not found, (
        "Ask the field type what it can do (a capability on FieldType, or the web-side "
        "widget registry) instead of naming types here:\n" + "\n".join(found)
    )
