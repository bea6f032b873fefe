"""Calendar: records placed by a date or date-and-time field (and an end, for spans)."""
from formloom.runtime.views.base import (
    FIELD_LIST,
    FIELD_NAME,
    ViewType,
    schema,
    single_column,
    value_kind,
)


class CalendarViewType(ViewType):
    type = "calendar"
    essential_options = ("start",)
    config_schema = schema(
        required=("options",),
        options={"start": FIELD_NAME, "end": {"anyOf": [FIELD_NAME, {"type": "null"}]},
                 "card_fields": FIELD_LIST, "mode": {"enum": ["month", "week", "agenda"]}},
    )

    def check(self, view, form, err):
        if "start" not in view.options:
            err("/options/start", '"start" is required: the date or date-and-time field that places records')
        for name in ("start", "end"):
            key = view.options.get(name)
            if not isinstance(key, str) or value_kind(form, key) is None:
                continue  # said already
            if value_kind(form, key) not in ("date", "datetime") or not single_column(form, key):
                err(f"/options/{name}", f'a calendar places records by a date or date-and-time field: "{key}" is not one')

    def droppable(self, view):
        return [*super().droppable(view), ("options", "end")]
