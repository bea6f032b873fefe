"""The one place that decides what an actor may see and change.

Who is in an app: organisation admins; app members (by user, department or role, from
`app_members`); and anyone a grant of the published definition names. Per form, the
grants that name the actor (`runtime/grants.py`) decide the actions, the rows (a union
over grants, per action) and the fields (a field is hidden only if every grant that shows
the row hides it). App admins bypass grants.

Every record query goes through `FormAccess.scope`; every write through `FormAccess.permits`
and the field checks of the records service; every record that leaves the service goes
through `FormAccess.redact`, so hidden fields never reach a page, the API or a picker.
Other parts of the product (the current flow step) add field rules through
`FIELD_RULE_SOURCES`.

What is computed from a hidden field is hidden with it (`schema/dependencies.py`): a
formula, lookup, rollup or linked field of this form computed from a field hidden here (by
the grants, each grant on its own, or by a rule source), and one computed from a field that
a grant of its own form hides from the actor (`withheld`), whatever rows of that form the
actor may see: lookups and rollups read every source record, as reference data.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from formloom.platform import epoch, hooks, orgtree, reqcache
from formloom.platform.actor import Actor
from formloom.platform.extensions import db
from formloom.platform.models import App, AppMember, Role
from formloom.runtime import conditions
from formloom.runtime.apps import runtime_for
from formloom.runtime.exceptions import NotFound, PermissionDenied
from formloom.runtime.grants import Grant
from formloom.runtime.schema.validate import operand_resolver
from formloom.runtime.storage.store import flat_values, load_records

WRITE_ACTIONS = frozenset(("add", "edit", "delete", "import", "bulk_edit"))


@dataclass(frozen=True)
class FieldRules:
    """Fields one source hides or keeps read-only for one record."""

    hidden: frozenset[str] = frozenset()
    readonly: frozenset[str] = frozenset()


FIELD_RULE_SOURCES = hooks.Listeners(
    "field_rules", "(actor, runtime, form_key, record) -> FieldRules | None: more hidden or read-only fields "
    "for this record (the flow engine adds its step's rules).")


# -- who is in the app -------------------------------------------------------------
def _membership(actor: Actor, app_id: int) -> str | None:
    """"admin" / "member" from the app_members rows naming the actor's user, department or role."""
    def compute():
        ancestors = orgtree.department_ancestors(actor.department_id)
        role_ids = sa.select(Role.id).where(Role.key.in_(sorted(actor.role_keys)))
        who = [AppMember.user_id == actor.user_id, AppMember.role_id.in_(role_ids)]
        if ancestors:
            who.append(AppMember.department_id == ancestors[0])
            who.append(sa.and_(AppMember.department_id.in_(ancestors[1:]), AppMember.include_children))
        flags = db.session.execute(sa.select(AppMember.is_admin).where(
            AppMember.app_id == app_id, sa.or_(*who))).scalars().all()
        if not flags:
            return None
        return "admin" if any(flags) else "member"

    key = (actor.user_id, actor.department_id, actor.role_keys, app_id)
    return reqcache.cached("membership", key, lambda: epoch.cached("membership", key, compute))


def _ancestors(actor: Actor) -> list[int]:
    return reqcache.cached("ancestors", actor.department_id, lambda: orgtree.department_ancestors(actor.department_id))


def grant_names(to: dict, actor: Actor, member: bool) -> bool:
    """Whether a grant's `to` names the actor; `member`: the actor is an app member."""
    if "role" in to:
        return to["role"] in actor.role_keys
    if "user" in to:
        return actor.user_id == to["user"]
    if "department" in to:
        if actor.department_id == to["department"]:
            return True
        return to.get("include_children", True) and to["department"] in _ancestors(actor)[1:]
    return bool(to.get("members")) and member


def _published_runtime(app_id: int):

    version = epoch.cached("app_version", app_id, lambda: db.session.execute(
        sa.select(App.published_version).where(App.id == app_id)).scalar())
    return runtime_for(app_id, version) if version else None


def app_role(actor: Actor, app_id: int, runtime=None) -> str | None:
    """"admin", "member" or None for this actor in this app."""
    if actor.app_id is not None and actor.app_id != app_id:
        return None
    if actor.is_admin:
        return "admin"
    if actor.user_id is None:
        return None
    role = _membership(actor, app_id)
    if role is not None:
        return role
    runtime = runtime or _published_runtime(app_id)
    if runtime is not None and any(grant_names(g.to, actor, False) for grants in runtime.definition.grants.values()
                                   for g in grants):
        return "member"
    return None


