"""Validate an app definition (meta-schema, then meaning) and compile it.

Errors are `{pointer, message}`: the JSON pointer of the offending part and what is wrong
in plain words. A schema may carry `x-message`, said instead of jsonschema's wording.
"""
from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jsonschema import Draft202012Validator

from formloom.platform.inputs import pointer_token as escape
from formloom.runtime import conditions, formulas, grants
from formloom.runtime.definition import FORMULA_KIND, AppDef, FormDef
from formloom.runtime.exceptions import DefinitionError
from formloom.runtime.fields import FieldValueError, ValueContext, field_types, type_of
from formloom.runtime.fields.base import COMMON_KEYS
from formloom.runtime.fields.formula import RESULT
from formloom.runtime.schema import dependencies, linkage, relations
from formloom.runtime.schema.errors import schema_errors

# What a broken structure makes the semantic checks trip on, once the meta-schema has spoken.
# Parts a stored version may hold that a later check refuses: left out rather than fatal.
LENIENT = ("/views/", "/dashboards/")
STRUCTURE_ERRORS = (KeyError, TypeError, AttributeError, ValueError, IndexError, StopIteration)


@lru_cache(maxsize=1)
def meta_validator() -> Draft202012Validator:
    text = resources.files("formloom.runtime.schema").joinpath("app.schema.json").read_text("utf-8")
    return Draft202012Validator(json.loads(text))


def validate_definition(defn) -> list[dict]:
    """All the errors in `defn`; an empty list means it is valid."""
    try:
        compile_app(defn)
    except DefinitionError as exc:
        return exc.errors
    return []


def compile_app(defn, stored: bool = False) -> AppDef:
    """Validate and compile a definition. Raises DefinitionError listing every problem.

    `stored`: a version published before: a view or dashboard that this version of Formloom
    finds wrong is left out (it names what a later check refuses) rather than making the app unusable.
    """
    errors = schema_errors(meta_validator(), defn)
    if stored:
        errors = [e for e in errors if not e["pointer"].startswith(LENIENT)]
    compiler = _Compiler(copy.deepcopy(defn))
    app = None
    if not errors:
        app = compiler.run()
    else:
        try:  # say what else is wrong, as far as the structure allows
            compiler.run()
        except STRUCTURE_ERRORS:
            pass
    seen = {e["pointer"] for e in errors}
    errors += [e for e in compiler.errors if e["pointer"] not in seen
               and not (stored and e["pointer"].startswith(LENIENT))]
    if errors:
        raise DefinitionError("The app definition is not valid", errors)
    return app


