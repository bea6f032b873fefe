"""Child rows: a row count in cells, not a list column (the form builds its rows itself)."""
from formloom.runtime.web.fields.base import Cell, FieldWidget


class SubformWidget(FieldWidget):
    type = "subform"
    in_list = False

    def filled_cell(self, display, field, ftype, value):
        return Cell("text", ftype.format(field, value, display.locale))
