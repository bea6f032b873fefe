"""Yes or no: a checkbox, and a yes/no cell (shown even when false)."""
from wtforms import BooleanField

from formloom.runtime.web.fields.base import Cell, FieldWidget, form_kwargs


class BooleanWidget(FieldWidget):
    type = "boolean"
    checkbox = True

    def cell(self, display, field, ftype, value):
        return Cell("bool", ftype.format(field, value, display.locale)) if value is not None else Cell()

    def form_field(self, field: dict, ctx: dict):
        kw = form_kwargs(field, ctx)
        kw["validators"] = []
        return BooleanField(**kw)
