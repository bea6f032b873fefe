"""A member of the organisation (one, or several with `multiple`)."""
from formloom.runtime.fields.base import ValueContext
from formloom.runtime.fields.reference import ReferenceFieldType


class UserFieldType(ReferenceFieldType):
    type = "user"
    refers_to = "user"
    indexed_by_default = True
    noun = "user"

    def existing(self, field: dict, ids: list[int], ctx: ValueContext) -> set[int]:
        return ctx.user_exists(ids) if ctx.user_exists else set(ids)
