"""A number: typed as text (so "1,234.5" and "¥12" are read as people write them)."""
from wtforms import StringField

from formloom.runtime.web.fields.base import FieldWidget, form_kwargs


class NumberWidget(FieldWidget):
    type = "number"

    def form_field(self, field: dict, ctx: dict):
        kw = form_kwargs(field, ctx)
        kw.setdefault("render_kw", {}).update({"inputmode": "decimal", "data-kind": "number"})
        return StringField(**kw)
