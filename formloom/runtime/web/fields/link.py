"""Linked records, shown by title with a link to each the reader may see."""
from flask import url_for

from formloom.runtime.web.fields.base import Cell, ids_of
from formloom.runtime.web.fields.reference import ReferenceWidget


class LinkWidget(ReferenceWidget):
    type = "link"

    def names(self, display, field, ids):
        titles = display.titles.get(field["form"], {})
        return [titles.get(i) or f"#{i}" for i in ids]

    def filled_cell(self, display, field, ftype, value):
        known = display.titles.get(field["form"], {})
        items = []
        for rid in ids_of(value):
            title = known.get(rid)
            url = url_for("web.record_detail", app_key=display.page.runtime.key, form_key=field["form"],
                          record_id=rid) if title else ""
            items.append({"title": title or f"#{rid}", "url": url})
        return Cell("links", items=items)
