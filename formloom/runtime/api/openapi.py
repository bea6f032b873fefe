"""The OpenAPI 3.1 document, generated from the published definitions the caller can use.

Each form's fields are those the caller's `/schema` lists: none hidden from them.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import jsonify

from formloom.platform.api import actor
from formloom.platform.credentials import narrowed_to_token_app
from formloom.platform.extensions import db
from formloom.platform.models import App
from formloom.runtime import access
from formloom.runtime.api.base import bp
from formloom.runtime.api.dashboards import openapi_paths as dashboard_paths
from formloom.runtime.api.openapi_fixed import fixed_paths
from formloom.runtime.apps import get_runtime
from formloom.runtime.exceptions import NotFound
from formloom.runtime.records.projections import fields_schema
from formloom.runtime.records.refreshes import derived_fields
from formloom.runtime.views import query as views_query

PROBLEM = {"description": "A problem (RFC 9457)",
           "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _components() -> dict:
    return {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Problem": {"type": "object", "properties": {
                "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                "detail": {"type": "string"},
                "errors": {"type": "array", "items": {"type": "object", "properties": {
                    "field": {"type": ["string", "null"]}, "row": {"type": "integer"}, "index": {"type": "integer"},
                    "pointer": {"type": "string"}, "message": {"type": "string"}}}}}},
            "Condition": {"type": "object", "description": "A condition of the condition language (docs/definition-format.md)"},
            "Task": {"type": "object", "required": ["id", "app", "form", "record_id", "step", "status"], "properties": {
                "id": {"type": "integer"}, "app": {"type": "string"}, "form": {"type": "string"},
                "record_id": {"type": "integer"}, "step": {"type": "string"},
                "kind": {"enum": ["approval", "submit", "cc"]}, "status": {"type": "string"},
                "assignee": {"type": ["integer", "null"]}, "instance": {"type": "integer"},
                "due_at": {"type": ["string", "null"], "format": "date-time"},
                "created_at": {"type": ["string", "null"], "format": "date-time"},
                "acted_at": {"type": ["string", "null"], "format": "date-time"},
                "comment": {"type": ["string", "null"]}}},
            "FlowInstance": {"type": "object", "properties": {
                "id": {"type": "integer"}, "flow": {"type": "string"}, "form": {"type": "string"},
                "record_id": {"type": "integer"},
                "status": {"enum": ["in_progress", "returned", "approved", "rejected", "withdrawn"]},
                "submitter": {"type": ["integer", "null"]}, "version": {"type": "integer"},
                "started_at": {"type": ["string", "null"], "format": "date-time"},
                "finished_at": {"type": ["string", "null"], "format": "date-time"}}},
            "FlowLogEntry": {"type": "object", "properties": {
                "id": {"type": "integer"}, "action": {"type": "string"}, "step": {"type": ["string", "null"]},
                "step_name": {"type": "string"}, "actor": {"type": ["integer", "null"]},
                "actor_name": {"type": "string"}, "comment": {"type": ["string", "null"]},
                "detail": {"type": ["object", "null"]}, "at": {"type": "string", "format": "date-time"}}},
            "Refresh": {"type": "object", "description": "Lookups, rollups and formulas of one form being brought "
                        "up to date in the background", "properties": {
                "id": {"type": "integer"}, "form": {"type": "string"},
                "cause": {"type": "object", "properties": {"kind": {"enum": ["source", "rebuild", "publish", "clock"]}}},
                "status": {"enum": ["queued", "running", "done", "failed"]}, "total": {"type": "integer"},
                "done": {"type": "integer"}, "changed": {"type": "integer"}, "percent": {"type": "integer"},
                "error": {"type": ["string", "null"]}, "job": {"type": ["string", "null"]},
                "created_at": {"type": "string", "format": "date-time"},
                "finished_at": {"type": ["string", "null"], "format": "date-time"}}},
            "Groups": {"type": "object", "required": ["groups"], "properties": {
                "groups": {"type": "array", "items": {"type": "object", "required": ["value", "count", "totals"], "properties": {
                    "value": {"description": "the group's key: an option, a user/department/record id, a date bucket "
                              "(2026-03-05, the week's Monday, 2026-03, 2026-Q1, 2026), or null for records with none"},
                    "count": {"type": "integer"},
                    "totals": {"type": "object", "description": "field: its total (sum, avg, min, max, count or empty)"}}}},
                "group_by": {"type": "object", "properties": {"field": {"type": "string"},
                                                              "bucket": {"enum": ["day", "week", "month", "quarter", "year"]}}},
                "more": {"type": "boolean", "description": "more than 1,000 groups: the first 1,000 are listed"}}},
            "Revision": {"type": "object", "properties": {
                "version": {"type": "integer"}, "action": {"type": "string"},
                "at": {"type": "string", "format": "date-time"}, "actor": {"type": ["integer", "null"]},
                "changes": {"type": "object", "description": "field: [old, new]"}}},
        },
        "responses": {"Problem": PROBLEM},
        "parameters": {
            "IfMatch": {"name": "If-Match", "in": "header",
                        "schema": {"type": "string", "pattern": '^\\s*(\\*|(W/)?"?[1-9][0-9]{0,15}"?)\\s*$'},
                        "description": 'The record version last read ("3", W/"3", 3, or * for any); a stale one '
                                       "gets 409, one that is not a version 422"},
            "IdempotencyKey": {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 200}},
        },
    }


def _record_schema(name: str) -> dict:
    return {"type": "object", "required": ["id", "version", "fields"], "properties": {
        "id": {"type": "integer"}, "version": {"type": "integer"},
        "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"},
        "created_by": {"type": ["integer", "null"]}, "updated_by": {"type": ["integer", "null"]},
        "owner": {"type": ["integer", "null"]}, "flow_status": {"type": ["string", "null"]},
        "updating": {"type": "boolean", "description": "a background refresh has not reached this record's "
                     "lookups and rollups yet (forms with computed fields only)"},
        "fields": {"$ref": f"#/components/schemas/{name}Fields"}}}


def _writable(schema: dict) -> dict:
    """The fields schema without read-only (computed) fields: what a client may send."""
    props = {}
    for key, prop in schema["properties"].items():
        if prop.get("readOnly"):
            continue
        if isinstance(prop.get("items"), dict) and "properties" in prop["items"]:
            prop = {**prop, "items": _writable(prop["items"])}
        props[key] = prop
    return {**schema, "properties": props}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: str) -> dict:
    return {code: {"$ref": "#/components/responses/Problem"} for code in ("401", "404", *codes)}


def _form_paths(app_key: str, form, name: str) -> dict:
    base = f"/api/v1/apps/{app_key}/forms/{form.key}"
    ref = {"$ref": f"#/components/schemas/{name}"}
    write = {"$ref": f"#/components/schemas/{name}Write"}
    op = f"{_camel(app_key)}{_camel(form.key)}"
    tag = [f"{app_key}.{form.key}"]
    record_id = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    return {
        f"{base}/records": {
            "get": {"tags": tag, "operationId": f"list{op}", "summary": f"List {form.display_name()}", "parameters": [
                {"name": "filter", "in": "query", "schema": {"type": "string"}, "description": "Condition JSON"},
                {"name": "sort", "in": "query", "schema": {"type": "string"}, "example": "-$created_at"},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
                {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                {"name": "deleted", "in": "query", "schema": {"type": "boolean"}, "description": "The recycle bin"}],
                "responses": {"200": _json({"type": "object", "required": ["items", "next_cursor"], "properties": {
                    "items": {"type": "array", "items": ref}, "next_cursor": {"type": ["string", "null"]}}}, "A page"),
                    **_errors("422")}},
            "post": {"tags": tag, "operationId": f"create{op}", "summary": f"Create a {form.display_name()} record",
                     "parameters": [{"$ref": "#/components/parameters/IdempotencyKey"}],
                     "requestBody": {"required": True, "content": {"application/json": {"schema": write}}},
                     "responses": {"201": _json(ref, "Created"), **_errors("403", "409", "422")}},
        },
        f"{base}/records/bulk": {
            "post": {"tags": tag, "operationId": f"bulkCreate{op}", "summary": "Create up to 10,000 records, all or nothing",
                     "parameters": [{"$ref": "#/components/parameters/IdempotencyKey"}],
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {
                         "type": "object", "required": ["records"], "properties": {
                             "records": {"type": "array", "maxItems": 10000, "items": {
                                 "type": "object", "properties": {"fields": {"$ref": f"#/components/schemas/{name}WriteFields"}}}},
                             "draft": {"type": "boolean"}}}}}},
                     "responses": {"201": _json({"type": "object", "properties": {
                         "ids": {"type": "array", "items": {"type": "integer"}}, "count": {"type": "integer"}}}, "Created"),
                         **_errors("403", "409", "422")}},
        },
        f"{base}/records/{{id}}": {
            "parameters": record_id,
            "get": {"tags": tag, "operationId": f"get{op}", "responses": {"200": _json(ref, "The record"), **_errors()}},
            "patch": {"tags": tag, "operationId": f"update{op}", "parameters": [{"$ref": "#/components/parameters/IfMatch"}],
                      "requestBody": {"required": True, "content": {"application/json": {"schema": write}}},
                      "responses": {"200": _json(ref, "The changed record"), **_errors("403", "409", "422")}},
            "delete": {"tags": tag, "operationId": f"delete{op}", "parameters": [{"$ref": "#/components/parameters/IfMatch"}],
                       "responses": {"204": {"description": "Moved to the recycle bin"},
                                     **_errors("403", "409", "422")}},
        },
        f"{base}/records/{{id}}/restore": {"parameters": record_id, "post": {
            "tags": tag, "operationId": f"restore{op}", "summary": "Bring a record back from the recycle bin",
            "responses": {"200": _json(ref, "The restored record"), **_errors("403", "409")}}},
        f"{base}/records/{{id}}/history": {"parameters": record_id, "get": {
            "tags": tag, "operationId": f"history{op}", "summary": "Who changed what, newest first",
            "responses": {"200": _json({"type": "object", "properties": {"items": {"type": "array", "items": {
                "$ref": "#/components/schemas/Revision"}}}}, "Revisions"), **_errors()}}},
        f"{base}/imports": {"post": {
            "tags": tag, "operationId": f"import{op}", "summary": "Import a CSV or XLSX file (a background job)",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"], "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "options": {"type": "string", "description": "JSON: mapping, values, mode, key, on_error, "
                                                                  "dry_run, encoding, sheet, header_row"}}}}}},
            "responses": {"202": _json({"type": "object", "properties": {
                "id": {"type": "integer"}, "job": {"type": "string"}, "status": {"type": "string"}}}, "Queued"),
                **_errors("403", "422")}}},
        f"{base}/schema": {"get": {"tags": tag, "operationId": f"schema{op}",
                                   "responses": {"200": _json({"type": "object"}, "JSON Schema of the fields"),
                                                 **_errors()}}},
    }


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _import_paths() -> dict:
    """An import's progress, failed rows and cancel: the same for every app."""
    tag = ["imports"]
    import_id = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    error = {"type": "object", "properties": {"row": {"type": "integer"}, "column": {"type": ["string", "null"]},
                                              "field": {"type": ["string", "null"]}, "message": {"type": "string"}}}
    state = {"type": "object", "properties": {
        "id": {"type": "integer"}, "status": {"enum": ["draft", "queued", "running", "finished", "failed", "cancelled"]},
        "phase": {"type": ["string", "null"]}, "dry_run": {"type": "boolean"}, "total": {"type": ["integer", "null"]},
        **{k: {"type": "integer"} for k in ("done", "created", "updated", "failed_rows")},
        "errors": {"type": "array", "items": error}, "errors_truncated": {"type": "boolean"},
        "error": {"type": ["string", "null"]}, "rate": {"type": ["number", "null"]},
        "seconds_left": {"type": ["integer", "null"]}}}
    return {
        "/api/v1/imports/{id}": {"parameters": import_id, "get": {
            "tags": tag, "operationId": "getImport", "summary": "An import's status, progress and row errors",
            "responses": {"200": _json(state, "The import"), **_errors()}}},
        "/api/v1/imports/{id}/failed.csv": {"parameters": import_id, "get": {
            "tags": tag, "operationId": "getImportFailedRows", "summary": "The failed rows as uploaded, with an error column",
            "responses": {"200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                          **_errors()}}},
        "/api/v1/imports/{id}/cancel": {"parameters": import_id, "post": {
            "tags": tag, "operationId": "cancelImport", "summary": "Stop a queued or running import between batches",
            "responses": {"200": _json(state, "The import"), **_errors("403")}}},
    }


def _task_paths() -> dict:
    """The approval inbox and task actions: the same for every app."""
    tag = ["tasks"]
    task_id = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    listed = {"allOf": [_ref("Task"), {"type": "object", "properties": {
        "title": {"type": "string"}, "step_name": {"type": "string"}}}]}
    return {
        "/api/v1/tasks": {"get": {
            "tags": tag, "operationId": "listTasks", "summary": "The caller's tasks, or the approvals they submitted",
            "parameters": [
                {"name": "status", "in": "query", "schema": {"enum": ["pending", "done", "cc"], "default": "pending"}},
                {"name": "box", "in": "query", "schema": {"enum": ["submitted"]}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                {"name": "cursor", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": _json({"type": "object", "required": ["items", "next_cursor"], "properties": {
                "items": {"type": "array", "items": listed}, "next_cursor": {"type": ["string", "null"]}}}, "A page"),
                **_errors("422")}}},
        "/api/v1/tasks/counts": {"get": {
            "tags": tag, "operationId": "countTasks", "responses": {"200": _json({"type": "object", "properties": {
                "pending": {"type": "integer"}, "cc": {"type": "integer"}, "submitted": {"type": "integer"}}},
                "Tasks waiting, unread copies, own approvals still open"), **_errors()}}},
        "/api/v1/tasks/batch": {"post": {
            "tags": tag, "operationId": "actOnTasks", "summary": "Approve or reject several tasks, each on its own",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["action", "ids"], "properties": {
                    "action": {"enum": ["approve", "reject"]}, "comment": {"type": "string"},
                    "ids": {"type": "array", "minItems": 1, "maxItems": 100, "items": {"type": "integer"}}}}}}},
            "responses": {"200": _json({"type": "object", "properties": {
                "results": {"type": "array", "items": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "ok": {"type": "boolean"}, "task": _ref("Task"),
                    "status": {"type": "integer"}, "title": {"type": "string"}, "detail": {"type": "string"}}}},
                "done": {"type": "integer"}, "failed": {"type": "integer"}}}, "One result per task"),
                **_errors("403", "422")}}},
        "/api/v1/tasks/{id}": {"parameters": task_id, "get": {
            "tags": tag, "operationId": "getTask", "summary": "A task and the record as its step shows it",
            "responses": {"200": _json({"type": "object", "properties": {
                "task": _ref("Task"), "instance": _ref("FlowInstance"),
                "record": {"type": "object", "description": "The record, without the fields the step hides"},
                "editable": {"type": "array", "items": {"type": "string"}},
                "actions": {"type": "array", "items": {"type": "string"}},
                "returnable": {"type": "array", "items": {"type": "object", "properties": {
                    "step": {"type": "string"}, "name": {"type": "string"}}}},
                "timeline": {"type": "array", "items": _ref("FlowLogEntry")},
                "tasks": {"type": "array", "items": _ref("Task")}}}, "The task"), **_errors()}}},
        "/api/v1/tasks/{id}/actions": {"parameters": task_id, "post": {
            "tags": tag, "operationId": "actOnTask",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["action"], "properties": {
                    "action": {"enum": ["approve", "reject", "return", "transfer", "add_signer", "submit"]},
                    "comment": {"type": "string"}, "fields": {"type": "object"},
                    "to": {"type": ["integer", "string"], "description": "A user id (transfer, add_signer), "
                                                                         "or a step key or \"submitter\" (return)"},
                    "position": {"enum": ["before", "after"]}}}}}},
            "responses": {"200": _json(_ref("Task"), "The task after the action"),
                          **_errors("403", "409", "422")}}},
    }


