"""Uploaded files: a file input, and download links (thumbnails for images)."""
from flask import url_for
from wtforms import MultipleFileField

from formloom.runtime.fields import field_types
from formloom.runtime.web.fields.base import Cell, FieldWidget, form_kwargs, human_size


class FileWidget(FieldWidget):
    type = "file"
    in_list = False

    def filled_cell(self, display, field, ftype, value):
        items = []
        for meta in value or []:
            if not isinstance(meta, dict) or "id" not in meta:
                continue
            url = url_for("web.download", app_key=display.page.runtime.key, file_id=meta["id"])
            image = str(meta.get("content_type", "")).startswith("image/")
            items.append({"name": meta.get("name") or meta["id"], "url": url, "image": image,
                          "size": human_size(meta.get("size") or 0)})
        return Cell("files", items=items)

    def form_field(self, field: dict, ctx: dict):
        kw = form_kwargs(field, ctx)
        accept = field_types.get(self.type).accept(field)
        if accept:
            kw.setdefault("render_kw", {})["accept"] = ",".join(accept)
        return MultipleFileField(**kw)
