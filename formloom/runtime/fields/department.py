"""A department of the organisation (one, or several with `multiple`)."""
from formloom.runtime.fields.base import ValueContext
from formloom.runtime.fields.reference import ReferenceFieldType


class DepartmentFieldType(ReferenceFieldType):
    type = "department"
    refers_to = "department"
    indexed_by_default = True
    noun = "department"

    def existing(self, field: dict, ids: list[int], ctx: ValueContext) -> set[int]:
        return ctx.department_exists(ids) if ctx.department_exists else set(ids)
