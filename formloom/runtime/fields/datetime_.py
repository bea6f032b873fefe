"""A moment in time: stored in UTC, shown in the app's time zone."""
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from formloom.platform.i18n import format_moment
from formloom.runtime.fields.base import FieldType, FieldValueError, ValueContext

# Spreadsheet spellings; ISO text is read by `to_python`. Read in the app's time zone.
CELL_FORMATS = tuple(f"{d} {t}" for d in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日")
                     for t in ("%H:%M", "%H:%M:%S")) + ("%Y/%m/%d", "%Y年%m月%d日")
MESSAGE = "must be a date and time like 2026-01-31T09:30:00+08:00"


def to_utc(value: datetime, tz: str) -> datetime:
    """Naive UTC from an aware datetime, or from a naive one read in `tz`, to the second."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    # Whole seconds: what to_json writes is then exactly what is stored.
    return value.astimezone(UTC).replace(tzinfo=None, microsecond=0)


def to_local(value: datetime, tz: str) -> datetime:
    """Naive local time in `tz` from naive UTC."""
    return value.replace(tzinfo=UTC).astimezone(ZoneInfo(tz)).replace(tzinfo=None)


class DateTimeFieldType(FieldType):
    type = "datetime"
    zoned = True
    kind = "datetime"

    def value_schema(self, field: dict) -> dict:
        return {"type": ["string", "null"], "format": "date-time"}

    def sa_type(self, field: dict):
        return sa.DateTime()

    def to_python(self, field: dict, value, ctx: ValueContext):
        if value is None or value == "":
            return None
        if isinstance(value, datetime):
            return to_utc(value, ctx.tz)
        if isinstance(value, date):
            return to_utc(datetime(value.year, value.month, value.day), ctx.tz)
        if not isinstance(value, str):
            raise FieldValueError(MESSAGE)
        text = value.strip()
        if text.lower() in ("$now", "now"):
            return (ctx.now or datetime.now(UTC).replace(tzinfo=None)).replace(microsecond=0)
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
        except ValueError:
            raise FieldValueError(MESSAGE) from None
        return to_utc(parsed, ctx.tz)

    def parse_cell(self, field: dict, text, ctx: ValueContext):
        if not isinstance(text, str):
            return self.to_python(field, text, ctx)
        text = text.strip()
        for fmt in CELL_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
            except ValueError:
                continue
            return to_utc(parsed, ctx.tz)
        return self.to_python(field, text, ctx)

    def to_json(self, field: dict, value):
        return value.isoformat(timespec="seconds") + "Z" if value else None

    def format(self, field: dict, value, locale: str = "en", tz: str = "UTC") -> str:
        return format_moment(value, tz)

    def to_form(self, field: dict, value, tz: str = "UTC"):
        return to_local(value, tz) if value else None

    def from_form(self, field: dict, data, ctx: ValueContext):
        return to_utc(data, ctx.tz) if data else None
