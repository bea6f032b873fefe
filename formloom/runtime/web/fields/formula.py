"""A formula: shown by its result kind; long text results as a long cell."""
from formloom.runtime.web.fields.base import Cell, FieldWidget

LONG = 80  # characters of a text result past which it is shown as a long cell


class FormulaWidget(FieldWidget):
    type = "formula"

    def filled_cell(self, display, field, ftype, value):
        cell = super().filled_cell(display, field, ftype, value)
        if ftype.result_kind(field) == "text" and len(cell.text) > LONG:
            return Cell("long", cell.text)
        return cell
