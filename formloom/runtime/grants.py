"""Permission grants in an app definition: who may do what to which rows and fields of a form.

A grant names a form, whom it is `to` (a role, a user, a department, or every app member),
what it allows (a `preset`, refined or replaced by `actions` and `rows`) and which fields
it hides or keeps read-only. A field computed from a hidden field (formula, lookup, rollup,
linked field) is hidden with it: compiling adds the form's own ones to the grant's `hidden`,
and `runtime/access.py` those of other forms. Grants are compiled once per published
version; the runtime enforces them in `runtime/access.py`.

    {"form": "customer", "to": {"role": "sales_rep"}, "preset": "manage_own",
     "fields": {"hidden": ["credit_limit"], "readonly": ["tier"]}}
"""
from __future__ import annotations

from dataclasses import dataclass

from formloom.runtime.conditions import record_fields_used

# "reassign": set a record's owner (the form's owner field) to someone other than oneself.
# Only a grant that lists it allows it: no preset and not the members' default, so that
# nobody plants records in another user's rows by accident of a broad grant.
ACTIONS = ("view", "add", "edit", "delete", "import", "export", "print", "bulk_edit", "reassign")
EVERYTHING = tuple(a for a in ACTIONS if a != "reassign")  # what "manage_all" and the default allow

# Row scopes by name; anything else in "rows" is a condition.
OWN = {"field": "$owner", "op": "eq", "value": {"var": "user.id"}}
ROW_SCOPES = {
    "all": None,
    "own": OWN,
    "department": {"field": "$owner", "op": "in", "value": {"var": "user.department_members"}},
    "team": {"any": [OWN, {"field": "$owner", "op": "in", "value": {"var": "user.subordinates"}}]},
}

# Jiandaoyun's permission sets: (actions, rows).
PRESETS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "submit_only": (("add",), None),
    "manage_own": (("view", "add", "edit", "delete", "print"), "own"),
    "view_all": (("view", "print"), "all"),
    "add_view_all": (("view", "add", "print"), "all"),
    "manage_all": (EVERYTHING, "all"),
}


@dataclass(frozen=True)
class Grant:
    """One compiled grant. `rows` is a condition, or None for every row."""

    index: int  # its place in the definition's "permissions" (-1: the default for members)
    form: str
    to: dict
    actions: frozenset[str]
    rows: dict | None
    hidden: frozenset[str] = frozenset()  # the fields it names and those computed from them
    readonly: frozenset[str] = frozenset()
    name: str = ""
    named_hidden: frozenset[str] = frozenset()  # the fields it names as hidden

    def allows(self, action: str) -> bool:
        return action in self.actions


def default_grant(form) -> Grant:
    """What app members may do in a form no grant names: everything, on all rows or their own."""
    rows = OWN if form.members == "own" else None
    return Grant(index=-1, form=form.key, to={"members": True}, actions=frozenset(EVERYTHING), rows=rows)


def rows_condition(rows) -> dict | None:
    """A grant's "rows" as a condition (None: every row)."""
    if isinstance(rows, str):
        return ROW_SCOPES[rows]
    return rows


def compile_grant(index: int, raw: dict, dependencies=None) -> Grant:
    """A Grant from a definition entry that has been validated; `dependencies`
    (schema.dependencies) adds the fields computed from the hidden ones."""
    preset_actions, preset_rows = PRESETS.get(raw.get("preset"), ((), "all"))
    actions = raw.get("actions", preset_actions)
    rows = raw["rows"] if "rows" in raw else preset_rows
    fields = raw.get("fields") or {}
    named = frozenset(fields.get("hidden", ()))
    hidden = dependencies.derived(raw["form"], named) if dependencies is not None else named
    return Grant(index=index, form=raw["form"], to=dict(raw["to"]), actions=frozenset(actions),
                 rows=rows_condition(rows), hidden=hidden, readonly=frozenset(fields.get("readonly", ())),
                 name=raw.get("name", ""), named_hidden=named)


def check_grant(raw: dict, ptr: str, forms: dict, role_keys: set[str] | None, err, validate_rows,
                dependencies=None) -> None:
    """Report what is wrong with one grant, as (pointer, message) through `err`."""
    form = forms.get(raw.get("form"))
    if form is None:
        owner = next((f.key for f in forms.values() if raw.get("form") in f.children), None)
        if owner:
            err(ptr + "/form", f'"{raw.get("form")}" is a subform of "{owner}": grant access to "{owner}" instead')
        else:
            err(ptr + "/form", f'grants access to form "{raw.get("form")}", which this app does not have')
        return
    if "preset" not in raw and "actions" not in raw:
        err(ptr, f'say what the grant allows: a "preset" ({", ".join(PRESETS)}) or a list of "actions"')
    to = raw.get("to") or {}
    if "role" in to and role_keys is not None and to["role"] not in role_keys:
        err(ptr + "/to/role", f'role "{to["role"]}" is neither in the organisation nor in this app\'s "roles"')
    fields = raw.get("fields") or {}
    for kind in ("hidden", "readonly"):
        for j, key in enumerate(fields.get(kind, [])):
            if key not in form.fields:
                err(f"{ptr}/fields/{kind}/{j}", f'"{key}" is not a field of form "{form.key}"')
    if form.title_field and form.title_field in fields.get("hidden", []):
        err(ptr + "/fields/hidden", f'"{form.title_field}" is the form\'s title field and names its records '
                                    "everywhere: it cannot be hidden")
    elif dependencies is not None:
        for other, title in ((k, f.title_field) for k, f in forms.items() if f.title_field):
            sources = [k for k in fields.get("hidden", []) if k in form.fields
                       and title in dependencies.computed_from(form.key, [k]).get(other, ())]
            if sources:
                err(ptr + "/fields/hidden", f'"{title}", the title field of form "{other}", is computed from '
                                            f'{", ".join(sources)}: hiding it would hide the title, which names '
                                            "the records everywhere")
    rows = raw.get("rows")
    if isinstance(rows, dict):
        validate_rows(rows, form, ptr + "/rows")
        if record_fields_used(rows):
            err(ptr + "/rows", 'a grant\'s rows compare fields with the user ({"var": "user.id"}, ...), '
                               'not with {"var": "record...."}: there is no other record here')
