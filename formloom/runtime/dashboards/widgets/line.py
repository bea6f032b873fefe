"""A line per measure (or per second dimension) over the first dimension, usually a date bucket."""
from formloom.runtime.dashboards.base import WidgetType, schema


class LineWidgetType(WidgetType):
    type = "line"
    min_dimensions = 1
    max_dimensions = 2
    config_schema = schema(smooth={"type": "boolean"})
