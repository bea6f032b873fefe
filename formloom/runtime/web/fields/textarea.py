"""Multi-line text: a text area, and a long cell."""
from wtforms import TextAreaField

from formloom.runtime.web.fields.base import Cell, FieldWidget, form_kwargs


class TextareaWidget(FieldWidget):
    type = "textarea"

    def filled_cell(self, display, field, ftype, value):
        return Cell("long", ftype.format(field, value, display.locale))

    def form_field(self, field: dict, ctx: dict):
        return TextAreaField(**form_kwargs(field, ctx))
