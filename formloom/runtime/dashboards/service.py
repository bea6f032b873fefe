"""A dashboard as one reader uses it: its filters' values, each widget's data (the answer of
`GET .../dashboards/{d}/widgets/{w}/data`), and the condition behind a number (drill-down).

Data: `{"columns": [{"key", "label", ...}], "rows": [[dimension values..., measure
values...]]}` as DESIGN.md section 9 fixes it, plus `keys` (each row's raw group keys: a
link's or a user's id), `labels` (a select's option labels), `totals` (the further groupings
a kind shows: a pivot's subtotals), `capped` (a limit's cut) and, for a KPI or a gauge,
`compare` and `target`.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.i18n import localized
from formloom.platform.models import Department, User
from formloom.runtime import access
from formloom.runtime.dashboards import periods, widget_types
from formloom.runtime.dashboards.aggregate import (
    OTHERS,
    Plan,
    kept,
    key_json,
    measure_json,
    run,
    run_sets,
)
from formloom.runtime.dashboards.base import NAMED, Dashboard, DashFilter, Widget
from formloom.runtime.dashboards.fields import filter_fits, resolve
from formloom.runtime.exceptions import NotFound, ValidationFailed
from formloom.runtime.fields.select import option_label, options
from formloom.runtime.records.context import app_timezone
from formloom.runtime.views.base import value_kind

FILTER = "f_"  # query-string prefix of a dashboard filter's value: ?f_close_date=this_month
MAX_ROWS = 1000
MAX_DRILL_IDS = 5000  # linked records a drill-down through `link.field` names at most
AGG_WORDS = {"count": "Count", "sum": "Sum", "avg": "Average", "min": "Least", "max": "Greatest",
             "distinct": "Distinct"}


def get_dashboard(runtime, key: str) -> Dashboard:
    dash = runtime.definition.dashboards.get(key)
    if dash is None:
        raise NotFound(f'App "{runtime.key}" has no dashboard "{key}"')
    return dash


def get_widget(dash: Dashboard, key: str) -> Widget:
    widget = dash.widgets.get(key)
    if widget is None:
        raise NotFound(f'Dashboard "{dash.key}" has no widget "{key}"')
    return widget


# -- filters --------------------------------------------------------------------------

def filter_values(dash: Dashboard, args: Mapping) -> dict[str, str | None]:
    """Each filter's value: the request's (`f_<key>`, empty for none) or its default."""
    out = {}
    for f in dash.filters:
        raw = args.get(FILTER + f.key)
        out[f.key] = (raw.strip() or None) if isinstance(raw, str) else (None if f.default is None else str(f.default))
    return out


def _filter_condition(f: DashFilter, value: str, today: date) -> dict | None:
    if f.kind == "date_range":
        return periods.condition(f.field, periods.parse(value, today, FILTER + f.key))
    if f.kind in NAMED:
        if value == "me" and f.kind == NAMED[0]:
            return {"field": f.field, "op": "eq", "value": {"var": "user.id"}}
        if not value.isdecimal() or len(value) > 12:
            raise ValidationFailed(f'"{value}" is not a {f.kind} id', [{"field": FILTER + f.key, "message": "is not an id"}])
        return {"field": f.field, "op": "eq", "value": int(value)}
    return {"field": f.field, "op": "in", "value": [v for v in value.split(",") if v][:100]}


def applying(dash: Dashboard, widget: Widget, runtime) -> list[DashFilter]:
    form = runtime.form(widget.source.form)
    return [f for f in dash.filters if filter_fits(form, f.field, f.kind)]


def _period(dash, widget, runtime, values, today, args: Mapping) -> tuple[str, periods.Range] | None:
    """The date field and range a KPI or gauge counts in: its own `period`, unless the reader
    set a date filter on that field (a filter's default does not replace it); without a
    `period`, the date filter's value."""
    own = widget.raw.get("period")
    for f in applying(dash, widget, runtime):
        chosen = values.get(f.key) and (own is None or (own["field"] == f.field and FILTER + f.key in args))
        if f.kind == "date_range" and chosen and (own is None or own["field"] == f.field):
            return f.field, periods.parse(values[f.key], today, FILTER + f.key)
    if own:
        return own["field"], periods.preset(own["range"], today)
    return None


def conditions_for(dash: Dashboard, widget: Widget, runtime, values: dict, hidden=frozenset(),
                   skip: str | None = None) -> list[dict]:
    """The conditions the dashboard's filters put on this widget (one that names a field
    hidden from the reader is not applied: it would tell nothing they may know)."""
    today = periods.today_in(app_timezone(runtime))
    out = []
    for f in applying(dash, widget, runtime):
        if values.get(f.key) and f.field not in hidden and f.field != skip:
            cond = _filter_condition(f, values[f.key], today)
            if cond:
                out.append(cond)
    return out


# -- data -----------------------------------------------------------------------------

def widget_data(actor: Actor, runtime, dash_key: str, widget_key: str, args: Mapping, condition=None,
                locale: str = "zh") -> dict:
    dash = get_dashboard(runtime, dash_key)
    widget = get_widget(dash, widget_key)
    values = filter_values(dash, args)
    today = periods.today_in(app_timezone(runtime))
    period = _period(dash, widget, runtime, values, today, args)
    probe = Plan(actor, runtime, widget)  # refuses a widget reading hidden fields before any filter does
    conds = conditions_for(dash, widget, runtime, values, probe.hidden, skip=period[0] if period else None)
    conds += [condition] if condition is not None else []
    span_cond = periods.condition(*period) if period else None
    plan = Plan(actor, runtime, widget, conds + ([span_cond] if span_cond else []))
    body = _table(plan, locale)
    if widget.type in ("kpi", "gauge"):
        _kpi(plan, widget, body, period, actor, runtime, conds)
    return body


def _kpi(plan, widget, body, period, actor, runtime, conds) -> None:
    value = body["rows"][0][-1] if body["rows"] else None
    if period:
        body["period"] = {"field": period[0], "from": _iso(period[1][0]), "to": _iso(period[1][1])}
    how = widget.raw.get("compare")
    if how and period:
        before = periods.previous(period[1], how)
        if before:
            prev_plan = Plan(actor, runtime, widget, conds + [periods.condition(period[0], before)])
            prev = _table(prev_plan, "en")["rows"]
            pv = prev[0][-1] if prev else None
            change = None if not pv or value is None else (value - pv) / abs(pv)
            body["compare"] = {"value": pv, "change": change, "from": _iso(before[0]), "to": _iso(before[1])}
    target = widget.raw.get("target", widget.raw.get("max") if widget.type == "gauge" else None)
    if target is not None:
        body["target"] = {"value": target, "progress": None if value is None or not target else value / target}


def _iso(d):
    return d.isoformat() if d else None


def _table(plan: Plan, locale: str) -> dict:
    widget, src = plan.widget, plan.widget.source
    n = len(src.dimensions)
    dims = tuple(range(n))
    body: dict = {"columns": _columns(plan, locale)}
    if src.limit and n:
        # Every group of the first dimension in the sort's order (one GROUP BY): the first
        # `limit` make the cut; with one dimension they are the rows themselves.
        ranked = run(plan, (0,), limit=MAX_ROWS + 1)
        groups = len(ranked)
        top = [r[0][0] for r in ranked[:src.limit]]
        if n == 1:
            rows = ranked[:src.limit]
        else:
            rows = run(plan, dims, [kept(plan, top, True)], limit=MAX_ROWS + 1)
            rank = {v: i for i, v in enumerate(top)}
            rows.sort(key=lambda r: rank.get(r[0][0], len(rank)))
        if src.others and groups > len(top):
            for keys, titles, vals in run(plan, dims[1:], [kept(plan, top, False)], limit=MAX_ROWS):
                rows.append(([OTHERS, *keys], [None, *titles], vals))
        body["capped"] = {"limit": src.limit, "groups": min(groups, MAX_ROWS)}
        if groups > MAX_ROWS:
            body["capped"]["more"] = True
    else:
        rows = run(plan, dims, limit=MAX_ROWS + 1)
        if len(rows) > MAX_ROWS:
            rows, body["more"] = rows[:MAX_ROWS], True
        if n and not src.sort:
            rows = _option_order(plan, rows)
    names = _names(plan, [rows])
    body["rows"] = [_row(plan, dims, r, names) for r in rows]
    body["keys"] = [[_raw(plan, i, k) for i, k in zip(dims, r[0], strict=True)] for r in rows]
    sets = widget_types.get(widget.type).grouping_sets(widget)
    if sets:
        body["totals"] = []
        found = run_sets(plan, sets, MAX_ROWS)
        for s in sets:
            trows = found[s]
            tnames = _names(plan, [trows], s)
            body["totals"].append({"dimensions": [src.dimensions[i].key for i in s],
                                   "rows": [_row(plan, s, r, tnames) for r in trows],
                                   "keys": [[_raw(plan, i, k) for i, k in zip(s, r[0], strict=True)] for r in trows]})
    labels = {}
    for i, d in enumerate(src.dimensions):
        if plan.keys[i].how == "options":
            target, key, _ = resolve(plan.runtime.definition.forms, plan.form, d.field)
            f = target.fields[key]
            labels[d.key] = {o["value"]: option_label(f, o["value"], locale) for o in options(f)}
    if labels:
        body["labels"] = labels
    return body


def _raw(plan, i, value):
    return OTHERS if value == OTHERS else key_json(plan.keys[i], value)


def _option_order(plan: Plan, rows: list) -> list:
    """A select dimension keeps its options' order (then values no longer among them, then none)."""
    order_keys = []
    for i, d in enumerate(plan.widget.source.dimensions):
        if plan.keys[i].how == "options":
            target, key, _ = resolve(plan.runtime.definition.forms, plan.form, d.field)
            rank = {o["value"]: j for j, o in enumerate(options(target.fields[key]))}
            order_keys.append(lambda v, rank=rank: (v is None, rank.get(v, len(rank)), str(v)))
        else:
            order_keys.append(lambda v: (v is None, str(v) if v is not None else ""))
    return sorted(rows, key=lambda r: tuple(order_keys[i](v) for i, v in enumerate(r[0])))


def _names(plan: Plan, groups: list, dims=None) -> dict:
    """Users' and departments' names for the ids in these rows (one query each)."""
    dims = tuple(range(len(plan.keys))) if dims is None else dims
    ids: dict[str, set] = {kind: set() for kind in NAMED}
    for rows in groups:
        for keys, _titles, _vals in rows:
            for i, v in zip(dims, keys, strict=True):
                kind = plan.keys[i].refers_to
                if kind in ids and isinstance(v, int):
                    ids[kind].add(v)
    out: dict[str, dict] = {kind: {} for kind in NAMED}
    for kind, model in zip(NAMED, (User, Department), strict=True):
        if ids[kind]:
            out[kind] = dict(db.session.execute(sa.select(model.id, model.name).where(model.id.in_(ids[kind]))).all())
    return out


def _row(plan: Plan, dims, r, names) -> list:
    keys, titles, vals = r
    out = []
    for i, k, title in zip(dims, keys, titles, strict=True):
        key = plan.keys[i]
        if k == OTHERS or k is None:
            out.append(k)
        elif key.refers_to in NAMED:
            out.append(names[key.refers_to].get(int(k)) or f"#{k}")
        elif key.refers_to == "record":
            out.append(title if title not in (None, "") else f"#{k}")
        else:
            out.append(key_json(key, k))
    measures = plan.widget.source.measures
    return out + [measure_json(plan, m, v) for m, v in zip(measures, vals, strict=True)]


def _columns(plan: Plan, locale: str) -> list[dict]:
    forms = plan.runtime.definition.forms
    cols = []
    for i, d in enumerate(plan.widget.source.dimensions):
        target, key, link = resolve(forms, plan.form, d.field)
        label = localized(d.raw, "label", locale)
        if not label:
            label = _field_label(target, key, locale)
            if link:
                label = f"{_field_label(plan.form, link, locale)} · {label}"
        cols.append({"key": d.key, "label": label, "role": "dimension", "type": plan.keys[i].how,
                     **({"bucket": d.bucket} if d.bucket else {})})
    for m in plan.widget.source.measures:
        label = localized(m.raw, "label", locale)
        if not label:
            label = _(AGG_WORDS.get(m.agg or "", "Ratio"))
            if m.field:
                label = f"{label} · {_field_label(plan.form, m.field, locale)}"
            elif m.ratio:
                label = m.key
        col = {"key": m.key, "label": label, "role": "measure", "format": _format(plan.form, m)}
        if col["format"] == "currency":
            col["currency"] = (plan.form.fields.get(m.field or "") or {}).get("currency", "CNY")
        precision = m.raw.get("precision", (plan.form.fields.get(m.field or "") or {}).get("precision"))
        if precision is not None and m.agg not in ("count", "distinct"):
            col["precision"] = precision
        cols.append(col)
    return cols


def _format(form, m) -> str:
    if m.raw.get("format"):
        return m.raw["format"]
    if m.ratio:
        return "percent"
    f = form.fields.get(m.field or "")
    if f and m.agg in ("sum", "avg", "min", "max") and f.get("display") == "currency":
        return "currency"
    if m.field and m.agg in ("min", "max") and value_kind(form, m.field) in ("date", "datetime"):
        return "date"
    return "number"


def _field_label(form, key: str, locale: str) -> str:
    if key in form.fields:
        return form.label(key, locale)
    return {"$owner": _("Owner"), "$created_by": _("Created by"), "$created_at": _("Created"),
            "$updated_at": _("Updated"), "$flow_status": _("Status"), "$id": "ID"}.get(key, key)


# -- drill-down -----------------------------------------------------------------------

def bucket_span(bucket: str, key: str) -> periods.Range:
    """The dates of one bucket key ("2026-03" -> 1 to 31 March)."""
    if bucket == "day":
        d = date.fromisoformat(key)
        return d, d
    if bucket == "week":
        d = date.fromisoformat(key)
        return d, d + timedelta(days=6)
    if bucket == "month":
        first = date.fromisoformat(f"{key}-01")
        return first, _month_last(first)
    if bucket == "quarter":
        year, q = int(key[:4]), int(key[-1])
        start = date(year, 3 * q - 2, 1)
        return start, _month_last(date(year, 3 * q, 1))
    return date(int(key), 1, 1), date(int(key), 12, 31)


def _month_last(first: date) -> date:
    nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def drill_condition(actor: Actor, runtime, dash_key: str, widget_key: str, args: Mapping,
                    keys: list, measure: str | None = None) -> dict:
    """The condition, on the widget's form, for the records behind one row of its data (`keys`:
    the row's raw group keys as `keys` gives them): its `where`, the dashboard's filters, the
    measure's own `where`, and each dimension's value. Raises ValidationFailed for keys that
    are not this widget's."""
    dash = get_dashboard(runtime, dash_key)
    widget = get_widget(dash, widget_key)
    src = widget.source
    plan = Plan(actor, runtime, widget)
    values = filter_values(dash, args)
    today = periods.today_in(app_timezone(runtime))
    period = _period(dash, widget, runtime, values, today, args)
    parts = [src.where] if src.where else []
    parts += conditions_for(dash, widget, runtime, values, plan.hidden, skip=period[0] if period else None)
    if period and periods.condition(*period):
        parts.append(periods.condition(*period))
    m = next((x for x in src.measures if x.key == measure), None)
    if m is not None and m.where:
        parts.append(m.where)
    if not isinstance(keys, list) or len(keys) > len(src.dimensions):
        raise ValidationFailed("The row's keys do not fit this widget", [{"field": "keys", "message": "do not fit"}])
    for i, value in enumerate(keys):
        parts.append(_dimension_condition(plan, i, value))
    parts = [p for p in parts if p]
    if not parts:
        return {}
    return parts[0] if len(parts) == 1 else {"all": parts}


def _dimension_condition(plan: Plan, i: int, value) -> dict | None:
    dim = plan.widget.source.dimensions[i]
    key = plan.keys[i]
    bad = ValidationFailed(f'"{value}" is not a value of "{dim.field}"', [{"field": "keys", "message": "do not fit"}])
    if value == OTHERS:
        return None  # the rest: not narrowed further
    if dim.link:
        field = dim.link
        target, tkey, _ = resolve(plan.runtime.definition.forms, plan.form, dim.field)
        lt = plan.runtime.form_tables(target.key)
        col = lt.columns[tkey] if tkey in lt.columns else lt.table.c[tkey]
        if value is None:
            where = col.is_(None)
        elif key.how == "date":
            lo, hi = bucket_span(dim.bucket, value)
            where = col.between(lo, hi)
        else:
            where = col == value
        # The linked records the reader may see with that value (as the widget joined them).
        scope = access.form_access(plan.actor, plan.runtime, target.key).scope(lt.table)
        ids = list(db.session.execute(sa.select(lt.table.c.id).where(
            where, scope, lt.table.c.deleted_at.is_(None)).limit(MAX_DRILL_IDS)).scalars())
        matching = {"field": field, "op": "in", "value": ids or [0]}
        if value is None:  # no linked record, or one without a value, or one they may not see
            visible = list(db.session.execute(sa.select(lt.table.c.id).where(
                col.is_not(None), scope, lt.table.c.deleted_at.is_(None)).limit(MAX_DRILL_IDS)).scalars())
            return {"not": {"field": field, "op": "in", "value": visible or [0]}}
        return matching
    if value is None:
        return {"field": dim.field, "op": "is_empty"}
    if key.how == "date":
        if not isinstance(value, str):
            raise bad
        try:
            lo, hi = bucket_span(dim.bucket, value)
        except (ValueError, IndexError):
            raise bad from None
        return {"field": dim.field, "op": "between", "value": [lo.isoformat(), hi.isoformat()]}
    if key.how == "reference" and not (isinstance(value, int) and not isinstance(value, bool)):
        raise bad
    if key.how == "boolean" and not isinstance(value, bool):
        raise bad
    if key.how == "options" and not isinstance(value, str):
        raise bad
    return {"field": dim.field, "op": "eq", "value": value}