def require_app(actor: Actor, runtime, write: bool = False, admin: bool = False) -> str:
    """The actor's role in the app. Raises NotFound (not in the app) or PermissionDenied."""
    role = app_role(actor, runtime.app_id, runtime)
    if role is None:
        # Not telling outsiders that the app exists.
        raise NotFound(f'No published app "{runtime.key}"')
    if write and actor.read_only:
        raise PermissionDenied("This API token is read-only")
    if admin and role != "admin":
        raise PermissionDenied("Only the app's administrators may do this")
    return role


# -- what the actor may do in one form ----------------------------------------------
DENIED = {
    "view": 'You may not see the records of "{form}"',
    "add": 'You may not add records to "{form}"',
    "edit": 'You may not change this record of "{form}"',
    "delete": 'You may not delete this record of "{form}"',
    "import": 'You may not import records into "{form}"',
    "export": 'You may not export the records of "{form}"',
    "print": 'You may not print the records of "{form}"',
    "bulk_edit": 'You may not change records of "{form}" in bulk',
    "reassign": 'You may not give records of "{form}" to someone else',
}


class FormAccess:
    """The grants naming one actor in one form, and what follows from them."""

    def __init__(self, actor: Actor, runtime, form_key: str):
        self.actor = actor
        self.runtime = runtime
        self.form = runtime.form(form_key)
        if self.form.parent:
            raise NotFound(f'"{form_key}" is a subform; its rows belong to records of "{self.form.parent}"')
        self.role = require_app(actor, runtime)
        self.admin = self.role == "admin"
        member = self.admin or _membership(actor, runtime.app_id) is not None
        self.grants: list[Grant] = [] if self.admin else [
            g for g in runtime.definition.grants.get(form_key, []) if grant_names(g.to, actor, member)]
        self._sql: dict[int, Any] = {}
        self._python: dict[int, Any] = {}
        # Per rule-hidden set: what that hides with what follows from it (same for every record
        # a rule source leaves alone: a page of 50 asks once, not 50 times).
        self._by_rule: dict[frozenset[str], frozenset[str]] = {}
        self._from_others: frozenset[str] | None = None

    # actions
    def can(self, action: str) -> bool:
        """Whether the actor may do `action` to some record of the form."""
        if self.actor.read_only and action in WRITE_ACTIONS:
            return False
        return self.admin or any(g.allows(action) for g in self.grants)

    def refuse_owner(self, value, current_owner=None) -> None:
        """PermissionDenied, naming the owner field, when the actor sets a record's owner to
        someone other than themselves (`current_owner`: what it is now, on a change) and no
        grant lets them reassign. The system (automations) and app admins may. Leaving it
        empty plants nothing in anyone's rows (and a form that omits the input sends that)."""
        key = self.form.owner_field
        if key is None or self.actor.user_id is None or value in (None, self.actor.user_id, current_owner):
            return
        if self.can("reassign"):
            return
        raise PermissionDenied(f'You may not make someone else the owner ("{key}") of a record of '
                               f'"{self.form.name}": only app administrators and those a grant lets '
                               '"reassign" may; nothing was saved',
                               [{"field": key, "message": "may be set only to yourself"}])

    def require(self, action: str) -> None:
        if self.actor.read_only and action in WRITE_ACTIONS:
            raise PermissionDenied("This API token is read-only")
        if not self.can(action):
            raise PermissionDenied(DENIED[action].format(form=self.form.name))

    def permits(self, action: str, record: dict) -> bool:
        """Whether the actor may do `action` to this record."""
        if self.actor.read_only and action in WRITE_ACTIONS:
            return False
        return self.admin or bool(self._matching(action, record))

    # rows
    def env(self) -> conditions.Env:
        from formloom.runtime.records.context import (
            condition_env,  # records.context imports this module
        )

        return condition_env(self.actor, self.runtime)

    def scope(self, table: sa.Table, action: str = "view"):
        """SQL limiting `table` to the rows the actor may `action`."""
        if self.admin:
            return sa.true()
        parts = []
        for g in self.grants:
            if not g.allows(action):
                continue
            if g.rows is None:
                return sa.true()
            parts.append(self._grant_sql(g, table))
        return sa.or_(*parts) if parts else sa.false()

    def _grant_sql(self, g: Grant, table: sa.Table):
        from formloom.runtime.records.query import sql_resolver  # records.query imports this module

        key = (g.index, table.name)
        if key not in self._sql:
            self._sql[key] = conditions.to_sql(g.rows, sql_resolver(self.runtime, self.form.key), self.env())
        return self._sql[key]

    def _holds(self, g: Grant, values: dict) -> bool:
        if g.rows is None:
            return True
        if g.index not in self._python:
            self._python[g.index] = conditions.to_python(g.rows, operand_resolver(self.form), self.env())
        return bool(self._python[g.index](values))

    def _matching(self, action: str, record: dict) -> list[Grant]:

        candidates = [g for g in self.grants if g.allows(action)]
        if not candidates:
            return []
        values = flat_values(record)
        return [g for g in candidates if self._holds(g, values)]

    # fields
    def _extra(self, record: dict | None) -> FieldRules:
        if record is None or not FIELD_RULE_SOURCES:
            return FieldRules()
        hidden: set[str] = set()
        readonly: set[str] = set()
        for source in FIELD_RULE_SOURCES:
            rules = source(self.actor, self.runtime, self.form.key, record)
            if rules is not None:
                hidden |= rules.hidden
                readonly |= rules.readonly
        return FieldRules(frozenset(hidden), frozenset(readonly))

    def hidden(self, record: dict | None = None) -> frozenset[str]:
        """Fields the actor may not see: in this record, or (None) in any record they see."""
        # What rule sources hide, what is computed from it, and what other forms keep from them.
        by_rule = self._extra(record).hidden
        extra = self._by_rule.get(by_rule)
        if extra is None:
            extra = self._by_rule[by_rule] = hidden_by_rule(self.actor, self.runtime, self.form.key, by_rule)
        if self.admin:
            return extra
        viewers = [g for g in self.grants if g.allows("view")]
        if record is not None and len({g.hidden for g in viewers}) > 1:
            viewers = self._matching("view", record)
        if not viewers:
            return frozenset(self.form.fields)
        if record is None:  # filters and sorts: only what every viewing grant shows
            return frozenset().union(*(g.hidden for g in viewers)) | extra
        return frozenset.intersection(*(g.hidden for g in viewers)) | extra

    def from_others(self) -> frozenset[str]:
        """Fields of this form computed from fields other forms keep from the actor."""
        if self._from_others is None:
            self._from_others = from_other_forms(self.actor, self.runtime, self.form.key)
        return self._from_others

    def unlisted(self) -> frozenset[str]:
        """Fields a reader's schemas leave out (`/schema`, the OpenAPI document): those they
        neither see nor may fill in."""
        return self.hidden() & self.hidden_when_adding()

    def locked(self, record: dict | None = None) -> frozenset[str]:
        """Fields the actor may not set: when adding (None) or in this record."""
        extra = self._extra(record)
        if self.admin:
            return extra.hidden | extra.readonly
        grants = [g for g in self.grants if g.allows("add")] if record is None else self._matching("edit", record)
        if not grants:
            return frozenset(self.form.fields)
        editable = frozenset().union(*(frozenset(self.form.fields) - g.hidden - g.readonly for g in grants))
        return (frozenset(self.form.fields) - editable) | extra.hidden | extra.readonly | self.from_others()

    def hidden_when_adding(self) -> frozenset[str]:
        """Fields a new-record form leaves out: hidden by every grant that lets the actor add."""
        if self.admin:
            return frozenset()
        adders = [g for g in self.grants if g.allows("add")]
        if not adders:
            return frozenset(self.form.fields)
        return frozenset.intersection(*(g.hidden for g in adders)) | self.from_others()

    def redact(self, record: dict) -> dict:
        """The record as the actor may read it.

        Fields they may not see are left out (`hidden` names them); `allowed` says which of
        edit and delete they may do to it, and `locked` which fields they may not change.
        """
        out = dict(record)
        hidden = self.hidden(record)
        if hidden:
            out["fields"] = {k: v for k, v in record["fields"].items() if k not in hidden}
            out["hidden"] = sorted(hidden)
        out["allowed"] = [a for a in ("edit", "delete") if self.permits(a, record)]
        if "edit" in out["allowed"]:
            out["locked"] = sorted(self.locked(record) - hidden)
        return out


