"""A moment in time: the browser's local date-time input, in the app's time zone."""
from wtforms import DateTimeLocalField

from formloom.runtime.web.fields.base import FieldWidget, form_kwargs


class DateTimeWidget(FieldWidget):
    type = "datetime"

    def form_field(self, field: dict, ctx: dict):
        return DateTimeLocalField(format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"], **form_kwargs(field, ctx))
