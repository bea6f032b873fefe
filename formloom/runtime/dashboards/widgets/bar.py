"""Bars: one bar per group, a series per measure (or per second dimension); grouped or
stacked, vertical or horizontal."""
from formloom.runtime.dashboards.base import WidgetType, schema


class BarWidgetType(WidgetType):
    type = "bar"
    min_dimensions = 1
    max_dimensions = 2
    config_schema = schema(mode={"enum": ["grouped", "stacked"]}, horizontal={"type": "boolean"})