class _Compiler:
    def __init__(self, defn: dict):
        self.defn = defn
        self.errors: list[dict] = []
        self.form_keys: list[str] = []

    def err(self, pointer: str, message: str) -> None:
        self.errors.append({"pointer": pointer, "message": message})

    def run(self) -> AppDef:
        self.form_keys = [f["key"] for f in self.defn["forms"] if _has_key(f)]
        relations.Kinds(self.defn["forms"], self.err).run()
        forms: dict[str, FormDef] = {}
        for i, raw in enumerate(self.defn["forms"]):
            ptr = f"/forms/{i}"
            if not _has_key(raw) or not isinstance(raw.get("fields"), list):
                continue  # the meta-schema has said what is wrong with it
            if raw["key"] in forms:
                self.err(ptr + "/key", f'form key "{raw["key"]}" is used twice')
                continue
            forms[raw["key"]] = self.form(raw, ptr)
        self.check_timezone(self.defn.get("timezone"))
        self.check_roles(self.defn.get("roles"))
        deps = dependencies.build(forms)
        return AppDef(key=self.defn["key"], name=self.defn["name"], forms=forms, raw=self.defn,
                      timezone=self.defn.get("timezone"), grants=self.grants(forms, deps),
                      automations=self.automations(forms), flows=self.flows(forms), dependencies=deps,
                      views=self.views(forms), dashboards=self.dashboards(forms))

    def check_roles(self, roles) -> None:
        seen: set[str] = set()
        for j, role in enumerate(roles if isinstance(roles, list) else []):
            key = role.get("key") if isinstance(role, dict) else None
            if isinstance(key, str) and key in seen:
                self.err(f"/roles/{j}/key", f'role "{key}" is listed twice')
            seen.add(key)

    def grants(self, forms: dict[str, FormDef], deps) -> dict[str, list[grants.Grant]]:
        """Each form's grants (hiding what is computed from their hidden fields too); a form
        no grant names gets the default grant for members."""
        by_form: dict[str, list[grants.Grant]] = {}
        for i, raw in enumerate(self.defn.get("permissions") or []):
            ptr = f"/permissions/{i}"
            if not isinstance(raw, dict) or not isinstance(raw.get("to"), dict):
                continue  # the meta-schema has said what is wrong with it
            before = len(self.errors)
            grants.check_grant(raw, ptr, forms, None, self.err, self.grant_rows, deps)
            if len(self.errors) == before:
                by_form.setdefault(raw["form"], []).append(grants.compile_grant(i, raw, deps))
        for key, form in forms.items():
            if key not in by_form:
                by_form[key] = [grants.default_grant(form)]
        return by_form

    def flows(self, forms: dict[str, FormDef]) -> dict:
        from formloom.runtime.flows.compile import compile_flows  # it reads this module

        return compile_flows(self.defn.get("flows"), forms, self.formula_types, self.err)

    def views(self, forms: dict[str, FormDef]) -> dict:
        from formloom.runtime.views.compile import compile_views  # it reads this module

        return compile_views(self.defn.get("views"), forms, self.err)

    def dashboards(self, forms: dict[str, FormDef]) -> dict:
        from formloom.runtime.dashboards.compile import compile_dashboards  # it reads this module

        return compile_dashboards(self.defn.get("dashboards"), forms, self.err)

    def automations(self, forms: dict[str, FormDef]) -> dict:
        from formloom.runtime.automations.compile import compile_automations  # it reads this module

        return compile_automations(self.defn.get("automations"), forms, self.formula_types, self.err)

    def grant_rows(self, rows: dict, form: FormDef, ptr: str) -> None:
        for pointer, message in conditions.validate(rows, operand_resolver(form)):
            self.err(ptr + pointer, message)

    def check_timezone(self, tz) -> None:
        if not isinstance(tz, str):
            return
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            self.err("/timezone", f'unknown time zone "{tz}"; use a name like Asia/Shanghai or UTC')

    def form(self, raw: dict, ptr: str, parent: str | None = None) -> FormDef:
        fields = self.fields(raw["fields"], ptr, in_subform=parent is not None)
        form = FormDef(key=raw["key"], name=raw.get("name") or raw.get("label") or raw["key"],
                       fields=fields, raw=raw, parent=parent, title_field=raw.get("title_field"),
                       owner_field=raw.get("owner_field"), members=raw.get("members", "all"),
                       rules=raw.get("rules", []))
        for key, f in fields.items():
            if type_of(f).holds_rows and isinstance(f.get("fields"), list):
                child_raw = {"key": key, "name": f.get("label") or key, "name_en": f.get("label_en") or "",
                             "fields": f["fields"]}
                form.children[key] = self.form(child_raw, self._fptr(form, ptr, key), parent=raw["key"])
        self.check_form_refs(form, ptr)
        self.formulas(form, ptr)
        self.rules(form, ptr)
        self.defaults(form, ptr)
        self.linkages(form, ptr)
        return form

    def linkages(self, form: FormDef, ptr: str) -> None:
        for key, f in form.fields.items():
            if "linkage" in f:
                for pointer, message in linkage.check(f, form, self.defn["forms"], operand_resolver):
                    self.err(self._fptr(form, ptr, key) + "/linkage" + pointer, message)

    def fields(self, items: list[dict], ptr: str, in_subform: bool) -> dict[str, dict]:
        fields: dict[str, dict] = {}
        for j, f in enumerate(items):
            fptr = f"{ptr}/fields/{j}"
            if not _has_key(f) or not isinstance(f.get("type"), str):
                continue  # the meta-schema has said what is wrong with it
            if f["key"] in fields:
                self.err(fptr + "/key", f'field key "{f["key"]}" is used twice in this form')
                continue
            if f["type"] not in field_types:
                self.err(fptr + "/type", f'unknown field type "{f["type"]}"; known types: {", ".join(field_types.types())}')
                continue
            self.field(f, fptr, in_subform)
            fields[f["key"]] = f
        return fields

    def field(self, f: dict, fptr: str, in_subform: bool) -> None:
        ftype = field_types.get(f["type"])
        if in_subform and not ftype.in_subform:
            self.err(fptr + "/type", f'a subform cannot have a field of type "{f["type"]}"')
        if in_subform and f["key"] == "id":
            self.err(fptr + "/key", 'the key "id" is kept for the row id of a subform')
        for flag, allowed in (("unique", ftype.can_be_unique), ("indexed", ftype.can_be_indexed)):
            if f.get(flag) and not allowed:
                self.err(f"{fptr}/{flag}", f'a {f["type"]} field cannot be {flag}')
        own = ftype.config_schema
        for key in sorted(set(f) - COMMON_KEYS - set(own.get("properties", {})) - ftype.annotations):
            self.err(f"{fptr}/{escape(key)}", f'unknown setting "{key}" for a {f["type"]} field')
        sub = {k: v for k, v in f.items() if k not in COMMON_KEYS}
        config_errors = schema_errors(config_validator(f["type"]), sub, fptr)
        self.errors.extend(config_errors)
        if config_errors:
            return
        for pointer, message in ftype.check_config(f):
            self.err(fptr + pointer, message)
        if type_of(f).refers_to == "record" and f["form"] not in self.form_keys:
            self.err(fptr + "/form", f'links to form "{f["form"]}", which this app does not have')

    def check_form_refs(self, form: FormDef, ptr: str) -> None:
        if form.title_field:
            f = form.fields.get(form.title_field)
            if f is None:
                self.err(ptr + "/title_field", f'title field "{form.title_field}" is not a field of this form')
            elif field_types.get(f["type"]).storage_for(f) != "column":
                self.err(ptr + "/title_field", f'title field "{form.title_field}" must hold one value, '
                                               f'not a {f["type"]} field with several')
        if form.owner_field:
            f = form.fields.get(form.owner_field)
            if f is None or type_of(f).refers_to != "user" or f.get("multiple"):
                self.err(ptr + "/owner_field", f'owner field "{form.owner_field}" must be a single user field of this form')

    def formula_types(self, form: FormDef) -> dict[str, str]:
        # A record's system values ($created_at, $owner, ...) are there for formulas too.
        types = {} if form.parent else {k: FORMULA_KIND[kind] for k, kind in SYSTEM_OPERANDS.items()}
        for key, f in form.fields.items():
            ftype = field_types.get(f["type"])
            if type_of(f).has_expression and RESULT not in f:
                continue
            if type_of(f).holds_rows and key in form.children:
                for ck, cf in form.children[key].fields.items():
                    if type_of(cf).has_expression and RESULT not in cf:
                        continue
                    kind = FORMULA_KIND.get(field_types.get(cf["type"]).result_kind(cf), "text")
                    types[f"{key}.{ck}"] = "list:" + kind.removeprefix("list:")
                continue
            types[key] = FORMULA_KIND.get(ftype.result_kind(f), "text")
        return types

    def formulas(self, form: FormDef, ptr: str) -> None:
        parsed, failed = {}, self._failed_child_formulas(form)
        for key, f in form.fields.items():
            if not type_of(f).has_expression or not isinstance(f.get("expr"), str):
                continue
            try:
                parsed[key] = formulas.parse(f["expr"])
            except formulas.FormulaError as exc:
                self.err(self._fptr(form, ptr, key) + "/expr", str(exc))
                failed.add(key)
        order, cyclic = self._formula_order(form, parsed, ptr)
        failed |= cyclic
        for key in order:
            if key in failed:
                continue
            if any(".".join(r) in failed or r[0] in failed for r in parsed[key].references):
                failed.add(key)  # its input is wrong, and that is reported already
                continue
            try:
                kind = formulas.typecheck(parsed[key], self.formula_types(form))
            except formulas.FormulaError as exc:
                self.err(self._fptr(form, ptr, key) + "/expr", str(exc))
                failed.add(key)
                continue
            form.fields[key][RESULT] = kind
            form.formulas.append((key, parsed[key]))

    @staticmethod
    def _failed_child_formulas(form: FormDef) -> set[str]:
        """`items.subtotal` for each subform formula that did not compile."""
        return {f"{key}.{ck}" for key, child in form.children.items()
                for ck, cf in child.fields.items() if type_of(cf).has_expression and RESULT not in cf}

    def _formula_order(self, form: FormDef, parsed: dict, ptr: str) -> tuple[list[str], set[str]]:
        """Formulas in dependency order, and those in a cycle (reported naming every field)."""
        deps = {k: {r[0] for r in p.references if r[0] in parsed and len(r) == 1} for k, p in parsed.items()}
        order: list[str] = []
        cyclic: set[str] = set()
        state: dict[str, int] = {}

        def visit(key: str, trail: list[str]) -> None:
            if state.get(key) == 2:
                return
            if state.get(key) == 1:
                cycle = trail[trail.index(key):] + [key]
                if not cyclic.intersection(cycle):
                    self.err(self._fptr(form, ptr, key) + "/expr",
                             "formulas depend on each other in a cycle: " + " -> ".join(cycle))
                cyclic.update(cycle)
                return
            state[key] = 1
            for dep in sorted(deps[key]):
                visit(dep, trail + [key])
            state[key] = 2
            order.append(key)

        for key in parsed:
            visit(key, [])
        return order, cyclic

    def rules(self, form: FormDef, ptr: str) -> None:
        resolver = operand_resolver(form)
        for i, rule in enumerate(form.rules):
            rptr = f"{ptr}/rules/{i}"
            if not isinstance(rule, dict) or "when" not in rule:
                continue  # the meta-schema has said what is wrong with it
            for pointer, message in conditions.validate(rule["when"], resolver):
                self.err(rptr + "/when" + pointer, message)
            for verb in ("show", "require"):
                for j, key in enumerate(rule.get(verb, [])):
                    if key not in form.fields:
                        self.err(f"{rptr}/{verb}/{j}", f'"{key}" is not a field of this form')

    def defaults(self, form: FormDef, ptr: str) -> None:
        ctx = ValueContext()
        for key, f in form.fields.items():
            if "default" not in f:
                continue
            where = self._fptr(form, ptr, key) + "/default"
            ftype = field_types.get(f["type"])
            if ftype.computed:
                self.err(where, f"a {f['type']} field is filled by the system and has no default")
            elif f["default"] == "$me":
                if type_of(f).refers_to != "user":
                    self.err(where, '"$me" (the person filling the form) is a default for user fields only')
            else:
                try:
                    ftype.to_python(f, f["default"], ctx)
                except FieldValueError as exc:
                    self.err(where, f"default value {exc}")

    def _fptr(self, form: FormDef, ptr: str, key: str) -> str:
        index = next(j for j, x in enumerate(form.raw["fields"]) if _has_key(x) and x["key"] == key)
        return f"{ptr}/fields/{index}"


