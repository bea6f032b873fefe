"""Validate and compile a definition's `dashboards`, with JSON-pointer errors."""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from jsonschema import Draft202012Validator

from formloom.runtime import conditions
from formloom.runtime.dashboards import widget_types
from formloom.runtime.dashboards.base import (
    PERIODS,
    Dashboard,
    DashFilter,
    Dimension,
    Measure,
    Source,
    Widget,
)
from formloom.runtime.dashboards.fields import dimension_kind, filter_fits, measurable
from formloom.runtime.schema.validate import operand_resolver, schema_errors


@lru_cache(maxsize=16)
def config_validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator(widget_types.get(kind).config_schema)


def compile_dashboards(raw_dashboards, forms: dict, err: Callable[[str, str], None]) -> dict[str, Dashboard]:
    """The valid dashboards by key; every problem reported through `err(pointer, message)`.
    A dashboard with a wrong widget is not compiled (the whole definition is refused)."""
    out: dict[str, Dashboard] = {}
    for i, raw in enumerate(raw_dashboards if isinstance(raw_dashboards, list) else []):
        ptr = f"/dashboards/{i}"
        if not isinstance(raw, dict) or not isinstance(raw.get("key"), str):
            continue  # the meta-schema has said what is wrong with it
        if raw["key"] in out:
            err(ptr + "/key", f'dashboard key "{raw["key"]}" is used twice')
            continue
        errors: list[tuple[str, str]] = []
        dash = _dashboard(raw, forms, errors.append)
        for p, m in errors:
            err(ptr + p, m)
        if not errors:
            out[dash.key] = dash
    return out


def _dashboard(raw: dict, forms: dict, add) -> Dashboard:
    def err(pointer: str, message: str) -> None:
        add((pointer, message))

    dash = Dashboard(key=raw["key"], raw=raw)
    for j, w in enumerate(raw.get("widgets") or []):
        if not isinstance(w, dict) or not isinstance(w.get("key"), str):
            continue
        if w["key"] in dash.widgets:
            err(f"/widgets/{j}/key", f'widget key "{w["key"]}" is used twice in this dashboard')
            continue
        widget = _widget(w, forms, lambda p, m, j=j: err(f"/widgets/{j}" + p, m))
        if widget is not None:
            dash.widgets[widget.key] = widget
    seen: set[str] = set()
    for j, f in enumerate(raw.get("filters") or []):
        if not isinstance(f, dict) or not isinstance(f.get("field"), str):
            continue
        flt = DashFilter(key=f.get("key") or f["field"], field=f["field"], kind=f.get("kind", "select"),
                         default=f.get("default"), raw=f)
        if flt.key in seen:
            err(f"/filters/{j}/key", f'filter "{flt.key}" is used twice in this dashboard')
        seen.add(flt.key)
        sources = [forms[w.source.form] for w in dash.widgets.values()]
        if not any(filter_fits(form, flt.field, flt.kind) for form in sources):
            err(f"/filters/{j}/field", f'no widget\'s form has a {flt.kind.replace("_", " ")} field "{flt.field}" '
                                       'to filter by')
        if flt.kind == "date_range" and flt.default is not None and flt.default not in PERIODS:
            err(f"/filters/{j}/default", "must be one of: " + ", ".join(PERIODS))
        dash.filters.append(flt)
    return dash


def _widget(raw: dict, forms: dict, err) -> Widget | None:
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in widget_types:
        err("/type", f'unknown widget type "{kind}"; known types: {", ".join(widget_types.types())}')
        return None
    problems = schema_errors(config_validator(kind), raw)
    for e in problems:
        err(e["pointer"], e["message"])
    if problems:
        return None
    src = raw["source"]
    form = forms.get(src["form"])
    if form is None or form.parent:
        err("/source/form", f'"{src["form"]}" is not a form of this app')
        return None
    found: list[tuple[str, str]] = []
    source = _source(src, form, forms, lambda p, m: found.append(("/source" + p, m)))
    widget = Widget(key=raw["key"], type=kind, source=source, raw=raw)
    period = raw.get("period")
    if period and dimension_kind(forms, form, period["field"]) != "date":
        found.append(("/period/field", f'"{period["field"]}" is not a date or date-and-time field of form "{form.key}"'))
    if not found:
        widget_types.get(kind).check(widget, lambda p, m: found.append((p, m)))
    for p, m in found:
        err(p, m)
    return widget


def _source(src: dict, form, forms: dict, err) -> Source:
    resolver = operand_resolver(form)
    if src.get("where"):
        for p, m in conditions.validate(src["where"], resolver):
            err("/where" + p, m)
    dims = []
    for j, d in enumerate(src.get("dimensions") or []):
        dim = Dimension(d["field"], d.get("bucket"), d)
        how = dimension_kind(forms, form, dim.field)
        if how == "missing":
            err(f"/dimensions/{j}/field", f'"{dim.field}" is not a field of form "{form.key}"'
                + (" (or not a link with that field)" if dim.link else ""))
        elif how is None:
            err(f"/dimensions/{j}/field", f'cannot group by "{dim.field}": group by a select, user, department, '
                                          'boolean, link or date field holding one value')
        elif how == "date" and dim.bucket is None:
            err(f"/dimensions/{j}", f'"{dim.field}" holds dates: say how to group them, e.g. '
                                    f'{{"field": "{dim.field}", "bucket": "month"}}')
        elif how != "date" and dim.bucket is not None:
            err(f"/dimensions/{j}/bucket", f'"{dim.field}" does not hold dates; a bucket groups dates only')
        dims.append(dim)
    measures: list[Measure] = []
    for j, m in enumerate(src["measures"]):
        measures.append(_measure(m, j, form, resolver, err))
    names = [m.key for m in measures]
    for j, name in enumerate(names):
        if name in names[:j]:
            err(f"/measures/{j}/as", f'two measures are called "{name}": give one another name with "as"')
    plain = {m.key for m in measures if m.ratio is None}
    for j, m in enumerate(measures):
        if m.ratio:
            for name in (m.ratio[0], *m.ratio[1]):
                if name not in plain:
                    err(f"/measures/{j}/ratio", f'"{name}" is not another measure of this widget (ratios divide measures)')
    sort = src.get("sort")
    if sort and sort.lstrip("-+") not in set(names) | {d.field for d in dims}:
        err("/sort", f'"{sort.lstrip("-+")}" is not a measure or a dimension of this widget')
    if src.get("others") and not src.get("limit"):
        err("/others", 'groups the rest beyond a "limit": set one')
    return Source(form=form.key, where=src.get("where"), dimensions=dims, measures=measures, sort=sort,
                  limit=src.get("limit"), others=bool(src.get("others")))


def _measure(m: dict, j: int, form, resolver, err) -> Measure:
    if "ratio" in m:
        to = m["ratio"]["to"]
        return Measure(key=m["as"], ratio=(m["ratio"]["of"], tuple([to] if isinstance(to, str) else to)), raw=m)
    agg, key = m["agg"], m.get("field")
    if key is None and agg != "count":
        err(f"/measures/{j}", f'a {agg} needs a "field"')
    elif key is not None:
        problem = measurable(form, key, agg)
        if problem:
            err(f"/measures/{j}/field", problem)
    if m.get("where"):
        for p, msg in conditions.validate(m["where"], resolver):
            err(f"/measures/{j}/where" + p, msg)
    name = m.get("as") or (agg if key is None else f"{agg}_{key.lstrip('$')}")
    return Measure(key=name, agg=agg, field=key, where=m.get("where"), raw=m)


