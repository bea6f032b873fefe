"""Table: chosen and ordered columns, sort, filter, an optional grouping with totals."""
from formloom.runtime.views.base import FIELD_NAME, GROUP_BY, ViewType, schema


class TableViewType(ViewType):
    type = "table"
    config_schema = schema(
        group_by=GROUP_BY,
        options={"widths": {"type": "object", "propertyNames": FIELD_NAME,
                            "additionalProperties": {"type": "integer", "minimum": 40, "maximum": 2000}},
                 "search": {"type": "boolean"}},
    )

    def check(self, view, form, err):
        if view.group_by:
            self.check_group(view, form, err)

    def droppable(self, view):
        return [*super().droppable(view), ("group_by",)]