def _record_flow_paths(app_key: str, form, op: str, tag: list[str]) -> dict:
    base = f"/api/v1/apps/{app_key}/forms/{form.key}/records/{{id}}"
    record_id = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    comment = {"content": {"application/json": {"schema": {"type": "object", "properties": {
        "comment": {"type": "string"}}}}}}
    return {
        f"{base}/flow": {"parameters": record_id, "get": {
            "tags": tag, "operationId": f"flow{op}", "summary": "The record's latest approval",
            "responses": {"200": _json({"type": "object", "properties": {
                "instance": {"anyOf": [_ref("FlowInstance"), {"type": "null"}]},
                "tasks": {"type": "array", "items": _ref("Task")},
                "timeline": {"type": "array", "items": _ref("FlowLogEntry")},
                "can_withdraw": {"type": "boolean"}, "can_urge": {"type": "boolean"},
                "my_task": {"type": ["integer", "null"]}}}, "The approval"), **_errors()}}},
        f"{base}/submit": {"parameters": record_id, "post": {
            "tags": tag, "operationId": f"submit{op}", "summary": "Submit again after a rejection or withdrawal",
            "responses": {"201": _json(_ref("FlowInstance"), "The new approval"), **_errors("403", "409", "422")}}},
        f"{base}/withdraw": {"parameters": record_id, "post": {
            "tags": tag, "operationId": f"withdraw{op}", "summary": "Take the record back while nobody has acted",
            "requestBody": comment,
            "responses": {"200": _json(_ref("FlowInstance"), "The withdrawn approval"), **_errors("403", "409")}}},
        f"{base}/urge": {"parameters": record_id, "post": {
            "tags": tag, "operationId": f"urge{op}", "summary": "Remind the people whose turn it is",
            "responses": {"200": _json({"type": "object", "properties": {"told": {"type": "integer"}}}, "Reminded"),
                          **_errors("403", "409")}}},
        f"{base}/comments": {"parameters": record_id, "post": {
            "tags": tag, "operationId": f"comment{op}", "summary": "A comment in the approval's timeline",
            "requestBody": {"required": True, **comment},
            "responses": {"201": _json({"type": "object", "properties": {
                "instance": {"type": "integer"}, "comment": {"type": "string"}}}, "Commented"),
                **_errors("403", "409", "422")}}},
    }


