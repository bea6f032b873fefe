"""What each field is computed from, across forms: worked out once per published version.

A derived field is one the system fills from other fields: a formula (the fields its
expression names; a subform column counts as its subform), a lookup (its link and the field
it shows), a rollup (the other form's link, the field it aggregates and the fields its
`where` reads) and a linked field (data linkage: the fields its condition reads, on this
form and on the other, and the field it copies; a linked subform column counts as its
subform). Access hides from a reader every field computed, directly or down a chain, from
a field hidden from them (`runtime/access.py`), so `readers` is the transitive closure.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from formloom.runtime import conditions
from formloom.runtime.definition import FormDef
from formloom.runtime.fields import type_of

Slot = tuple[str, str]  # (form key, field key)


@dataclass(frozen=True)
class Dependencies:
    """Who reads whom: `readers[(form, key)]` holds every field computed from that field."""

    readers: dict[Slot, frozenset[Slot]] = field(default_factory=dict)
    # form -> other form -> its field -> the fields of the form computed from it
    foreign: dict[str, dict[str, dict[str, frozenset[str]]]] = field(default_factory=dict)

    def derived(self, form_key: str, keys) -> frozenset[str]:
        """`keys` of a form with every field of that form computed from any of them."""
        out = set(keys)
        for key in keys:
            out.update(k for f, k in self.readers.get((form_key, key), ()) if f == form_key)
        return frozenset(out)

    def computed_from(self, form_key: str, keys) -> dict[str, set[str]]:
        """Form -> its fields computed from `keys` of `form_key` (not `keys` themselves)."""
        out: dict[str, set[str]] = {}
        for key in keys:
            for f, k in self.readers.get((form_key, key), ()):
                if (f, k) != (form_key, key) and not (f == form_key and k in keys):
                    out.setdefault(f, set()).add(k)
        return out

    def from_other_forms(self, form_key: str) -> dict[str, dict[str, frozenset[str]]]:
        """Other form -> its field -> the fields of `form_key` computed from it."""
        return self.foreign.get(form_key, {})


def build(forms: dict[str, FormDef]) -> Dependencies:
    """The dependencies of the compiled top-level forms (anything broken is left out: the
    compiler reports it where it is)."""
    direct: dict[Slot, set[Slot]] = {}  # field -> the fields computed from it directly
    for form in forms.values():
        for key, reads in _inputs(forms, form).items():
            for slot in reads:
                if slot[0] in forms and slot[1] in forms[slot[0]].fields and slot != (form.key, key):
                    direct.setdefault(slot, set()).add((form.key, key))
    readers = {start: _reachable(direct, start) for start in direct}
    foreign: dict[str, dict[str, dict[str, set[str]]]] = {}
    for (form_key, key), slots in readers.items():
        for other, derived in slots:
            if other != form_key:
                foreign.setdefault(other, {}).setdefault(form_key, {}).setdefault(key, set()).add(derived)
    return Dependencies(readers, {f: {o: {k: frozenset(v) for k, v in by_key.items()} for o, by_key in by_other.items()}
                                  for f, by_other in foreign.items()})


def _reachable(direct: dict[Slot, set[Slot]], start: Slot) -> frozenset[Slot]:
    seen: set[Slot] = set()
    queue = deque(direct[start])
    while queue:
        slot = queue.popleft()
        if slot not in seen:
            seen.add(slot)
            queue.extend(direct.get(slot, ()))
    seen.discard(start)  # a chain through linkage may come back; a field is not its own reader
    return frozenset(seen)


def _inputs(forms: dict[str, FormDef], form: FormDef) -> dict[str, set[Slot]]:
    """Each derived field of `form` (a subform for its columns) -> the fields it reads directly."""
    out: dict[str, set[Slot]] = {}
    formulas = dict(form.formulas)
    for key, f in form.fields.items():
        reads: list = []
        if key in formulas:
            reads += [(form.key, ref[0]) for ref in formulas[key].references]
        elif type_of(f).copies_linked_value:
            reads += [(form.key, f.get("link")), (_get(form.fields, f.get("link")).get("form"), f.get("field"))]
        elif type_of(f).aggregates_linking_records:
            other = f.get("form")
            reads += [(other, f.get("link")), (other, f.get("field"))]
            reads += [(other, k) for k in conditions.fields_used(f.get("where"))]
        if isinstance(f.get("linkage"), dict):
            reads += _linked(f["linkage"])
            reads += [(form.key, k) for k in conditions.record_fields_used(f["linkage"].get("where"))]
        for cf in form.children[key].fields.values() if key in form.children else ():
            if isinstance(cf.get("linkage"), dict):
                reads += _linked(cf["linkage"])  # what it reads of its own row stays in the subform
        reads = {r for r in reads if isinstance(r[0], str) and isinstance(r[1], str)}  # broken parts: reported
        if reads:
            out[key] = reads
    return out


def _get(fields: dict, key) -> dict:
    return (fields.get(key) or {}) if isinstance(key, str) else {}


def _linked(spec: dict) -> list:
    """What a linkage reads on the other form: the field it copies and the fields `where` names."""
    other = spec.get("form")
    return [(other, spec.get("field"))] + [(other, k) for k in conditions.fields_used(spec.get("where"))]
