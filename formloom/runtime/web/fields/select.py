"""One choice: a dropdown (or radio buttons), and a coloured badge."""
from wtforms import RadioField, SelectField

from formloom.runtime.fields.select import option_label, options
from formloom.runtime.web.fields.base import PALETTE, Cell, FieldWidget, choices, form_kwargs


def option_color(f: dict, value: str) -> str:
    """The option's own colour, else one from a fixed palette by its position."""
    for i, opt in enumerate(options(f)):
        if opt["value"] == value:
            return opt.get("color") or PALETTE[i % len(PALETTE)]
    return "secondary"


def option_pairs(field: dict, ctx: dict) -> list[tuple[str, str]]:
    locale = ctx.get("locale", "zh")
    return [(o["value"], option_label(field, o["value"], locale)) for o in options(field)]


class SelectWidget(FieldWidget):
    type = "select"

    def filled_cell(self, display, field, ftype, value):
        values = value if isinstance(value, list) else [value]
        return Cell("badges", items=[(option_label(field, v, display.locale), option_color(field, v))
                                     for v in values])

    def form_field(self, field: dict, ctx: dict):
        pairs = option_pairs(field, ctx)
        kw = form_kwargs(field, ctx)
        if field.get("display") == "radio":
            return RadioField(choices=choices(pairs), validate_choice=False, **kw)
        return SelectField(choices=choices([("", "—"), *pairs]), validate_choice=False, **kw)
