"""The kinds of flow step: what each accepts at publish and what it does when a flow reaches it.

`enter(run, token, node)` is called by the engine (`run` is its `engine.Run`) when `token`
arrives at `node`; it returns the id of the node to go on to, or None when the token waits
(for approvers, or for the other cases of a parallel step).
"""
from __future__ import annotations

from formloom.runtime import conditions
from formloom.runtime.automations.model import Err
from formloom.runtime.fields import type_of
from formloom.runtime.flows.model import END, FlowNodeType, Node, flow_node_types
from formloom.runtime.schema.validate import operand_resolver

KEY = {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,29}$"}
NAME = {"type": "string", "maxLength": 200}
ASSIGNEE = {"oneOf": [
    {"type": "object", "required": ["users"], "additionalProperties": False,
     "properties": {"users": {"type": "array", "minItems": 1, "maxItems": 100,
                              "items": {"type": "integer", "minimum": 1}}}},
    {"type": "object", "required": ["role"], "additionalProperties": False, "properties": {"role": KEY}},
    {"type": "object", "required": ["field"], "additionalProperties": False,
     "properties": {"field": {"type": "string", "maxLength": 64}}},
    {"type": "object", "required": ["manager_of"], "additionalProperties": False,
     "properties": {"manager_of": {"type": "string", "maxLength": 64},
                    "level": {"type": "integer", "minimum": 1, "maximum": 10}}},
    {"type": "object", "required": ["department_head"], "additionalProperties": False,
     "properties": {"department_head": {"type": "integer", "minimum": 1}}},
], "x-message": 'must be one of {"users": [ids]}, {"role": key}, {"field": "<user field>"}, '
                '{"manager_of": "submitter" or "<user field>", "level": n} or {"department_head": id}'}
ASSIGNEES = {"anyOf": [ASSIGNEE, {"type": "array", "minItems": 1, "maxItems": 10, "items": ASSIGNEE}]}
USER_SYSTEM = ("$owner", "$created_by")


def _schema(required: tuple[str, ...], **properties) -> dict:
    return {"type": "object", "required": ["type", *required], "additionalProperties": False,
            "properties": {"type": {"type": "string"}, "key": KEY, "name": NAME, "name_en": NAME, **properties}}


def assignee_list(spec) -> list[dict]:
    return spec if isinstance(spec, list) else [spec]


def check_assignees(spec, ptr: str, form, err: Err) -> None:
    for i, one in enumerate(assignee_list(spec)):
        where = f"{ptr}/{i}" if isinstance(spec, list) else ptr
        key = one.get("field") or (one.get("manager_of") if one.get("manager_of") != "submitter" else None)
        if key is None:
            continue
        f = form.fields.get(key)
        if key not in USER_SYSTEM and (f is None or type_of(f).refers_to != "user"):
            what = "field" if "field" in one else "manager_of"
            err(f"{where}/{what}", f'"{key}" is not a user field of form "{form.key}"')


class Approval(FlowNodeType):
    type = "approval"
    schema = _schema(("key", "assignees"), assignees=ASSIGNEES,
                     mode={"enum": ["any", "all", "sequential"]},
                     fields={"type": "object", "additionalProperties": False,
                             "properties": {"editable": {"type": "array", "uniqueItems": True, "items": KEY},
                                            "hidden": {"type": "array", "uniqueItems": True, "items": KEY}}},
                     timeout={"type": "object", "required": ["after", "do"], "additionalProperties": False,
                              "properties": {"after": {"anyOf": [
                                  {"type": "string", "maxLength": 40},
                                  {"type": "object", "required": ["field"], "additionalProperties": False,
                                   "properties": {"field": KEY}}]},
                                  "do": {"enum": ["remind", "escalate", "approve", "reject"]}}})

    def check(self, spec: dict, ptr: str, form, err: Err) -> None:
        check_assignees(spec["assignees"], ptr + "/assignees", form, err)
        fields = spec.get("fields") or {}
        for verb in ("editable", "hidden"):
            for j, key in enumerate(fields.get(verb, [])):
                if key not in form.fields:
                    err(f"{ptr}/fields/{verb}/{j}", f'"{key}" is not a field of form "{form.key}"')
        both = set(fields.get("editable", [])) & set(fields.get("hidden", []))
        if both:
            err(ptr + "/fields", f"a field cannot be both editable and hidden: {', '.join(sorted(both))}")
        timeout = spec.get("timeout")
        if timeout:
            after = timeout["after"]
            if isinstance(after, str):
                from formloom.runtime.conditions.values import parse_duration

                delta = parse_duration(after)
                if delta is None or after.startswith("-"):
                    err(ptr + "/timeout/after", f'"{after}" is not an ISO 8601 duration such as "PT48H" or "P2D"')
            else:
                f = form.fields.get(after["field"])  # a formula giving a date counts, as for date_reached
                if (type_of(f).result_kind(f) if f else None) not in ("date", "datetime"):
                    err(ptr + "/timeout/after/field", f'"{after["field"]}" is not a date or date-time field of '
                                                      f'form "{form.key}"')

    def enter(self, run, token: str, node: Node) -> str | None:
        return run.open_approval(token, node)


