"""API v0, Pagure-compatible, under /api/0.

Each module declares its endpoints with :func:`registry.api_route`, which also
feeds the OpenAPI document served at ``/api/0/openapi.json``.
"""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/0")

from pagurus.web.api import errors as _errors  # noqa: E402

_errors.install(bp)

# modules that register routes (imported for their side effect)
import pagurus.web.api.activity  # noqa: E402, F401  (user activity, heatmap)
import pagurus.web.api.boards  # noqa: E402, F401  (kanban boards)
import pagurus.web.api.flags  # noqa: E402, F401  (commit flags)
import pagurus.web.api.git  # noqa: E402, F401  (tree view, commit info)
import pagurus.web.api.gitrefs  # noqa: E402, F401  (branches, tags, aliases, urls)
import pagurus.web.api.issue_lists  # noqa: E402, F401  (issue lists, a user's issues)
import pagurus.web.api.issue_stats  # noqa: E402, F401  (issue history statistics)
import pagurus.web.api.issue_tags  # noqa: E402, F401  (coloured issue tags)
import pagurus.web.api.issues  # noqa: E402, F401  (issues: create, read, change)
import pagurus.web.api.plugins  # noqa: E402, F401  (git-hook plugins)
import pagurus.web.api.pulls  # noqa: E402, F401  (pull requests, user PR lists)
import pagurus.web.api.watchers  # noqa: E402, F401  (project watchers, webhook key)
from pagurus.web.api import groups, meta, openapi, projects, users  # noqa: E402, F401
