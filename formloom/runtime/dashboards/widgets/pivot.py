"""A pivot table: the first `rows` dimensions down, the others across, each measure in each
cell; subtotals per level of the row dimensions and grand totals, each computed in SQL (an
average of averages would be wrong)."""
from formloom.runtime.dashboards.base import WidgetType, schema


class PivotWidgetType(WidgetType):
    type = "pivot"
    renders = "pivot"
    min_dimensions = 2
    config_schema = schema(rows={"type": "integer", "minimum": 1, "maximum": 3},
                           subtotals={"type": "boolean"}, totals={"type": "boolean"})

    def check(self, widget, err):
        super().check(widget, err)
        n = len(widget.source.dimensions)
        if n >= 2 and self.row_count(widget) >= n:
            err("/rows", f"must leave at least one of the {n} dimensions for the columns")

    @staticmethod
    def row_count(widget) -> int:
        return widget.raw.get("rows", 1)

    def grouping_sets(self, widget):
        """Row totals (each row across the columns), column totals, the grand total, and with
        `subtotals` each shorter prefix of the row dimensions (crossed with the columns)."""
        n, r = len(widget.source.dimensions), self.row_count(widget)
        rows, cols = tuple(range(r)), tuple(range(r, n))
        sets: list[tuple[int, ...]] = []
        if widget.raw.get("totals", True):
            sets += [rows, cols, ()]
        if widget.raw.get("subtotals", True):
            for k in range(1, r):
                sets += [rows[:k] + cols, rows[:k]]
        return list(dict.fromkeys(sets))
