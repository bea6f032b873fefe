"""One choice from a list of options."""
import sqlalchemy as sa

from formloom.platform.i18n import localized
from formloom.runtime.fields.base import (
    FieldType,
    FieldValueError,
    ValueContext,
)

OPTION_SCHEMA = {
    "x-message": 'must be text, or an object like {"value": "a", "label": "A"}',
    "oneOf": [
        {"type": "string", "minLength": 1, "maxLength": 255},
        {
            "type": "object",
            "required": ["value"],
            "properties": {
                "value": {"type": "string", "minLength": 1, "maxLength": 255},
                "label": {"type": "string"},
                "label_en": {"type": "string"},
                "color": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$",
                          "x-message": 'is not a colour like "#1677ff"'},
            },
            "additionalProperties": False,
        },
    ]
}


def options(field: dict) -> list[dict]:
    """The field's options as `{value, label, color}` dicts, whichever way they were written."""
    result = []
    for opt in field.get("options") or []:
        if isinstance(opt, str):
            result.append({"value": opt, "label": opt, "color": None})
        else:
            result.append({"value": opt["value"], "label": opt.get("label") or opt["value"],
                           "label_en": opt.get("label_en"), "color": opt.get("color")})
    return result


def duplicate_options(field: dict) -> list[tuple[str, str]]:
    """An error for each option whose value an earlier option has already."""
    seen: set[str] = set()
    errors = []
    for i, opt in enumerate(options(field)):
        if opt["value"] in seen:
            errors.append((f"/options/{i}", f'the option "{opt["value"]}" is listed twice'))
        seen.add(opt["value"])
    return errors


def option_label(field: dict, value, locale: str | None = None) -> str:
    for opt in options(field):
        if opt["value"] == value:
            return localized(opt, "label", locale, str(value))
    return "" if value is None else str(value)


def find_option(field: dict, value: str) -> str | None:
    """The option value `value` names, by value or (for imports and people) by label."""
    opts = options(field)
    for opt in opts:
        if opt["value"] == value:
            return value
    for opt in opts:
        if value in (opt["label"], opt.get("label_en")):
            return opt["value"]
    return None


def match_option(field: dict, value: str) -> str:
    """The option value `value` names, or FieldValueError listing the choices."""
    found = find_option(field, value)
    if found is None and value.strip() != value:
        found = find_option(field, value.strip())
    if found is not None:
        return found
    opts = options(field)
    allowed = ", ".join(o["value"] for o in opts[:20]) + (", ..." if len(opts) > 20 else "")
    raise FieldValueError(f'"{value}" is not one of the options ({allowed})')


class SelectFieldType(FieldType):
    type = "select"
    has_options = True
    indexed_by_default = True
    kind = "text"
    config_schema = {
        "type": "object",
        "required": ["options"],
        "properties": {
            "options": {"type": "array", "items": OPTION_SCHEMA, "maxItems": 500},
            "display": {"enum": ["dropdown", "radio"]},
        },
    }

    def check_config(self, field: dict) -> list[tuple[str, str]]:
        return duplicate_options(field)

    def value_schema(self, field: dict) -> dict:
        return {"enum": [o["value"] for o in options(field)] + [None]}

    def sa_type(self, field: dict):
        return sa.String(255)

    def to_python(self, field: dict, value, ctx: ValueContext):
        if value is None or value == "":
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # options "1".."5" sent as numbers by a JSON client
        if not isinstance(value, str):
            raise FieldValueError("must be one of the options")
        return match_option(field, value)

    def format(self, field: dict, value, locale: str = "en") -> str:
        return option_label(field, value, locale)
