"""A star rating: radio buttons of stars; not aligned as a number in lists."""
from wtforms import RadioField

from formloom.runtime.web.fields.base import FieldWidget, choices, form_kwargs


class RatingWidget(FieldWidget):
    type = "rating"

    def numeric(self, field, ftype) -> bool:
        return False

    def form_field(self, field: dict, ctx: dict):
        top = int(field.get("max", 5))
        pairs = [(str(i), "★" * i) for i in range(1, top + 1)]
        return RadioField(choices=choices(pairs), validate_choice=False, **form_kwargs(field, ctx))