def withheld(actor: Actor, runtime, form_key: str) -> frozenset[str]:
    """Fields of a form that some grant there naming the actor hides (with what they compute
    there): what lookups, rollups and linked fields of other forms may not show them."""
    def compute():
        if app_role(actor, runtime.app_id, runtime) == "admin":
            return frozenset()
        member = actor.user_id is not None and _membership(actor, runtime.app_id) is not None
        return frozenset().union(*(g.hidden for g in runtime.definition.grants.get(form_key, ())
                                   if grant_names(g.to, actor, member)))

    return reqcache.cached("withheld", (actor, runtime.app_id, runtime.version, form_key), compute)


def from_other_forms(actor: Actor, runtime, form_key: str) -> frozenset[str]:
    """Fields of a form computed from fields of other forms `withheld` from the actor."""
    def compute():
        out: set[str] = set()
        for other, readers in runtime.definition.dependencies.from_other_forms(form_key).items():
            for key in withheld(actor, runtime, other) & readers.keys():
                out |= readers[key]
        return frozenset(out)

    return reqcache.cached("from_others", (actor, runtime.app_id, runtime.version, form_key), compute)


def hidden_by_rule(actor: Actor, runtime, form_key: str, keys) -> frozenset[str]:
    """Fields another rule (a flow step) hides in a form, with what is computed from them and
    what is computed from fields other forms keep from the actor."""
    return runtime.definition.dependencies.derived(form_key, keys) | from_other_forms(actor, runtime, form_key)


