"""A table: the widget's data as it is, dimensions then measures."""
from formloom.runtime.dashboards.base import WidgetType, schema


class TableWidgetType(WidgetType):
    type = "table"
    renders = "table"
    config_schema = schema(totals={"type": "boolean"})

    def grouping_sets(self, widget):
        return [()] if widget.raw.get("totals") and widget.source.dimensions else []
