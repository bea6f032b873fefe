"""A calendar date."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from formloom.runtime.fields.base import FieldType, FieldValueError, ValueContext

CELL_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%d/%m/%Y")
EXCEL_EPOCH = date(1899, 12, 30)  # day 0 of Excel's serial dates (its 1900 leap-year bug included)
TODAY = ("$today", "today")


def today_in(ctx: ValueContext) -> date:
    """Today in the app's time zone (the server's clock may be in another)."""
    return ctx.today or datetime.now(ZoneInfo(ctx.tz)).date()


def parse_iso_date(text: str) -> date:
    """A date from ISO text: a date, or a date and time (its date as written)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        raise FieldValueError("must be a date like 2026-01-31") from None


class DateFieldType(FieldType):
    type = "date"
    kind = "date"
    config_schema = {"type": "object", "properties": {
        "min": {"type": "string", "format": "date"}, "max": {"type": "string", "format": "date"}}}

    def value_schema(self, field: dict) -> dict:
        return {"type": ["string", "null"], "format": "date"}

    def check_config(self, field: dict) -> list[tuple[str, str]]:
        if field.get("min") and field.get("max") and field["min"] > field["max"]:
            return [("/max", f"must not be before min ({field['min']})")]
        return []

    def sa_type(self, field: dict):
        return sa.Date()

    def to_python(self, field: dict, value, ctx: ValueContext):
        if value is None or value == "":
            return None
        if isinstance(value, datetime):
            value = value.date()
        elif isinstance(value, str):
            text = value.strip()
            value = today_in(ctx) if text.lower() in TODAY else parse_iso_date(text)
        elif not isinstance(value, date):
            raise FieldValueError("must be a date like 2026-01-31")
        return self.check_bounds(field, value)

    def check_bounds(self, field: dict, value: date) -> date:
        if field.get("min") and value < date.fromisoformat(field["min"]):
            raise FieldValueError(f"must be on or after {field['min']}")
        if field.get("max") and value > date.fromisoformat(field["max"]):
            raise FieldValueError(f"must be on or before {field['max']}")
        return value

    def parse_cell(self, field: dict, text, ctx: ValueContext):
        if not isinstance(text, str):
            return self.to_python(field, text, ctx)
        text = text.strip()
        serial = text[:-2] if text.endswith(".0") else text
        if len(serial) == 5 and serial.isdigit():  # an Excel date as its serial number (1927-2173)
            return self.check_bounds(field, EXCEL_EPOCH + timedelta(days=int(serial)))
        for fmt in CELL_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt).date()
            except ValueError:
                continue
            return self.check_bounds(field, parsed)
        return self.to_python(field, text, ctx)

    def to_json(self, field: dict, value):
        return value.isoformat() if value else None

    def format(self, field: dict, value, locale: str = "en") -> str:
        return value.isoformat() if value else ""
