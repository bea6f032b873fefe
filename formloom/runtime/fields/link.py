"""A link to records of another form of the same app (one, or several with `multiple`)."""
from formloom.runtime.fields.base import ValueContext
from formloom.runtime.fields.reference import ReferenceFieldType


class LinkFieldType(ReferenceFieldType):
    type = "link"
    refers_to = "record"
    indexed_by_default = True
    noun = "record"
    config_schema = {
        "type": "object",
        "required": ["form"],
        "properties": {
            "form": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$",
                     "x-message": "is not a form key: forms have keys like \"company\""},
            "multiple": {"type": "boolean"},
            "on_delete": {"enum": ["restrict", "clear", "cascade"]},
        },
    }

    def existing(self, field: dict, ids: list[int], ctx: ValueContext) -> set[int]:
        return ctx.record_exists(field["form"], ids) if ctx.record_exists else set(ids)
