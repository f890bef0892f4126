"""Pagure's four project URL forms, registered in one place.

``{P}`` is ``/<repo>``, ``/<namespace>/<repo>``, ``/fork/<username>/<repo>`` and
``/fork/<username>/<namespace>/<repo>``; a view registered with
:func:`project_route` receives ``repo``, ``namespace`` and ``username``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint

PREFIXES = (
    "/<repo>",
    "/<namespace>/<repo>",
    "/fork/<username>/<repo>",
    "/fork/<username>/<namespace>/<repo>",
)


def project_route(bp: Blueprint, suffix: str, *, forks: bool = True,
                  **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the view for every project URL form (``forks=False``: only the
    two non-fork forms, as PATCH {P} in the API)."""
    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        endpoint = options.pop("endpoint", view.__name__)
        prefixes = PREFIXES if forks else PREFIXES[:2]
        for prefix in prefixes:
            bp.add_url_rule(prefix + suffix, endpoint=endpoint, view_func=view, **options)
        return view
    return decorator


def project_args(repo: str, namespace: str | None = None,
                 username: str | None = None) -> dict[str, str | None]:
    return {"repo": repo, "namespace": namespace, "username": username}
