"""The part of the OpenAPI document that no app definition shapes: apps and their drafts,
publishing, members, automations, webhooks, files, form schemas, and the organisation
(users, departments, roles), tokens, notifications and the audit log.

One line per operation: (method, path, summary, tag, success status, extra error statuses,
request body). Path parameters named in INTEGERS are integers. tests/runtime/api/
test_openapi_routes.py walks Flask's URL map and fails on a route the document lacks.
"""
from __future__ import annotations

import re

INTEGERS = {"number", "id", "member_id", "run_id", "webhook_id", "role_id", "dept_id", "user_id", "token_id"}
OBJECT = {"type": "object"}
KEY = {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,29}$"}
NAME = {"type": "string", "minLength": 1, "maxLength": 200}

APP = "/api/v1/apps/{app_key}"
ORG_BODY = {"type": "object", "properties": {"name": NAME}}
OPERATIONS: list[tuple] = [
    ("get", "/api/v1/apps", "The apps the caller may use", "apps", "200", (), None),
    ("post", "/api/v1/apps", "Create an app from a definition and publish it", "apps", "201",
     ("403", "409", "422"), OBJECT),
    ("post", "/api/v1/apps/from-template", "Create an app from a template pack", "apps", "201", ("403", "409", "422"),
     {"type": "object", "required": ["template"], "properties": {
         "template": {"type": "string"}, "key": KEY, "name": NAME, "language": {"enum": ["zh", "en"]},
         "sample_data": {"type": "boolean"}}}),
    ("get", "/api/v1/templates", "The template packs (a JSON list), named in the reader's language", "apps",
     "200", (), None),
    ("get", APP + "/versions", "The published versions, newest first", "apps", "200", ("403",), None),
    ("get", APP + "/versions/{number}/diff", "What changed from version n to version `to`, in words and as data",
     "apps", "200", ("403", "422"), None),
    ("post", APP + "/versions/{number}/restore", "Publish version n again as a new version", "apps", "200",
     ("403", "409", "422"), None),
    ("get", APP + "/export", "The app as one file: definition (and records with ?data=1)", "apps", "200",
     ("403",), None),
    ("post", "/api/v1/apps/import", "A new app from an exported file (key in the body)", "apps", "201",
     ("403", "409", "422"), OBJECT),
    ("get", APP + "/definition", "The published definition (as the caller may read it)", "apps", "200", ("403",),
     None),
    ("get", APP + "/draft", "The draft definition (app administrators)", "apps", "200", ("403",), None),
    ("put", APP + "/draft", "Replace the draft definition", "apps", "200", ("403", "409", "422"), OBJECT),
    ("post", APP + "/publish", "Publish the draft (with the migration plan it needs)", "apps", "200",
     ("403", "409", "422"), OBJECT),
    ("get", APP + "/members", "The app's members", "apps", "200", ("403",), None),
    ("post", APP + "/members", "Add a member (a user, a department or a role)", "apps", "201",
     ("403", "409", "422"), OBJECT),
    ("delete", APP + "/members/{member_id}", "Remove a member", "apps", "204", ("403",), None),
    ("get", APP + "/automations", "The app's automations and their recent runs", "automations", "200", ("403",),
     None),
    ("get", APP + "/automations/{key}/runs", "An automation's runs, newest first", "automations", "200",
     ("403", "422"), None),
    ("post", APP + "/automations/{key}/run", "Run a scheduled automation now", "automations", "202",
     ("403", "409", "422"), None),
    ("post", APP + "/automations/{key}/runs/{run_id}/retry", "Run a failed run again", "automations", "202",
     ("403", "409"), None),
    ("get", APP + "/webhooks", "The app's webhooks", "webhooks", "200", ("403",), None),
    ("post", APP + "/webhooks", "Add a webhook (its secret is shown once)", "webhooks", "201", ("403", "422"),
     OBJECT),
    ("patch", APP + "/webhooks/{webhook_id}", "Change a webhook, switch it off or on", "webhooks", "200",
     ("403", "422"), OBJECT),
    ("delete", APP + "/webhooks/{webhook_id}", "Delete a webhook and its delivery log", "webhooks", "204", ("403",),
     None),
    ("get", APP + "/webhooks/{webhook_id}/deliveries", "A webhook's deliveries, newest first", "webhooks", "200",
     ("403",), None),
    ("post", APP + "/files", "Upload a file for a file field (multipart, named \"file\")", "files", "201",
     ("403", "413", "422"), "multipart"),
    ("get", APP + "/files/{file_id}", "Download an uploaded file", "files", "200", ("403",), "file"),
    ("get", APP + "/forms/{form_key}/schema", "The JSON Schema of a form's records, as the caller sees them",
     "records", "200", ("403",), None),
    ("get", "/api/v1/users", "The organisation's users", "organisation", "200", ("403", "422"), None),
    ("post", "/api/v1/users", "Add a user (and invite them)", "organisation", "201", ("403", "409", "422"), OBJECT),
    ("patch", "/api/v1/users/{user_id}", "Change a user", "organisation", "200", ("403", "409", "422"), OBJECT),
    ("post", "/api/v1/users/{user_id}/deactivate", "Deactivate a user", "organisation", "200", ("403", "409"), None),
    ("post", "/api/v1/users/{user_id}/reactivate", "Reactivate a user", "organisation", "200", ("403", "409"), None),
    ("post", "/api/v1/users/{user_id}/invite", "Send a new invitation", "organisation", "200", ("403", "409"), None),
    ("post", "/api/v1/users/{user_id}/reassign", "Hand a user's open tasks and records to another", "organisation",
     "200", ("403", "422"), OBJECT),
    ("post", "/api/v1/users/import", "Import users from CSV (dry run unless applied)", "organisation", "200",
     ("403", "422"), "csv"),
    ("get", "/api/v1/departments", "The departments, as a tree", "organisation", "200", ("403",), None),
    ("post", "/api/v1/departments", "Add a department", "organisation", "201", ("403", "409", "422"), ORG_BODY),
    ("patch", "/api/v1/departments/{dept_id}", "Change a department", "organisation", "200", ("403", "409", "422"),
     ORG_BODY),
    ("delete", "/api/v1/departments/{dept_id}", "Delete an empty department", "organisation", "204",
     ("403", "409"), None),
    ("post", "/api/v1/departments/import", "Import departments from CSV", "organisation", "200", ("403", "422"),
     "csv"),
    ("get", "/api/v1/roles", "The organisation's roles", "organisation", "200", ("403",), None),
    ("post", "/api/v1/roles", "Add a role", "organisation", "201", ("403", "409", "422"),
     {"type": "object", "required": ["key", "name"], "properties": {"key": KEY, "name": NAME}}),
    ("patch", "/api/v1/roles/{role_id}", "Rename a role", "organisation", "200", ("403", "422"), ORG_BODY),
    ("delete", "/api/v1/roles/{role_id}", "Delete a role (its users lose it)", "organisation", "200", ("403",),
     None),
    ("get", "/api/v1/tokens", "The caller's API tokens", "tokens", "200", (), None),
    ("post", "/api/v1/tokens", "Make an API token (shown once)", "tokens", "201", ("403", "422"),
     {"type": "object", "properties": {"name": {"type": "string", "maxLength": 200}, "app": KEY,
                                       "read_only": {"type": "boolean"}, "expires_in_days": {"type": "integer"}}}),
    ("delete", "/api/v1/tokens/{token_id}", "Revoke an API token", "tokens", "204", (), None),
    ("get", "/api/v1/notifications", "The caller's notifications, newest first (in the caller's language)",
     "notifications", "200", ("422",), None),
    ("post", "/api/v1/notifications/read", "Mark notifications read", "notifications", "200", ("422",), OBJECT),
    ("get", "/api/v1/audit", "The audit log (organisation administrators)", "audit", "200", ("403", "422"), None),
    ("get", "/api/v1/openapi.json", "This document", "meta", "200", (), None),
]

