"""A number: a number input (the browser keeps to its min, max and step); the server still
reads what is sent as people write it ("1,234.5")."""
from wtforms import StringField

from formloom.runtime.web.fields.base import FieldWidget, form_kwargs, step_of


class NumberWidget(FieldWidget):
    type = "number"
    limits = ("min", "max")

    def form_field(self, field: dict, ctx: dict):
        kw = form_kwargs(field, ctx)
        kw.setdefault("render_kw", {}).update({"type": "number", "inputmode": "decimal", "data-kind": "number"})
        return StringField(**kw)

    def input_limits(self, field, ftype):
        return {**super().input_limits(field, ftype), "step": step_of(field.get("precision"))}
