"""Gallery: cards with an image (or file) field as cover and chosen fields below."""
from formloom.runtime.fields import type_of
from formloom.runtime.views.base import FIELD_LIST, FIELD_NAME, ViewType, schema


class GalleryViewType(ViewType):
    type = "gallery"
    config_schema = schema(options={"cover": FIELD_NAME, "card_fields": FIELD_LIST})

    def check(self, view, form, err):
        key = view.options.get("cover")
        if isinstance(key, str) and key in form.fields and not type_of(form.fields[key]).holds_files:
            err("/options/cover", f'the cover is an image or file field: "{key}" is not one')

    def droppable(self, view):
        return [*super().droppable(view), ("options", "cover")]
