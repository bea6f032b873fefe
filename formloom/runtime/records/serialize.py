"""Records as JSON: `{id, version, created_at, ..., fields: {key: value}}`."""
from __future__ import annotations

from formloom.runtime.definition import FormDef
from formloom.runtime.fields import field_types, type_of


def fields_json(form: FormDef, values: dict, keys=None) -> dict:
    out = {}
    for key in keys if keys is not None else form.fields:
        f = form.fields[key]
        value = values.get(key)
        if type_of(f).holds_rows:
            child = form.children[key]
            out[key] = [fields_json(child, row) for row in value or []]
        else:
            out[key] = field_types.get(f["type"]).to_json(f, value)
    return out


def _ts(value):
    return value.isoformat(timespec="seconds") + "Z" if value else None


def record_json(form: FormDef, record: dict, keys=None) -> dict:
    """The record as the API shows it; fields hidden from the reader (`record["hidden"]`) are left out."""
    if keys is None and record.get("hidden"):
        hidden = set(record["hidden"])
        keys = [k for k in form.fields if k not in hidden]
    body = {
        "id": record["id"], "version": record["version"],
        "created_at": _ts(record["created_at"]), "updated_at": _ts(record["updated_at"]),
        "created_by": record["created_by"], "updated_by": record.get("updated_by"),
        "owner": record["owner"], "flow_status": record["flow_status"],
        "fields": fields_json(form, record["fields"], keys),
    }
    if record.get("deleted_at"):
        body["deleted_at"] = _ts(record["deleted_at"])
    return body


def json_value(form: FormDef, key: str, value):
    if key in form.children:
        return [fields_json(form.children[key], row) for row in value or []]
    return form.types_by_key[key].to_json(form.fields[key], value)
