"""A number with optional precision, bounds and display (plain, currency, percent)."""
import math
import re
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from formloom.runtime.fields.base import FieldType, FieldValueError, ValueContext

# Digits with an optional sign and decimals; commas only as thousands separators (1,234.5).
NUMBER_TEXT = re.compile(r"[+-]?((\d{1,3}(,\d{3})+|\d+)(\.\d+)?|\.\d+)([eE][+-]?\d+)?")
CURRENCY = {"CNY": "¥", "USD": "$", "EUR": "€"}
# What `format` and spreadsheets put around a number; an imported cell may carry them.
DECORATION = re.compile(r"[¥￥$€%元\s]")
# Total digits of the stored decimal (sa.Numeric(20, precision)).
DIGITS = 20



class ExactNumeric(sa.types.TypeDecorator):
    """NUMERIC whose float parameters are sent to PostgreSQL as decimals.

    psycopg sends a float as double precision, and comparing a numeric column with a double
    makes PostgreSQL cast the column, which no index on it can serve (a 1M-row list page
    went from 0.6 ms to 170 ms). Decimals keep the comparison in numeric.
    """

    impl = sa.Numeric
    cache_ok = True

    @property
    def python_type(self):
        return float  # bound asdecimal=False: values come back as floats

    def process_bind_param(self, value, dialect):
        if isinstance(value, float) and dialect.name == "postgresql" and math.isfinite(value):
            return Decimal(repr(value))
        return value

def round_half_up(value: float, places: int) -> float:
    """Round like people and Excel do (2.675 -> 2.68), not banker's rounding."""
    if not math.isfinite(value) or abs(value) >= 2**53:
        return float(value)  # no fraction left to round; quantize would overflow its context
    quant = Decimal(1).scaleb(-places)
    return float(Decimal(repr(value)).quantize(quant, rounding=ROUND_HALF_UP))


def parse_number(text: str) -> int | float:
    """A number from text like " 1,234.50 ", or FieldValueError."""
    text = text.strip()
    if not NUMBER_TEXT.fullmatch(text):
        raise FieldValueError("must be a number")
    value = Decimal(text.replace(",", ""))
    if value == value.to_integral_value() and "." not in text and abs(value) < 10**DIGITS:
        return int(value)
    return float(value)


class NumberFieldType(FieldType):
    type = "number"
    kind = "number"
    can_be_unique = True
    config_schema = {
        "type": "object",
        "properties": {
            "precision": {"type": "integer", "minimum": 0, "maximum": 8},
            "min": {"type": "number"},
            "max": {"type": "number"},
            "display": {"enum": ["plain", "currency", "percent", "thousands"]},
            "currency": {"type": "string", "maxLength": 3},
        },
    }

    def value_schema(self, field: dict) -> dict:
        schema: dict = {"type": ["number", "null"]}
        if "min" in field:
            schema["minimum"] = field["min"]
        if "max" in field:
            schema["maximum"] = field["max"]
        return schema

    def check_config(self, field: dict) -> list[tuple[str, str]]:
        if "min" in field and "max" in field and field["min"] > field["max"]:
            return [("/max", f"must not be less than min ({field['min']})")]
        return []

    def sa_type(self, field: dict):
        if "precision" in field:
            return ExactNumeric(DIGITS, field["precision"], asdecimal=False)
        return sa.Float()

    def to_python(self, field: dict, value, ctx: ValueContext):
        if value is None or value == "":
            return None
        if isinstance(value, str):
            value = parse_number(value)
        elif isinstance(value, Decimal) and value.is_finite():
            value = int(value) if value == value.to_integral_value() else float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FieldValueError("must be a number")
        return self.normalise(field, value)

    def parse_cell(self, field: dict, text, ctx: ValueContext):
        if isinstance(text, str):
            text = DECORATION.sub("", text)
        return self.to_python(field, text, ctx)

    def normalise(self, field: dict, value):
        """Round to the field's precision, then check magnitude and bounds."""
        try:
            as_float = float(value)
        except OverflowError:
            raise FieldValueError("is too large") from None
        if math.isnan(as_float):
            raise FieldValueError("must be a number")
        if math.isinf(as_float):
            raise FieldValueError("is too large")
        if "precision" in field:
            value = round_half_up(as_float, field["precision"])
            # Beyond this the decimal column overflows (PostgreSQL refuses the row).
            if abs(value) >= 10 ** (DIGITS - field["precision"]):
                raise FieldValueError("is too large")
            if field["precision"] == 0:
                value = int(value)
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            value = int(value)
        if "min" in field and value < field["min"]:
            raise FieldValueError(f"must be at least {field['min']}")
        if "max" in field and value > field["max"]:
            raise FieldValueError(f"must be at most {field['max']}")
        return value

    def from_db(self, field: dict, value):
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            return int(value)
        return value

    def format(self, field: dict, value, locale: str = "en") -> str:
        if value is None:
            return ""
        places = field.get("precision")
        # One number format on every page: thousands separated, unless the field asks for
        # "plain" digits (codes, years).
        display = field.get("display", "thousands")
        grouped = "" if display == "plain" else ","
        text = f"{abs(value):{grouped}.{places}f}" if places is not None else f"{abs(value):{grouped}}"
        sign = "-" if value < 0 else ""
        if display == "currency":
            code = field.get("currency", "CNY")
            return f"{sign}{CURRENCY.get(code, code + ' ')}{text}"
        if display == "percent":
            return f"{sign}{text}%"
        return sign + text

    def to_form(self, field: dict, value):
        return "" if value is None else str(value)
