"""A JSON Schema's errors as the definition's errors: `{pointer, message}` in plain words.

A schema may carry `x-message`, said instead of jsonschema's wording. Used by the definition
validator (`validate.py`) and by every kind's settings check (flow steps, triggers, actions).
"""
from __future__ import annotations

import json
import re

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from formloom.platform.inputs import pointer_token as escape

TYPE_WORDS = {"integer": "a whole number", "number": "a number", "string": "text",
              "boolean": "true or false", "array": "a list", "object": "an object", "null": "empty"}
FORMAT_WORDS = {"date": "a date like 2026-01-31", "date-time": "a date and time like 2026-01-31T09:30:00Z",
                "email": "an e-mail address"}
REQUIRED = re.compile(r"'(.*)' is a required property")

def _pointer(path) -> str:
    return "".join(f"/{escape(p)}" for p in path)


def schema_errors(validator: Draft202012Validator, doc, base: str = "") -> list[dict]:
    errors = []
    for err in validator.iter_errors(doc):
        # oneOf/anyOf failures: report the most relevant branch rather than the whole blob.
        best = best_match([err])
        ptr = base + _pointer(best.absolute_path)
        if best.validator == "additionalProperties" and isinstance(best.instance, dict):
            known = best.schema.get("properties", {})
            errors.extend({"pointer": f"{ptr}/{escape(k)}", "message": f'unknown setting "{k}"'}
                          for k in best.instance if k not in known)
        else:
            errors.append({"pointer": ptr, "message": _plain(best)})
    return errors


def _plain(err) -> str:
    custom = err.schema.get("x-message") if isinstance(err.schema, dict) else None
    if custom:
        return f'"{err.instance}" {custom}' if isinstance(err.instance, str) else custom
    if err.validator == "required":
        missing = REQUIRED.fullmatch(err.message)
        return f'"{missing.group(1)}" is required' if missing else err.message
    if err.validator == "format":
        return f'"{err.instance}" is not {FORMAT_WORDS.get(err.validator_value, err.validator_value)}'
    if err.validator == "type":
        wanted = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
        return "must be " + " or ".join(TYPE_WORDS.get(t, t) for t in wanted)
    if err.validator == "enum":
        return "must be one of: " + ", ".join(json.dumps(v, ensure_ascii=False) for v in err.validator_value)
    return err.message
