"""An e-mail address: a mailto: link."""
from wtforms import EmailField

from formloom.runtime.web.fields.base import Cell, FieldWidget, form_kwargs


class EmailWidget(FieldWidget):
    type = "email"
    scheme = "mailto:"

    def filled_cell(self, display, field, ftype, value):
        text = ftype.format(field, value, display.locale)
        return Cell(self.type, text, href=self.scheme + text)

    def form_field(self, field: dict, ctx: dict):
        return EmailField(**form_kwargs(field, ctx))