def _view_paths(app_key: str, view, name: str) -> dict:
    """A view's records and groups (the caller may open the view)."""
    base = f"/api/v1/apps/{app_key}/views/{view.key}"
    tag = [f"{app_key}.views"]
    op = f"{_camel(app_key)}{_camel(view.key)}"
    filt = {"name": "filter", "in": "query", "schema": {"type": "string"},
            "description": "Condition JSON, ANDed with the view's filter"}
    return {
        f"{base}/records": {"get": {
            "tags": tag, "operationId": f"viewRecords{op}",
            "summary": f"The records of view {view.key} ({view.type} of {view.form})", "parameters": [
                filt, {"name": "sort", "in": "query", "schema": {"type": "string"},
                       "description": "Replaces the view's sort", "example": "-$created_at"},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
                {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                {"name": "group", "in": "query", "schema": {"type": "string"}, "example": "won",
                 "description": "Only one group (a value /groups gives, as JSON or plain text; null: none), "
                                "of the view's grouping or of group_by and bucket: a kanban column"},
                {"name": "group_by", "in": "query", "schema": {"type": "string"}},
                {"name": "bucket", "in": "query", "schema": {"enum": ["day", "week", "month", "quarter", "year"]}}],
            "responses": {"200": _json({"type": "object", "required": ["items", "next_cursor"], "properties": {
                "items": {"type": "array", "items": _ref(name)}, "next_cursor": {"type": ["string", "null"]}}}, "A page"),
                **_errors("422")}}},
        f"{base}/groups": {"get": {
            "tags": tag, "operationId": f"viewGroups{op}",
            "summary": f"Counts and totals per group of view {view.key}", "parameters": [
                filt, {"name": "group_by", "in": "query", "schema": {"type": "string"},
                       "description": "Another grouping than the view's: a select, user, department, link or date field"},
                {"name": "bucket", "in": "query", "schema": {"enum": ["day", "week", "month", "quarter", "year"]}},
                {"name": "totals", "in": "query", "schema": {"type": "string"}, "example": "amount:sum,probability:avg",
                 "description": "Replaces the view's totals: field:sum|avg|min|max|count|empty, comma separated"}],
            "responses": {"200": _json(_ref("Groups"), "The groups"), **_errors("422")}}},
    }


def _relation_paths(app_key: str, rt) -> dict:
    """Rebuilding a form's lookups, rollups and formulas, and the refreshes (app administrators)."""

    tag = [f"{app_key}.relations"]
    op = _camel(app_key)
    paths = {
        f"/api/v1/apps/{app_key}/refreshes": {"get": {
            "tags": tag, "operationId": f"listRefreshes{op}", "summary": "The 20 latest refreshes, newest first",
            "responses": {"200": _json({"type": "object", "properties": {"items": {"type": "array",
                                                                                     "items": _ref("Refresh")}}},
                                       "The refreshes"), **_errors("403")}}},
        f"/api/v1/apps/{app_key}/refreshes/{{id}}": {"get": {
            "tags": tag, "operationId": f"getRefresh{op}", "summary": "One refresh and its progress",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": _json(_ref("Refresh"), "The refresh"), **_errors("403")}}},
    }
    for form in rt.definition.forms.values():
        if derived_fields(rt, form.key):
            paths[f"/api/v1/apps/{app_key}/forms/{form.key}/rebuild"] = {"post": {
                "tags": tag, "operationId": f"rebuild{op}{_camel(form.key)}",
                "summary": "Compute every lookup, rollup and formula of the form again, in the background",
                "responses": {"202": _json(_ref("Refresh"), "The refresh, queued"), **_errors("400", "403")}}}
    return paths


def build_document(app_keys: list[str]) -> dict:
    doc = {"openapi": "3.1.0",
           "info": {"title": "Formloom API", "version": "1",
                    "description": "Records of the published apps the caller can use, and approvals."},
           "security": [{"bearer": []}], "paths": {**_task_paths(), **_import_paths(), **fixed_paths()},
           "components": _components()}
    for app_key in app_keys:
        try:
            rt = get_runtime(app_key)
        except NotFound:
            continue
        for form in rt.definition.forms.values():
            fa = access.form_access(actor(), rt, form.key)
            if not (fa.can("view") or fa.can("add")):
                continue  # not theirs, as in the definition they read (`runtime/reading.py`)
            name = f"{_camel(app_key)}{_camel(form.key)}"
            doc["components"]["schemas"][name] = _record_schema(name)
            fields = fields_schema(form, leave_out=fa.unlisted())
            doc["components"]["schemas"][f"{name}Fields"] = fields
            doc["components"]["schemas"][f"{name}WriteFields"] = _writable(fields)
            doc["components"]["schemas"][f"{name}Write"] = {"type": "object", "properties": {
                "fields": {"$ref": f"#/components/schemas/{name}WriteFields"}, "draft": {"type": "boolean"}}}
            doc["paths"].update(_form_paths(app_key, form, name))
            if any(flow.form == form.key for flow in rt.definition.flows.values()):
                doc["paths"].update(_record_flow_paths(app_key, form, name, [f"{app_key}.{form.key}"]))
        for view in views_query.open_views(actor(), rt):
            doc["paths"].update(_view_paths(app_key, view, f"{_camel(app_key)}{_camel(view.form)}"))
        doc["paths"].update(dashboard_paths(app_key, rt, actor()))
        if access.app_role(actor(), rt.app_id, rt) == "admin":
            doc["paths"].update(_relation_paths(app_key, rt))
    return doc


def _camel(key: str) -> str:
    return "".join(part.capitalize() for part in key.split("_"))


@bp.get("/openapi.json")
@narrowed_to_token_app
def openapi():
    rows = db.session.execute(sa.select(App.id, App.key).where(App.published_version > 0, App.deleted_at.is_(None)).order_by(App.key)).all()
    keys = [key for app_id, key in rows if access.app_role(actor(), app_id)]
    return jsonify(build_document(keys))
