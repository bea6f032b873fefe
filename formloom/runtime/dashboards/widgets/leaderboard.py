"""A leaderboard: the top groups of one dimension (people, usually) by one measure, ranked."""
from formloom.runtime.dashboards.base import WidgetType, schema


class LeaderboardWidgetType(WidgetType):
    type = "leaderboard"
    renders = "table"
    min_dimensions = 1
    max_dimensions = 1
    config_schema = schema()
