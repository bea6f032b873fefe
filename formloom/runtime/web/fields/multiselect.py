"""Several choices: a multiple select, and one badge per choice."""
from wtforms import SelectMultipleField

from formloom.runtime.web.fields.base import choices, form_kwargs
from formloom.runtime.web.fields.select import SelectWidget, option_pairs


class MultiSelectWidget(SelectWidget):
    type = "multiselect"

    def form_field(self, field: dict, ctx: dict):
        return SelectMultipleField(choices=choices(option_pairs(field, ctx)), validate_choice=False,
                                   **form_kwargs(field, ctx))
