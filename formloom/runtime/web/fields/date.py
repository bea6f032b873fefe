"""A calendar date: the browser's date input, kept within the field's min and max."""
from wtforms import DateField

from formloom.runtime.web.fields.base import FieldWidget, form_kwargs


class DateWidget(FieldWidget):
    type = "date"

    def form_field(self, field: dict, ctx: dict):
        return DateField(**form_kwargs(field, ctx))

    def input_limits(self, field, ftype):
        return {html: field[key] for key, html in (("min", "min"), ("max", "max")) if field.get(key)}
