"""The view type registry: one class per kind, registered here and nowhere else.

`compile.py` validates and compiles the `views` of a definition; `removed.py` adapts views
to fields a publish removes; `query.py` reads a view's records and groups.
"""
from formloom.runtime.registry import Registry
from formloom.runtime.views.base import AGGREGATES, BUCKETS, Grouping, View, ViewType
from formloom.runtime.views.calendar import CalendarViewType
from formloom.runtime.views.gallery import GalleryViewType
from formloom.runtime.views.kanban import KanbanViewType
from formloom.runtime.views.table import TableViewType

view_types: Registry[ViewType] = Registry("view types")
for _cls in (TableViewType, KanbanViewType, CalendarViewType, GalleryViewType):
    view_types.register(_cls())

DEFAULT_TYPE = "table"

__all__ = ["AGGREGATES", "BUCKETS", "DEFAULT_TYPE", "Grouping", "View", "ViewType", "view_types"]
