"""A pie (or a donut): one slice per group of one dimension, sized by one measure."""
from formloom.runtime.dashboards.base import WidgetType, schema


class PieWidgetType(WidgetType):
    type = "pie"
    min_dimensions = 1
    max_dimensions = 1
    config_schema = schema(donut={"type": "boolean"})

    def check(self, widget, err):
        super().check(widget, err)
        if len(widget.source.measures) != 1:
            err("/source/measures", "a pie widget sizes its slices by one measure")
