"""Kanban: one column per option of a select field (or per user), cards paged per column."""
from formloom.runtime.views.base import (
    FIELD_LIST,
    GROUP_BY,
    ViewType,
    groupable,
    schema,
    value_kind,
)


class KanbanViewType(ViewType):
    type = "kanban"
    group_required = True
    config_schema = schema(
        required=("group_by",),
        group_by=GROUP_BY,
        options={"card_fields": FIELD_LIST,
                 "hide_empty": {"type": "boolean", "description": "leave out the column of cards with no value"}},
    )

    def check(self, view, form, err):
        g = view.group_by
        ptr = "/group_by" if isinstance(view.raw.get("group_by"), str) else "/group_by/field"
        if value_kind(form, g.field) is None:
            return  # said already: no such field
        how = groupable(form, g.field)
        if g.bucket is not None or not (how == "options" or value_kind(form, g.field) == "user"):
            err(ptr, f'a kanban has a column per option of a select field or per user: "{g.field}" is neither')
