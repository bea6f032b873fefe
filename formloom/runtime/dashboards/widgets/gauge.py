"""A gauge: one number on a dial from `min` to `max` (the target, when given)."""
from formloom.runtime.dashboards.base import PERIOD, WidgetType, one_number, schema


class GaugeWidgetType(WidgetType):
    type = "gauge"
    max_dimensions = 0
    config_schema = schema(min={"type": "number"}, max={"type": "number"}, target={"type": "number"}, period=PERIOD)

    def check(self, widget, err):
        super().check(widget, err)
        one_number(widget, err)
        lo, hi = widget.raw.get("min", 0), widget.raw.get("max", widget.raw.get("target"))
        if hi is not None and hi <= lo:
            err("/max", "must be greater than min")
