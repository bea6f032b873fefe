"""The one aggregation service: a widget's data in SQL, for one reader.

A widget's source becomes GROUP BY statements built by the views' grouping builder
(`views/grouping.py`): the dimensions are the group keys (a date in its bucket in the app's
time zone, a linked record's field through a join), the measures are aggregates, a measure's
own `where` a CASE inside its aggregate, a ratio the division of two aggregates. The reader's
row scope is ANDed (and a linked record they may not see groups as empty); a widget reading
a field hidden from the reader is refused. Nothing loops over records in Python: what comes
back is one row per group.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.runtime import access
from formloom.runtime.dashboards.base import OTHERS, Widget
from formloom.runtime.dashboards.fields import dimension_kind, resolve
from formloom.runtime.exceptions import PermissionDenied
from formloom.runtime.fields import type_of
from formloom.runtime.records import query
from formloom.runtime.records.context import app_timezone
from formloom.runtime.views.base import value_kind
from formloom.runtime.views.grouping import bucket_key, column, grouped, number, total_json


@dataclass
class Key:
    """One dimension as SQL: the group key and, for a link, the linked record's title."""

    expr: object
    how: str  # "options", "reference", "date", "boolean"
    refers_to: str | None  # "record", "user", "department" for references
    title: object = None  # a link's title column (grouped too), when the linked form has one


class Plan:
    """A widget's source, compiled for one reader: FROM, WHERE, keys and measures."""

    def __init__(self, actor: Actor, runtime, widget: Widget, conditions: list | None = None):
        src = widget.source
        self.actor, self.runtime, self.widget = actor, runtime, widget
        self.form = runtime.form(src.form)
        ft = runtime.form_tables(src.form)
        self.table = ft.table
        self.fa = access.form_access(actor, runtime, src.form)
        if not self.fa.can("view"):
            raise PermissionDenied(f'You may not see the records of "{self.form.name}" that widget "{widget.key}" counts')
        self.hidden = self.fa.hidden()
        self._refuse_hidden()
        self.from_ = self.table
        self._joined: dict[str, object] = {}
        forms = runtime.definition.forms
        tz = app_timezone(runtime)
        self.keys = [self._key(forms, d, tz) for d in src.dimensions]
        self.where = [self.fa.scope(self.table), self.table.c.deleted_at.is_(None),
                      self._condition(src.where)]
        self.where += [self._condition(c) for c in conditions or []]
        self.measured = [self._measured(ft, m) for m in src.measures if m.ratio is None]

    def _refuse_hidden(self) -> None:
        for name in sorted(self.widget.fields_named()):
            if name.split(".", 1)[0] in self.hidden:
                raise PermissionDenied(f'Widget "{self.widget.key}" reads "{name}", a field hidden from you')

    def _condition(self, cond):
        # `hidden` unknown: a condition naming a hidden field is refused as an unknown field.
        return query.filter_clause(self.actor, self.runtime, self.widget.source.form, cond, hidden=self.hidden)

    def _join(self, link: str, target) -> sa.Table:
        """The linked form's table, joined once per link field, only the rows the reader may see."""
        if link not in self._joined:
            lt = self.runtime.form_tables(target.key).table
            lfa = access.form_access(self.actor, self.runtime, target.key)
            if target.key == self.form.key:  # a link to the same form: an alias, scoped by id
                alias = lt.alias(f"l_{link}")
                visible = alias.c.id.in_(sa.select(lt.c.id).where(lfa.scope(lt)))
            else:
                alias, visible = lt, lfa.scope(lt)
            on = sa.and_(self.table.c[self.runtime.form_tables(self.form.key).columns[link].name] == alias.c.id,
                         alias.c.deleted_at.is_(None), visible)
            self.from_ = self.from_.outerjoin(alias, on)
            self._joined[link] = (alias, lfa)
        return self._joined[link]

    def _key(self, forms, dim, tz) -> Key:
        target, key, link = resolve(forms, self.form, dim.field)
        how = dimension_kind(forms, self.form, dim.field)
        if link:
            alias, lfa = self._join(link, target)
            if not lfa.can("view") or key in lfa.hidden():
                raise PermissionDenied(f'Widget "{self.widget.key}" reads "{dim.field}", a field hidden from you')
            col = alias.c[column(self.runtime.form_tables(target.key), key).name]
        else:
            col = column(self.runtime.form_tables(self.form.key), key)
        expr = bucket_key(col, value_kind(target, key), dim.bucket if how == "date" else None, tz)
        f = target.fields.get(key)
        refers = "user" if value_kind(target, key) == "user" else (type_of(f).refers_to if f else None)
        title = None
        if refers == "record" and how == "reference":
            linked = forms[f["form"]]
            if linked.title_field and not link:
                alias, lfa = self._join(key, linked)
                if linked.title_field not in lfa.hidden() and lfa.can("view"):
                    title = alias.c[self.runtime.form_tables(linked.key).columns[linked.title_field].name]
        return Key(expr, how, refers, title)

    def _measured(self, ft, m) -> tuple[str, object]:
        value = None if m.field is None else column(ft, m.field)
        if m.where:
            cond = self._condition(m.where)
            value = sa.case((cond, sa.literal(1) if value is None else value), else_=None)
        return m.agg, value

    # -- statements ---------------------------------------------------------------
    def statement(self, dims: tuple[int, ...], extra_where=()):
        """GROUP BY the dimensions `dims` (indexes): keys (and link titles), then measures."""
        keys = [self.keys[i].expr for i in dims] + [self.keys[i].title for i in dims if self.keys[i].title is not None]
        g = grouped(keys, self.measured, [*self.where, *extra_where], select_from=self.from_)
        return g, self._with_ratios(g)

    def _with_ratios(self, g) -> list:
        """Every measure's outer expression, ratios divided in SQL."""
        by_name, out, i = {}, [], 0
        for m in self.widget.source.measures:
            if m.ratio is None:
                by_name[m.key] = g.values[i]
                out.append(g.values[i])
                i += 1
        values = []
        for m in self.widget.source.measures:
            if m.ratio is None:
                values.append(by_name[m.key])
            else:
                num, dens = m.ratio
                den = sum((sa.func.coalesce(by_name[d], 0) for d in dens[1:]), sa.func.coalesce(by_name[dens[0]], 0))
                values.append(sa.cast(by_name[num], sa.Float) / sa.func.nullif(den, 0))
        return values


