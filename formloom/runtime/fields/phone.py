"""A phone number: digits with the usual separators, kept as typed."""
import re

from formloom.runtime.fields.base import FieldValueError, ValueContext
from formloom.runtime.fields.text import TextFieldType

# Digits with spaces, dashes, dots and brackets: +86 138-0013-8000, (010) 1234-5678, 555.123.4567.
PHONE_PATTERN = r"^\+?\(?[0-9][0-9 ().\-]{3,28}[0-9](\s*(ext|x|转)\s*[0-9]{1,6})?$"
PHONE = re.compile(PHONE_PATTERN)


class PhoneFieldType(TextFieldType):
    type = "phone"
    default_max = 40
    config_schema = {"type": "object", "properties": {}}

    def value_schema(self, field: dict) -> dict:
        return {"type": ["string", "null"], "maxLength": 40, "pattern": PHONE_PATTERN}

    def to_python(self, field: dict, value, ctx: ValueContext):
        value = super().to_python(field, value, ctx)
        if value is None:
            return None
        value = value.strip()
        if not PHONE.fullmatch(value):
            raise FieldValueError("is not a valid phone number")
        return value
