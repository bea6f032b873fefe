"""Data linkage at publish: a field filled from another form's record that a condition on
this form's values picks (`"linkage": {"form", "where", "field", "overwrite"}`).

A linkage may sit on a top-level field or on a subform column (then `record.` in the
condition means the row). Checked here: the other form and its field exist, the field gives
one value of the kind this field holds, the condition is valid, and the field is one a
person could type (not computed, not a subform). `"field": "$id"` fills a link field with the
matching record itself.
"""
from __future__ import annotations

import copy

from formloom.runtime import conditions
from formloom.runtime.definition import FORMULA_KIND, FormDef
from formloom.runtime.fields import field_types, type_of
from formloom.runtime.fields.formula import RESULT
from formloom.runtime.schema import relations

SETTINGS = ("form", "where", "field", "overwrite")
RECORD_ID = "$id"  # as `field`: the id of the matching record (a link field picks its record by a condition)


def check(f: dict, form: FormDef, raw_forms: list, resolver_of) -> list[tuple[str, str]]:
    """Problems of field `f`'s linkage as (pointer within "/linkage", message).

    `resolver_of(form_def)` is the condition resolver of a form (schema.validate's).
    """
    spec = f["linkage"]
    shape = _shape(spec)
    if shape:
        return shape
    ftype = field_types.get(f["type"])
    if ftype.computed:
        return [("", f"a {f['type']} field is filled by the system and cannot take a linked value")]
    if type_of(f).holds_rows:
        return [("", "a subform holds rows; linkage fills a field with one value (put it on a column)")]
    if ftype.storage_for(f) != "column":
        return [("", f'a {f["type"]} field with several values cannot take a linked value; linkage copies one value')]
    forms = {x["key"]: x for x in raw_forms if isinstance(x, dict) and isinstance(x.get("key"), str)
             and isinstance(x.get("fields"), list)}
    other = forms.get(spec["form"])
    if other is None:
        return [("/form", f'form "{spec["form"]}" is not a form of this app')]
    fields = {x["key"]: x for x in other["fields"] if isinstance(x, dict) and isinstance(x.get("key"), str)}
    kinds = relations.Kinds(raw_forms, lambda *_a: None)
    if spec["field"] == RECORD_ID:  # the matching record itself, for a link to that form
        errors = [] if type_of(f).refers_to == "record" and f.get("form") == spec["form"] else [
            ("/field", f'"$id" gives a record of form "{spec["form"]}"; only a link to that form can hold it')]
        return errors + _condition(spec["where"], form, other["key"], fields, kinds, resolver_of)
    source = fields.get(spec["field"])
    if source is None or source.get("type") not in field_types:
        return [("/field", f'"{spec["field"]}" is not a field of form "{spec["form"]}"')]
    if field_types.get(source["type"]).storage_for(source) != "column":
        return [("/field", f'"{spec["field"]}" holds several values or rows; linkage copies one value')]
    errors = _kinds(f, spec, source, kinds.of(spec["form"], spec["field"]))
    errors += _condition(spec["where"], form, other["key"], fields, kinds, resolver_of)
    return errors


def _shape(spec) -> list[tuple[str, str]]:
    if not isinstance(spec, dict):
        return [("", 'must be an object like {"form": "product", "where": {...}, "field": "price"}')]
    errors = [(f"/{k}", f'unknown setting "{k}"; a linkage has {", ".join(SETTINGS)}') for k in spec if k not in SETTINGS]
    errors += [(f"/{k}", f'"{k}" is required') for k in ("form", "where", "field") if k not in spec]
    errors += [(f"/{k}", "must be a key like \"price\"") for k in ("form", "field")
               if k in spec and not isinstance(spec[k], str)]
    if "where" in spec and not isinstance(spec["where"], dict):
        errors.append(("/where", "must be a condition (an object)"))
    if "overwrite" in spec and not isinstance(spec["overwrite"], bool):
        errors.append(("/overwrite", "must be true or false"))
    return errors


def _kinds(f: dict, spec: dict, source: dict, source_kind: str | None) -> list[tuple[str, str]]:
    own = FORMULA_KIND.get(field_types.get(f["type"]).result_kind(f), "text")
    if source_kind is None:
        return []  # the source field is broken, and that is reported where it is
    if source_kind != own:
        return [("/field", f'"{spec["field"]}" gives {source_kind} values; this {f["type"]} field holds {own}')]
    if type_of(f).refers_to == "record" and type_of(source).refers_to == "record" and source.get("form") != f.get("form"):
        return [("/field", f'"{spec["field"]}" links to form "{source.get("form")}"; this field links to "{f.get("form")}"')]
    return []


def _condition(where: dict, form: FormDef, other_key: str, fields: dict, kinds, resolver_of) -> list[tuple[str, str]]:
    """The condition on the other form, its record vars naming this form's (or row's) fields."""
    typed = {}
    for key, x in fields.items():
        if type_of(x).has_expression and RESULT not in x:  # compiled later: typecheck it now
            x = {**copy.deepcopy(x), RESULT: kinds.of(other_key, key) or "number"}
        typed[key] = x
    other = FormDef(key=other_key, name=other_key, fields=typed, raw={"fields": list(typed.values())})
    errors = [("/where" + p, m) for p, m in conditions.validate(where, resolver_of(other),
                                                                record_resolver=resolver_of(form))]
    for key in sorted(conditions.record_fields_used(where)):
        f = form.fields.get(key)
        if f is not None and field_types.get(f["type"]).computed:
            errors.append(("/where", f'"record.{key}" is a {f["type"]} field, computed after linkage fills its '
                                     'fields; use the fields it is computed from'))
    return errors
