"""What the step kinds share: their schemas' pieces and the assignees (who a step goes to)."""
from __future__ import annotations

from formloom.runtime.automations.model import Err
from formloom.runtime.fields import type_of

KEY = {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,29}$"}
NAME = {"type": "string", "maxLength": 200}
ASSIGNEE = {"oneOf": [
    {"type": "object", "required": ["users"], "additionalProperties": False,
     "properties": {"users": {"type": "array", "minItems": 1, "maxItems": 100,
                              "items": {"type": "integer", "minimum": 1}}}},
    {"type": "object", "required": ["role"], "additionalProperties": False, "properties": {"role": KEY}},
    {"type": "object", "required": ["field"], "additionalProperties": False,
     "properties": {"field": {"type": "string", "maxLength": 64}}},
    {"type": "object", "required": ["manager_of"], "additionalProperties": False,
     "properties": {"manager_of": {"type": "string", "maxLength": 64},
                    "level": {"type": "integer", "minimum": 1, "maximum": 10}}},
    {"type": "object", "required": ["department_head"], "additionalProperties": False,
     "properties": {"department_head": {"type": "integer", "minimum": 1}}},
], "x-message": 'must be one of {"users": [ids]}, {"role": key}, {"field": "<user field>"}, '
                '{"manager_of": "submitter" or "<user field>", "level": n} or {"department_head": id}'}
ASSIGNEES = {"anyOf": [ASSIGNEE, {"type": "array", "minItems": 1, "maxItems": 10, "items": ASSIGNEE}]}
USER_SYSTEM = ("$owner", "$created_by")


def schema(required: tuple[str, ...], **properties) -> dict:
    return {"type": "object", "required": ["type", *required], "additionalProperties": False,
            "properties": {"type": {"type": "string"}, "key": KEY, "name": NAME, "name_en": NAME, **properties}}


def assignee_list(spec) -> list[dict]:
    return spec if isinstance(spec, list) else [spec]


def check_assignees(spec, ptr: str, form, err: Err) -> None:
    for i, one in enumerate(assignee_list(spec)):
        where = f"{ptr}/{i}" if isinstance(spec, list) else ptr
        key = one.get("field") or (one.get("manager_of") if one.get("manager_of") != "submitter" else None)
        if key is None:
            continue
        f = form.fields.get(key)
        if key not in USER_SYSTEM and (f is None or type_of(f).refers_to != "user"):
            what = "field" if "field" in one else "manager_of"
            err(f"{where}/{what}", f'"{key}" is not a user field of form "{form.key}"')


def assignees_words(spec: dict, words) -> str:
    """Who a step goes to, in words (`words`: the diagram's `Words`)."""
    return "; ".join(words.assignee(one) for one in assignee_list(spec.get("assignees") or []))
