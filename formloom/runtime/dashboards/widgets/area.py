"""Lines with the area under them filled; stacked when asked."""
from formloom.runtime.dashboards.base import WidgetType, schema


class AreaWidgetType(WidgetType):
    type = "area"
    min_dimensions = 1
    max_dimensions = 2
    config_schema = schema(stacked={"type": "boolean"}, smooth={"type": "boolean"})
