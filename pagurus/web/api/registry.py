"""One declaration per endpoint: it registers the Flask routes, applies the
authentication mode, loads the project of ``{P}`` routes, and records the
description the OpenAPI document is built from. An endpoint cannot exist
without being documented, nor be documented with another auth than it has.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, g

from pagurus.web.api import auth
from pagurus.web.routes import PREFIXES


@dataclass(frozen=True)
class Param:
    """A query-string parameter or a body field."""

    name: str
    description: str = ""
    type: str = "string"  # JSON-schema type: string, boolean, integer, array
    required: bool = False
    repeat: bool = False  # query: the key may be repeated; body: a list of strings
    enum: tuple[str, ...] = ()
    default: Any = None


@dataclass
class Endpoint:
    endpoint: str
    rules: tuple[str, ...]
    methods: tuple[str, ...]
    summary: str
    description: str
    auth: str
    acls: tuple[str, ...]
    project_token_only: bool
    project: bool
    query: tuple[Param, ...]
    body: tuple[Param, ...]
    response: dict[str, Any]
    errors: tuple[str | tuple[str, int], ...]  # codes, or (code, unusual status)
    tag: str
    paginated: bool
    media_type: str = "application/json"
    extra: dict[str, Any] = field(default_factory=dict)


ENDPOINTS: list[Endpoint] = []

PAGE_PARAMS = (
    Param("page", "Page number, 1 or more.", "integer", default=1),
    Param("per_page", "Items per page, 1 to 100.", "integer", default=20),
)


def project_rules(suffix: str, forks: bool = True) -> tuple[str, ...]:
    """The ``{P}`` forms of a project route (only the non-fork forms if ``forks`` is False)."""
    prefixes = PREFIXES if forks else PREFIXES[:2]
    return tuple(p + suffix for p in prefixes)


def api_route(
    bp: Blueprint,
    rules: str | Sequence[str] | None = None,
    *,
    project: str | None = None,
    forks: bool = True,
    methods: Sequence[str] = ("GET",),
    auth_mode: str = "none",
    acls: Sequence[str] = (),
    project_token_only: bool = False,
    summary: str,
    description: str = "",
    query: Sequence[Param] = (),
    body: Sequence[Param] = (),
    response: dict[str, Any] | None = None,
    errors: Sequence[str | tuple[str, int]] = (),
    tag: str = "",
    paginated: bool = False,
    media_type: str = "application/json",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare an endpoint. The view is called as ``view(caller, **url_args)``;
    for ``project=<suffix>`` routes ``repo/namespace/username`` are replaced by
    ``project`` (already checked for visibility, token binding and blocking)."""
    if auth_mode not in auth.MODES:
        raise ValueError(f"unknown auth mode {auth_mode!r}")
    if project is not None:
        all_rules = project_rules(project, forks)
    elif isinstance(rules, str):
        all_rules = (rules,)
    else:
        all_rules = tuple(rules or ())
    acl_tuple = tuple(acls)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(**kwargs: Any) -> Any:
            caller = auth.authenticate(auth_mode, acl_tuple)
            g.api_caller = caller
            if project is not None:
                kwargs["project"] = auth.load_project(
                    caller, kwargs.pop("repo"), kwargs.pop("namespace", None),
                    kwargs.pop("username", None), mode=auth_mode,
                    project_token_only=project_token_only)
            return view(caller, **kwargs)

        for rule in all_rules:
            bp.add_url_rule(rule, endpoint=view.__name__, view_func=wrapped,
                            methods=list(methods))
        ENDPOINTS.append(Endpoint(
            endpoint=view.__name__, rules=all_rules, methods=tuple(methods), summary=summary,
            description=description or (view.__doc__ or "").strip(), auth=auth_mode,
            acls=acl_tuple, project_token_only=project_token_only,
            project=project is not None,
            query=tuple(query) + (PAGE_PARAMS if paginated else ()), body=tuple(body),
            response=response or {"type": "object"}, errors=tuple(errors), tag=tag,
            paginated=paginated, media_type=media_type,
        ))
        return wrapped
    return decorator
