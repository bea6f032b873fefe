"""Derived projections of a form definition: the JSON Schema of its records' fields."""
from __future__ import annotations

from formloom.runtime.definition import FormDef
from formloom.runtime.fields import field_types, type_of


def fields_schema(form: FormDef, for_write: bool = False, leave_out=frozenset()) -> dict:
    """The JSON Schema of the `fields` object (computed fields are read-only), without the
    fields `leave_out` names."""
    props = {}
    for key, f in form.fields.items():
        if key in leave_out:
            continue
        ftype = field_types.get(f["type"])
        schema = dict(ftype.value_schema(f))
        if type_of(f).holds_rows:
            schema["items"] = fields_schema(form.children[key], for_write)
        schema["title"] = form.label(key)
        if f.get("help"):
            schema["description"] = f["help"]
        if ftype.computed:
            schema["readOnly"] = True
        props[key] = schema
    required = [k for k, f in form.fields.items()
                if f.get("required") and not field_types.get(f["type"]).computed and k not in leave_out]
    out = {"type": "object", "properties": props, "additionalProperties": False}
    if required and for_write:
        out["required"] = required
    return out


def record_schema(form: FormDef, hidden=frozenset(), locked=frozenset()) -> dict:
    """The JSON Schema of one record's fields, as GET .../schema returns it to one reader:
    fields hidden from them left out, fields they may not set read-only."""
    schema = fields_schema(form, leave_out=hidden)
    for key in set(locked) - set(hidden):
        schema["properties"][key]["readOnly"] = True
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = form.display_name()
    required = [k for k, f in form.fields.items()
                if f.get("required") and not field_types.get(f["type"]).computed and k not in hidden | set(locked)]
    if required:
        schema["required"] = required
    return schema
