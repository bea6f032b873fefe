"""The widget type registry: one class per kind (in `widgets/`), registered here and nowhere else.

`compile.py` validates and compiles the `dashboards` of a definition; `aggregate.py` is the
one SQL aggregation service; `service.py` reads a widget's data for one reader.
"""
from formloom.runtime.dashboards.base import Dashboard, WidgetType
from formloom.runtime.dashboards.widgets.area import AreaWidgetType
from formloom.runtime.dashboards.widgets.bar import BarWidgetType
from formloom.runtime.dashboards.widgets.funnel import FunnelWidgetType
from formloom.runtime.dashboards.widgets.gauge import GaugeWidgetType
from formloom.runtime.dashboards.widgets.kpi import KpiWidgetType
from formloom.runtime.dashboards.widgets.leaderboard import LeaderboardWidgetType
from formloom.runtime.dashboards.widgets.line import LineWidgetType
from formloom.runtime.dashboards.widgets.pie import PieWidgetType
from formloom.runtime.dashboards.widgets.pivot import PivotWidgetType
from formloom.runtime.dashboards.widgets.table import TableWidgetType
from formloom.runtime.registry import Registry

widget_types: Registry[WidgetType] = Registry("widget types")
for _cls in (KpiWidgetType, BarWidgetType, LineWidgetType, AreaWidgetType, PieWidgetType, FunnelWidgetType,
             GaugeWidgetType, TableWidgetType, PivotWidgetType, LeaderboardWidgetType):
    widget_types.register(_cls())

__all__ = ["Dashboard", "WidgetType", "widget_types"]