def _has_key(part) -> bool:
    return isinstance(part, dict) and isinstance(part.get("key"), str)


@lru_cache(maxsize=64)
def config_validator(type_name: str) -> Draft202012Validator:
    """The validator of a field type's own settings (formats checked: dates are dates)."""
    schema = field_types.get(type_name).config_schema
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


SYSTEM_OPERANDS = {
    "$id": "ref", "$created_by": "ref", "$updated_by": "ref", "$owner": "ref",
    "$created_at": "datetime", "$updated_at": "datetime", "$flow_status": "text",
}


def operand_resolver(form: FormDef, columns=None):
    """A condition resolver over the form's fields and system values.

    `columns`, when given, maps keys to (column, junction, record_id) for SQL compilation.
    """

    def resolve(key: str):
        if key in SYSTEM_OPERANDS:
            kind = SYSTEM_OPERANDS[key]
        elif key in form.fields:
            f = form.fields[key]
            ftype = field_types.get(f["type"])
            kind = ftype.result_kind(f)
            if kind == "rows":
                raise KeyError(key)
        else:
            raise KeyError(key)
        column, junction, record_id = (columns(key) if columns else (None, None, None))
        ops = None if key in SYSTEM_OPERANDS else field_types.get(form.fields[key]["type"]).operators
        return conditions.Operand(key=key, kind=kind, column=column, junction=junction,
                                  record_id=record_id, operators=ops)

    return resolve
