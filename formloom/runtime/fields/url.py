"""A web address (http or https)."""
import re
from urllib.parse import urlsplit

from formloom.runtime.fields.base import FieldValueError, ValueContext
from formloom.runtime.fields.text import TextFieldType

# A bare host people type, like www.example.com/pricing: read as https.
BARE_HOST = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:\d+)?([/?#].*)?")
MESSAGE = "must be a web address starting with http:// or https://"


class UrlFieldType(TextFieldType):
    type = "url"
    default_max = 2000
    config_schema = {"type": "object", "properties": {}}

    def value_schema(self, field: dict) -> dict:
        return {"type": ["string", "null"], "format": "uri", "maxLength": 2000,
                "pattern": "^https?://[^\\s/?#]+[^\\s]*$"}

    def to_python(self, field: dict, value, ctx: ValueContext):
        value = super().to_python(field, value, ctx)
        if value is None:
            return None
        value = value.strip()
        if "://" not in value and BARE_HOST.fullmatch(value):
            value = "https://" + value
        if any(c.isspace() for c in value):
            raise FieldValueError("must not contain spaces")
        try:
            parts = urlsplit(value)
        except ValueError:
            raise FieldValueError(MESSAGE) from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FieldValueError(MESSAGE)
        return parts.scheme + value[len(parts.scheme):]