class CarbonCopy(FlowNodeType):
    type = "cc"
    schema = _schema(("assignees",), assignees=ASSIGNEES)

    def check(self, spec, ptr, form, err):
        check_assignees(spec["assignees"], ptr + "/assignees", form, err)

    def enter(self, run, token, node):
        run.copy_to(token, node)
        return node.next


class Action(FlowNodeType):
    """Set fields of the record, or do automation actions (create a record, call a webhook, ...)."""

    type = "action"
    schema = _schema((), set={"type": "object", "minProperties": 1},
                     actions={"type": "array", "minItems": 1, "maxItems": 20, "items": {"type": "object"}})

    def check(self, spec, ptr, form, err, app=None):
        from formloom.runtime.automations import values as vals
        from formloom.runtime.automations.actions import check_action

        if "set" not in spec and "actions" not in spec:
            err(ptr, 'an action step needs "set" (fields of this record) or "actions"')
        if "set" in spec and app is not None:
            vals.check_set(spec["set"], ptr + "/set", form, form, app.types, err)
        for j, action in enumerate(spec.get("actions") or []):
            if app is not None:
                check_action(action, f"{ptr}/actions/{j}", app, form.key, err)

    def enter(self, run, token, node):
        run.do_actions(token, node)
        return node.next


class Branch(FlowNodeType):
    type = "branch"
    holds_steps = True
    schema = _schema(("cases",), cases={"type": "array", "minItems": 1, "maxItems": 20, "items": {
        "type": "object", "required": ["when", "steps"], "additionalProperties": False,
        "properties": {"name": NAME, "name_en": NAME, "when": {"type": "object"}, "steps": {"type": "array"}}}},
        default={"type": "array"})

    def check(self, spec, ptr, form, err):
        for i, case in enumerate(spec["cases"]):
            for pointer, message in conditions.validate(case["when"], operand_resolver(form)):
                err(f"{ptr}/cases/{i}/when{pointer}", message)

    def enter(self, run, token, node):
        for condition, first in node.cases:
            if run.holds(condition):
                return first
        return node.default


class Parallel(FlowNodeType):
    type = "parallel"
    holds_steps = True
    schema = _schema(("cases",), cases={"type": "array", "minItems": 2, "maxItems": 10, "items": {
        "type": "object", "required": ["steps"], "additionalProperties": False,
        "properties": {"name": NAME, "name_en": NAME, "steps": {"type": "array"}}}})

    def check(self, spec, ptr, form, err):
        pass

    def enter(self, run, token, node):
        return run.split(token, node)


class Join(FlowNodeType):
    """Where the cases of a parallel step meet (made by the compiler, never written)."""

    type = "join"

    def enter(self, run, token, node):
        return run.join(token, node)


for _kind in (Approval, CarbonCopy, Action, Branch, Parallel, Join):
    flow_node_types.register(_kind())

STEP_TYPES = ("approval", "cc", "action", "branch", "parallel")
__all__ = ["END", "STEP_TYPES"]
