"""JSON schemas of the API's objects (spec §3), for the OpenAPI document."""

from __future__ import annotations

from typing import Any


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict[str, Any], required: tuple[str, ...] | None = None,
        **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    schema["required"] = list(required if required is not None else properties)
    schema.update(extra)
    return schema


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


STR = {"type": "string"}
NSTR = {"type": ["string", "null"]}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
EPOCH = {"type": "string", "description": "Unix epoch seconds, as a string",
         "pattern": "^[0-9]+$"}
NAMES = array(STR)
MESSAGE = obj({"message": STR})

COMPONENTS: dict[str, Any] = {
    "Error": obj(
        {"error": STR, "error_code": STR,
         "errors": {"description": "Details: a string, a list of strings, or an object of "
                                   "field name -> list of messages"}},
        required=("error", "error_code")),
    "User": obj({"name": STR, "fullname": STR, "url_path": STR, "full_url": STR,
                 "default_email": {**STR, "description": "Only in non-public views"},
                 "emails": {**NAMES, "description": "Only in non-public views"}},
                required=("name", "fullname", "url_path", "full_url")),
    "Project": obj({
        "id": INT, "name": STR, "fullname": STR, "url_path": STR, "full_url": STR,
        "description": STR, "namespace": NSTR,
        "parent": {"oneOf": [ref("Project"), {"type": "null"}]},
        "date_created": EPOCH, "date_modified": EPOCH, "user": ref("User"),
        "access_users": obj({k: NAMES for k in ("owner", "admin", "commit", "collaborator",
                                                "ticket")}),
        "access_groups": obj({k: NAMES for k in ("admin", "commit", "collaborator",
                                                 "ticket")}),
        "tags": NAMES, "priorities": {"type": "object", "additionalProperties": STR},
        "custom_keys": array(array(STR)), "close_status": NAMES,
        "milestones": {"type": "object", "additionalProperties": obj(
            {"date": NSTR, "active": BOOL})},
    }, required=("id", "name", "fullname", "url_path", "full_url", "description",
                 "namespace", "parent", "date_created", "date_modified", "user",
                 "access_users", "access_groups", "tags", "priorities", "custom_keys",
                 "close_status", "milestones")),
    "ProjectShort": obj({"name": STR, "namespace": NSTR, "fullname": STR, "description": STR}),
    "Group": obj({"name": STR, "display_name": STR, "description": STR,
                  "group_type": {"type": "string", "enum": ["user", "admin"]},
                  "creator": ref("User"), "date_created": EPOCH, "full_url": STR,
                  "members": NAMES}),
    "Pagination": obj({
        "page": {**INT, "description": "Current page (named repopage/forkpage on "
                                       "GET /user/{username})"},
        "pages": INT, "per_page": INT, "prev": NSTR, "next": NSTR, "first": STR, "last": STR,
    }, required=("pages", "per_page", "prev", "next", "first", "last")),
    "Settings": {"type": "object", "additionalProperties": True,
                 "description": "Project settings (spec §3.12)"},
    "Contributors": obj({
        "users": obj({"admin": NAMES, "commit": NAMES, "ticket": NAMES,
                      "collaborators": array(obj({"user": STR, "branches": NSTR}))}),
        "groups": obj({"admin": NAMES, "commit": NAMES, "ticket": NAMES,
                       "collaborators": array(obj({"user": STR, "branches": NSTR}))}),
    }),
}
