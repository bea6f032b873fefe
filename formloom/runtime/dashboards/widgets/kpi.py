"""A KPI card: one number, its change against the previous period, progress to a target."""
from formloom.runtime.dashboards.base import PERIOD, WidgetType, one_number, schema


class KpiWidgetType(WidgetType):
    type = "kpi"
    renders = "kpi"
    max_dimensions = 0
    config_schema = schema(
        compare={"enum": ["previous_period", "previous_year"]},
        period=PERIOD,
        target={"type": "number"},
    )

    def check(self, widget, err):
        super().check(widget, err)
        one_number(widget, err)
