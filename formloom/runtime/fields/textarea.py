"""Multi-line text."""
import sqlalchemy as sa

from formloom.runtime.fields.text import TextFieldType


class TextareaFieldType(TextFieldType):
    type = "textarea"
    can_be_unique = False
    can_be_indexed = False
    default_max = 20000

    def sa_type(self, field: dict):
        return sa.Text()
