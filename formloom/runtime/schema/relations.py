"""Lookups and rollups at publish: what they read, what kind of value they give, and that no
chain of fields across forms depends on itself.

Runs on the raw definition before the forms are compiled, because a formula may use a
lookup whose kind is that of a formula in another form: `Kinds.of(form, field)` works out
any field's kind on demand (typechecking formulas as it goes) and annotates each lookup with
its source field (`_target`) and each rollup with its result kind (`_result`).
"""
from __future__ import annotations

import copy

from formloom.runtime import conditions, formulas
from formloom.runtime.definition import FORMULA_KIND
from formloom.runtime.fields import field_types, type_of
from formloom.runtime.fields.formula import RESULT
from formloom.runtime.fields.lookup import TARGET

SYSTEM_KINDS = {"$id": "number", "$created_by": "number", "$updated_by": "number", "$owner": "number",
                "$created_at": "datetime", "$updated_at": "datetime", "$flow_status": "text"}


class Kinds:
    """Formula kinds of fields across forms, and the problems found on the way."""

    def __init__(self, raw_forms: list, err):
        self.raw_forms = raw_forms
        self.forms = {f["key"]: f for f in raw_forms if isinstance(f, dict) and isinstance(f.get("key"), str)
                      and isinstance(f.get("fields"), list)}
        self.fields = {k: {x["key"]: x for x in f["fields"] if isinstance(x, dict) and isinstance(x.get("key"), str)}
                       for k, f in self.forms.items()}
        self.err = err
        self.known: dict[tuple[str, str], str | None] = {}
        self.stack: list[tuple[str, str]] = []
        self.edges: dict[tuple[str, str], set[tuple[str, str]]] = {}

    def ptr(self, form: str, key: str) -> str:
        i = next(i for i, f in enumerate(self.raw_forms) if isinstance(f, dict) and f.get("key") == form)
        j = next(j for j, f in enumerate(self.forms[form]["fields"]) if isinstance(f, dict) and f.get("key") == key)
        return f"/forms/{i}/fields/{j}"

    def of(self, form: str, key: str) -> str | None:
        """The formula kind ("number", "text", ...) of a field, or None when it cannot be known."""
        if key in SYSTEM_KINDS:
            return SYSTEM_KINDS[key]
        slot = (form, key)
        if slot in self.known:
            return self.known[slot]
        if slot in self.stack:
            return None  # a cycle: reported by `check_cycles`
        f = self.fields.get(form, {}).get(key)
        if f is None or f.get("type") not in field_types:
            return None
        self.stack.append(slot)
        try:
            kind = self._kind(form, f)
        finally:
            self.stack.pop()
        self.known[slot] = kind
        return kind

    def _kind(self, form: str, f: dict) -> str | None:
        ftype = field_types.get(f["type"])
        if ftype.has_expression:
            return self._formula(form, f)
        if ftype.copies_linked_value:
            return self._lookup(form, f)
        if ftype.aggregates_linking_records:
            return self._rollup(form, f)
        return FORMULA_KIND.get(ftype.result_kind(f), "text")

    def _formula(self, form: str, f: dict) -> str | None:
        if not isinstance(f.get("expr"), str):
            return None
        try:
            parsed = formulas.parse(f["expr"])
        except formulas.FormulaError:
            return None
        types = {}
        for ref in parsed.references:
            if len(ref) == 1:
                self.edges.setdefault((form, f["key"]), set()).add((form, ref[0]))
                kind = self.of(form, ref[0])
                if kind is None:
                    return None
                types[ref[0]] = kind
        for key, sub in self.fields.get(form, {}).items():  # subform columns, as the compiler reads them
            if type_of(sub).holds_rows and isinstance(sub.get("fields"), list):
                for col in sub["fields"]:
                    if isinstance(col, dict) and col.get("type") in field_types and not type_of(col).has_expression:
                        types[f"{key}.{col['key']}"] = "list:" + FORMULA_KIND.get(
                            field_types.get(col["type"]).result_kind(col), "text").removeprefix("list:")
        try:
            return formulas.typecheck(parsed, types)
        except (formulas.FormulaError, ValueError):
            return None

    def _lookup(self, form: str, f: dict) -> str | None:
        link = self.fields[form].get(f.get("link"))
        where = self.ptr(form, f["key"])
        if link is None or type_of(link).refers_to != "record":
            self.err(where + "/link", f'"{f.get("link")}" is not a link field of this form')
            return None
        if link.get("multiple"):
            self.err(where + "/link", f'"{link["key"]}" links to several records; a lookup needs a single link')
            return None
        target_form = link.get("form")
        source = self.fields.get(target_form, {}).get(f.get("field"))
        if source is None:
            self.err(where + "/field", f'"{f.get("field")}" is not a field of form "{target_form}"')
            return None
        if type_of(source).holds_rows or field_types.get(source["type"]).storage_for(source) != "column":
            self.err(where + "/field", f'"{source["key"]}" holds several values or rows; a lookup copies one value')
            return None
        self.edges.setdefault((form, f["key"]), set()).update({(form, link["key"]), (target_form, source["key"])})
        kind = self.of(target_form, source["key"])
        target = copy.deepcopy(source)
        if type_of(source).derived:
            if kind is None:
                return None
            # Annotated like the compiler annotates formulas, so the lookup stores that kind.
            target = {**target, RESULT: kind} if not type_of(source).copies_linked_value else self.fields[target_form][
                source["key"]].get(TARGET, target)
        f[TARGET] = target
        return kind

    def _rollup(self, form: str, f: dict) -> str | None:
        where = self.ptr(form, f["key"])
        other = f.get("form")
        if other not in self.fields:
            self.err(where + "/form", f'"{other}" is not a form of this app')
            return None
        link = self.fields[other].get(f.get("link"))
        if link is None or type_of(link).refers_to != "record" or link.get("form") != form:
            self.err(where + "/link", f'"{f.get("link")}" is not a link field of form "{other}" pointing at '
                                      f'form "{form}"')
            return None
        agg = f.get("agg")
        deps = {(other, link["key"])}
        if agg != "count" and f.get("field") in self.fields[other]:
            deps.add((other, f["field"]))
        if "where" in f:
            deps.update((other, k) for k in conditions.fields_used(f["where"]) if k in self.fields[other])
        self.edges.setdefault((form, f["key"]), set()).update(deps)  # before any kind: cycles must show
        kind = "number"
        if agg != "count":
            source = self.fields[other].get(f.get("field"))
            if source is None:
                self.err(where + "/field", f'"{f.get("field")}" is not a field of form "{other}"' if f.get("field")
                         else f'"{agg}" needs a "field" of form "{other}" to aggregate')
                return None
            source_kind = self.of(other, source["key"])
            if source_kind is None:
                return None  # a broken formula or a cycle: reported where it is
            wanted = ("number",) if agg in ("sum", "avg") else ("number", "date", "datetime")
            if source_kind not in wanted:
                self.err(where + "/field", f'"{source["key"]}" gives {source_kind} values; '
                                           f'{agg} needs {" or ".join(wanted)} values')
                return None
            kind = source_kind if agg in ("min", "max") else "number"
        f[RESULT] = kind
        return kind

    def run(self) -> None:
        """Annotate every lookup and rollup, then refuse cycles through them."""
        for fields in self.fields.values():
            for f in fields.values():
                if type_of(f).reads_related:  # only this pass may set what it annotates
                    f.pop(TARGET, None)
                    f.pop(RESULT, None)
        for form, fields in self.fields.items():
            for key, f in fields.items():
                if type_of(f).reads_related:
                    self.of(form, key)
        self.check_cycles()

    def check_cycles(self) -> None:
        relation = {(form, key) for form, fields in self.fields.items() for key, f in fields.items()
                    if type_of(f).reads_related}
        state: dict = {}
        reported: set = set()

        def visit(node, trail):
            if state.get(node) == 2:
                return
            if state.get(node) == 1:
                cycle = trail[trail.index(node):] + [node]
                if relation & set(cycle) and not reported & set(cycle):
                    reported.update(cycle)
                    first = next(n for n in cycle if n in relation)
                    self.err(self.ptr(*first), "fields depend on each other in a cycle: "
                                               + " -> ".join(f"{f}.{k}" for f, k in cycle))
                return
            state[node] = 1
            for dep in sorted(self.edges.get(node, ())):
                visit(dep, trail + [node])
            state[node] = 2

        for node in sorted(relation):
            visit(node, [])
