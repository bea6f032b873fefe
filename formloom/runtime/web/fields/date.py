"""A calendar date: the browser's date input."""
from wtforms import DateField

from formloom.runtime.web.fields.base import FieldWidget, form_kwargs


class DateWidget(FieldWidget):
    type = "date"

    def form_field(self, field: dict, ctx: dict):
        return DateField(**form_kwargs(field, ctx))
