"""An aggregate over the records that link to this one: customer -> SUM of its deals' amount.

`{"type": "rollup", "form": "deal", "link": "customer", "agg": "sum", "field": "amount",
"where": <condition on deals>}`: `link` is a link field of `form` pointing at this form.
`agg` is count, sum, avg, min or max (`field` is needed except for count). Stored, and
recomputed on every create, update, delete, restore and re-link of the related records
(`runtime/records/relations.py`). Its value kind (`_result`) is number, or for min and max
that of the field.
"""
from formloom.runtime.fields.base import FieldValueError, ValueContext
from formloom.runtime.fields.formula import RESULT, FormulaFieldType

KEY = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}
AGGS = ("count", "sum", "avg", "min", "max")


class RollupFieldType(FormulaFieldType):
    type = "rollup"
    has_expression = False
    aggregates_linking_records = True
    annotations = frozenset({RESULT})
    in_subform = False
    config_schema = {
        "type": "object",
        "required": ["form", "link", "agg"],
        "properties": {
            "form": KEY, "link": KEY, "agg": {"enum": list(AGGS)}, "field": KEY, "where": {"type": "object"},
            "precision": {"type": "integer", "minimum": 0, "maximum": 8},
            "display": {"enum": ["plain", "currency", "percent", "thousands"]},
        },
    }

    def to_python(self, field: dict, value, ctx: ValueContext):
        raise FieldValueError("is computed from the records that link here")
