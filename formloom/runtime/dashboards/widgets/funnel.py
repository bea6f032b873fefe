"""A funnel: one stage per group of one dimension (a select's options keep their order)."""
from formloom.runtime.dashboards.base import WidgetType, schema


class FunnelWidgetType(WidgetType):
    type = "funnel"
    min_dimensions = 1
    max_dimensions = 1
    config_schema = schema()

    def check(self, widget, err):
        super().check(widget, err)
        if len(widget.source.measures) != 1:
            err("/source/measures", "a funnel widget sizes its stages by one measure")