def form_access(actor: Actor, runtime, form_key: str) -> FormAccess:
    """The actor's FormAccess, made once per request."""
    key = (actor, runtime.app_id, runtime.version, form_key)
    return reqcache.cached("form_access", key, lambda: FormAccess(actor, runtime, form_key))


def record_scope(actor: Actor, runtime, form_key: str, table: sa.Table, action: str = "view"):
    """The SQL condition limiting `table` to the records the actor may `action`."""
    return form_access(actor, runtime, form_key).scope(table, action)


def may_download(actor: Actor, runtime, row) -> bool:
    """Whether the actor may download a stored file of this app.

    Its uploader may (until a record holds it, nobody else knows it); otherwise a record
    the actor may see must hold it in a field the actor may see. The id alone is not enough.
    """
    if row.app_id != runtime.app_id:
        return False
    if app_role(actor, runtime.app_id, runtime) == "admin" or (row.created_by_id and row.created_by_id == actor.user_id):
        return True
    pattern = f"%{row.id}%"

    for form_key, form in runtime.definition.forms.items():
        if form.parent:
            continue
        fa = form_access(actor, runtime, form_key)
        ft = runtime.form_tables(form_key)
        for key, holder, column in _file_columns(form, ft):
            stmt = sa.select(ft.table.c.id).where(fa.scope(ft.table), ft.table.c.deleted_at.is_(None))
            if holder is not ft.table:
                stmt = stmt.join(holder, holder.c.parent_id == ft.table.c.id)
            ids = db.session.execute(stmt.where(sa.cast(column, sa.Text).like(pattern)).limit(20)).scalars().all()
            if any(key not in fa.hidden(record) for record in load_records(ft, ids).values()):
                return True
    return False


def _file_columns(form, ft):
    """(field key, table, column) of each file field: top-level, and inside subform rows."""
    for key in form.file_fields:
        if key in ft.columns:
            yield key, ft.table, ft.columns[key]
    for key, child in form.children.items():
        child_ft = ft.children.get(key)
        for ckey in child.file_fields:
            if child_ft is not None and ckey in child_ft.columns:
                yield key, child_ft.table, child_ft.columns[ckey]


def refuse_fields(fa: FormAccess, keys) -> None:
    """PermissionDenied naming the fields the actor tried to set but may not."""
    order = list(fa.form.fields)
    keys = sorted(keys, key=lambda k: order.index(k) if k in order else len(order))
    if keys:
        raise PermissionDenied(f'You may not set these fields of "{fa.form.name}": {", ".join(keys)}; nothing was saved',
                               [{"field": k, "message": "may not be set by you"} for k in keys])


__all__ = ["FIELD_RULE_SOURCES", "FieldRules", "FormAccess", "app_role", "form_access", "from_other_forms",
           "hidden_by_rule", "record_scope", "refuse_fields", "require_app", "withheld"]
