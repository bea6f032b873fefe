"""An e-mail address."""
from email_validator import EmailNotValidError, validate_email

from formloom.runtime.fields.base import FieldValueError, ValueContext
from formloom.runtime.fields.text import TextFieldType


class EmailFieldType(TextFieldType):
    type = "email"
    default_max = 254
    config_schema = {"type": "object", "properties": {}}

    def value_schema(self, field: dict) -> dict:
        return {"type": ["string", "null"], "format": "email", "maxLength": 254}

    def to_python(self, field: dict, value, ctx: ValueContext):
        value = super().to_python(field, value, ctx)
        if value is None:
            return None
        try:
            return validate_email(value.strip(), check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise FieldValueError(f"is not a valid e-mail address ({exc})") from None
