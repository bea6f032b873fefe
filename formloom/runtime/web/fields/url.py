"""A web address: a link, only ever to http or https."""
from wtforms import URLField

from formloom.runtime.web.fields.base import Cell, FieldWidget, form_kwargs


class UrlWidget(FieldWidget):
    type = "url"

    def filled_cell(self, display, field, ftype, value):
        text = ftype.format(field, value, display.locale)
        # Only web addresses become links: never a javascript: URL, whatever got stored.
        safe = text.lower().startswith(("http://", "https://"))
        return Cell("url", text, href=text) if safe else Cell("text", text)

    def form_field(self, field: dict, ctx: dict):
        return URLField(**form_kwargs(field, ctx))