_BODIES = {
    "multipart": {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "contentMediaType": "application/octet-stream"},
        "field": {"type": "string"}, "form": {"type": "string"}}}}},
    "csv": {"text/csv": {"schema": {"type": "string"}}, "multipart/form-data": {"schema": {"type": "object"}}},
}


def _parameters(path: str) -> list[dict]:
    return [{"name": name, "in": "path", "required": True,
             "schema": {"type": "integer"} if name in INTEGERS else {"type": "string"}}
            for name in re.findall(r"{(\w+)}", path)]


def _response(status: str, body) -> dict:
    if status == "204":
        return {"description": "Done; nothing to return"}
    if body == "file":
        return {"description": "The file", "content": {"application/octet-stream": {"schema": {"type": "string"}}}}
    return {"description": "OK", "content": {"application/json": {"schema": OBJECT}}}


def fixed_paths() -> dict:
    """{path: {method: operation}} for every operation above."""
    paths: dict[str, dict] = {}
    for method, path, summary, tag, status, errors, body in OPERATIONS:
        operation = {"tags": [tag], "summary": summary, "operationId": _operation_id(method, path),
                     "responses": {status: _response(status, body),
                                   **{code: {"$ref": "#/components/responses/Problem"}
                                      for code in ("401", "404", *errors) if path != "/api/v1/openapi.json"}}}
        if isinstance(body, dict):
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
        elif body in _BODIES:
            operation["requestBody"] = {"required": True, "content": _BODIES[body]}
        entry = paths.setdefault(path, {})
        if _parameters(path):
            entry["parameters"] = _parameters(path)
        entry[method] = operation
    return paths


def _operation_id(method: str, path: str) -> str:
    words = [w for w in re.split(r"[/_.{}-]+", path.removeprefix("/api/v1/")) if w]
    return method + "".join(w.capitalize() for w in words)
