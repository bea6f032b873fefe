"""Shared widget of fields whose values are ids: a picker the page fills, names in cells."""
from wtforms import SelectField, SelectMultipleField

from formloom.runtime.web.fields.base import Cell, FieldWidget, choices, form_kwargs, ids_of


class ReferenceWidget(FieldWidget):
    def names(self, display, field: dict, ids: list[int]) -> list[str]:
        return [f"#{i}" for i in ids]

    def filled_cell(self, display, field, ftype, value):
        return Cell("text", ", ".join(self.names(display, field, ids_of(value))))

    def form_field(self, field: dict, ctx: dict):
        kw = form_kwargs(field, ctx)
        pairs = list(ctx.get("choices", {}).get(field["key"], []))
        kw.setdefault("render_kw", {}).update({"data-picker": self.type, **ctx.get("picker_attrs", {})})
        if field.get("multiple"):
            return SelectMultipleField(choices=choices(pairs), validate_choice=False, coerce=str, **kw)
        return SelectField(choices=choices([("", "—"), *pairs]), validate_choice=False, coerce=str, **kw)