def _order(plan: Plan, g, values, dims: tuple[int, ...]) -> list:
    sort = plan.widget.source.sort
    keys = g.group_keys[:len(dims)]  # a bucket's first moment sorts as its key does
    natural = [x for k in keys for x in (k.is_(None), k)]
    if not sort:
        return natural
    name, desc = sort.lstrip("-+"), sort.startswith("-")
    names = [m.key for m in plan.widget.source.measures]
    if name in names:
        expr = values[names.index(name)]
        return [sa.func.coalesce(expr, 0).desc() if desc else sa.func.coalesce(expr, 0).asc(), *natural]
    fields = [plan.widget.source.dimensions[i].field for i in dims]
    if name in fields:
        k = g.group_keys[fields.index(name)]
        return [k.is_(None), k.desc() if desc else k.asc(), *natural]
    return natural


def run(plan: Plan, dims: tuple[int, ...], extra_where=(), limit: int | None = None) -> list[tuple]:
    g, values = plan.statement(dims, extra_where)
    titles = [i for i in dims if plan.keys[i].title is not None]
    stmt = sa.select(*g.keys, *values)
    if g.keys:
        stmt = stmt.group_by(*g.group_keys).order_by(*_order(plan, g, values, dims))
    if limit:
        stmt = stmt.limit(limit)
    out = []
    for row in db.session.execute(stmt).all():
        keys = list(row[:len(dims)])
        title = dict(zip(titles, row[len(dims):len(dims) + len(titles)], strict=True))
        out.append((keys, [title.get(i) for i in dims], list(row[len(dims) + len(titles):])))
    return out


def run_sets(plan: Plan, sets: list[tuple[int, ...]], limit: int) -> dict[tuple[int, ...], list[tuple]]:
    """The rows of several groupings (a pivot's subtotals and totals): on PostgreSQL in one
    scan (GROUPING SETS), elsewhere one GROUP BY each. Rows as `run` gives them."""
    if db.engine.dialect.name != "postgresql" or len(sets) < 2:
        return {s: run(plan, s, limit=limit) for s in sets}
    dims = tuple(sorted(set().union(*sets)))
    g, values = plan.statement(dims)
    n, gk = len(dims), g.group_keys
    with_title = [d for d in dims if plan.keys[d].title is not None]
    title_at = {d: n + j for j, d in enumerate(with_title)}

    def columns(s):
        return sa.tuple_(*[gk[dims.index(d)] for d in s], *[gk[title_at[d]] for d in s if d in title_at])

    flag = sa.func.grouping(*gk[:n])
    stmt = sa.select(*g.keys, flag, *values).group_by(sa.func.grouping_sets(*[columns(s) for s in sets]))
    stmt = stmt.order_by(flag, *[x for k in gk[:n] for x in (k.is_(None), k)]).limit(limit * len(sets))
    masks = {sum(1 << (n - 1 - i) for i, d in enumerate(dims) if d not in s): s for s in sets}
    out: dict[tuple[int, ...], list[tuple]] = {s: [] for s in sets}
    width = n + len(with_title)
    for row in db.session.execute(stmt).all():
        s = masks.get(row[width])
        if s is None:
            continue
        keys = [row[dims.index(d)] for d in s]
        titles = [row[title_at[d]] if d in title_at else None for d in s]
        out[s].append((keys, titles, list(row[width + 1:])))
    return out


def measure_json(plan: Plan, m, value):
    if m.ratio is not None:
        return None if value is None else float(value)
    return total_json(plan.form, m.field, m.agg, value)


def key_json(k: Key, value):
    if value is None or k.how in ("date", "options"):
        return value
    if k.how == "boolean":
        return bool(value)
    return int(value)


def kept(plan: Plan, values: list, keep: bool):
    key = plan.keys[0].expr
    present = [v for v in values if v is not None]
    inside = sa.or_(key.in_(present) if present else sa.false(), key.is_(None) if None in values else sa.false())
    return inside if keep else sa.not_(inside)


__all__ = ["OTHERS", "Plan", "key_json", "kept", "measure_json", "number", "run", "run_sets"]
