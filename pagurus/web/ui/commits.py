"""Repository pages about history: commit log, one commit, compare, raw
patches, branches, releases (tags), source archives and statistics.

Every view loads the project like ``project.py`` does (hidden = missing =
the same 404) before touching the repository. Anything computed from object
ids (a rendered diff, statistics at a head) is cached by those ids, and pages
about one commit carry an ETag built from the full commit id.

Commit flags (CI statuses) change while the commits stay the same, so they
are never part of a cached piece: the log and commit pages read them per
request (one query for a whole log page) and put them in their ETag.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pygit2
from flask import (
    Blueprint,
    abort,
    redirect,
    render_template,
    request,
    session,
)
from markupsafe import Markup, escape
from sqlalchemy import bindparam, func, literal, select, union_all
from werkzeug.wrappers import Response

from pagurus import diskcache, paths
from pagurus.cache import object_cache
from pagurus.core import flags as core_flags
from pagurus.core.users import get_user
from pagurus.git import archive as git_archive
from pagurus.git import branches as git_branches
from pagurus.git import diff as git_diff
from pagurus.git import history
from pagurus.git.refs import RefNotFound, is_empty, open_repo, resolve_commit
from pagurus.model import CommitFlag, Project, User, UserEmail
from pagurus.web import csrf
from pagurus.web.context import current_user, db, settings
from pagurus.web.routes import project_route
from pagurus.web.ui import diff_highlight
from pagurus.web.ui.helpers import isotime, reltime, utc
from pagurus.web.ui.project import _project, header_context, project_url

bp = Blueprint("ui_commits", __name__)
bp.before_request(csrf.protect)

_HEX = re.compile(r"[0-9a-fA-F]{4,64}")
DIFF_CACHE_VERSION = "2"  # 2: syntax-highlighted lines
LOG_CACHE_VERSION = "1"


# -- helpers -------------------------------------------------------------------

def _cache() -> Any:
    return object_cache(settings().redis_url)


def _repo_dir(project: Project) -> Path:
    return paths.repo_path(settings().data_dir, "main", project.fullname)


def _open(project: Project) -> pygit2.Repository | None:
    """The main repo, or None while it is being created or if it is gone."""
    if project.repo_state != "ready":
        return None
    try:
        return open_repo(settings().data_dir, project.fullname)
    except (FileNotFoundError, pygit2.GitError):
        return None


def _load(repo: str, namespace: str | None, username: str | None,
          ) -> tuple[Project, pygit2.Repository]:
    """Project and repository, or 404 (for pages that need a repository)."""
    project = _project(repo, namespace, username)
    r = _open(project)
    if r is None:
        abort(404)
    return project, r


def _commit(r: pygit2.Repository, identifier: str) -> pygit2.Commit:
    try:
        return resolve_commit(r, identifier)
    except RefNotFound:
        abort(404)


def _text(raw: bytes | None) -> str:
    return (raw or b"").decode("utf-8", "replace")


def _when(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _viewer_tag() -> str:
    """Who sees the page: the header differs per user and per session (CSRF
    tokens in its forms), so an ETag must too."""
    user = current_user()
    raw = f"{user.id if user else 0}:{session.get('_csrf', '')}"
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def _etag(*parts: str) -> str:
    return hashlib.sha256(":".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _heads_tag(heads: dict[str, list[str]]) -> str:
    return _etag(*sorted(f"{k}={','.join(v)}" for k, v in heads.items()))


def _not_modified(tag: str) -> Response | None:
    """A 304 when the browser already holds this version (and nothing is
    waiting to be flashed on the next page)."""
    if tag in request.if_none_match and not session.get("_flashes"):
        resp = Response(status=304)
        resp.set_etag(tag)
        return resp
    return None


def _with_etag(body: Any, tag: str, status: int = 200) -> Response:
    resp = body if isinstance(body, Response) else Response(body, status=status,
                                                              mimetype="text/html")
    resp.set_etag(tag)
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp


def _owners_statement() -> Any:
    """Built once (building costs more than running it): confirmed emails
    rank 0, default emails rank 1."""
    wanted = bindparam("emails", expanding=True)
    confirmed = (select(func.lower(UserEmail.email).label("email"), User.name,
                        literal(0).label("rank"))
                 .join(User, User.id == UserEmail.user_id)
                 .where(func.lower(UserEmail.email).in_(wanted), UserEmail.verified.is_(True)))
    defaults = select(func.lower(User.default_email), User.name, literal(1)).where(
        func.lower(User.default_email).in_(wanted))
    return union_all(confirmed, defaults)


_OWNERS = _owners_statement()


def users_by_email(emails: set[str]) -> dict[str, str]:
    """email (lowercased) → user name, for the confirmed emails of a user and
    default emails (a confirmed address wins); one query for a whole page."""
    wanted = sorted({e.lower() for e in emails if e})
    if not wanted:
        return {}
    found: dict[str, str] = {}
    rows = db().execute(_OWNERS, {"emails": wanted}).all()
    for email, name, _rank in sorted(rows, key=lambda row: row[2]):
        found.setdefault(email, name)
    return found


def _user_emails(user: User) -> list[str]:
    """The emails that prove authorship: the default one and confirmed ones
    (an unconfirmed address could be anybody's)."""
    emails = {e.email for e in user.emails if e.verified}
    if user.default_email:
        emails.add(user.default_email)
    return sorted(emails)


def flag_badge_html(flags: list[CommitFlag], href: str) -> str:
    """One compact badge for a commit's flags in a commit list: the most
    alarming status (with how many of the flags have it when there are
    several), each flag's name and status on hover, linking to the commit
    page's flag list. Rendered per request: flags change while the commit
    (and so any cached piece of the page) does not."""
    status = core_flags.summary_status(flags)
    if status is None:
        return ""
    label = core_flags.STATUS_LABELS.get(status, status)
    if len(flags) > 1:
        label += f" {sum(1 for f in flags if f.status == status)}/{len(flags)}"
    title = "; ".join(f"{f.username}: {core_flags.STATUS_LABELS.get(f.status, f.status)}"
                      for f in flags)
    css = core_flags.STATUS_BADGES.get(status, "badge")
    return (f' <a class="badge {escape(css)} commit-flags flag-{escape(status)}" '
            f'href="{href}#flags" title="{escape(title)}" data-status="{escape(status)}">'
            f'{escape(label)}</a>')


def commit_list_html(entries: list[history.LogEntry], owners: dict[str, str],
                     purl: str, flags: dict[str, list[CommitFlag]] | None = None) -> Markup:
    """The commit list of the log and compare pages, built here rather than in
    Jinja: 50 rows of attribute lookups in a template cost more than the git
    work of the page (every value is escaped here). ``flags``: commit id →
    its flags (``core.flags.flags_of_commits``), shown as one badge per row."""
    now = datetime.now(UTC)
    flags = flags or {}
    base = escape(purl)
    out = ['<ul class="list commit-list">']
    for e in entries:
        when = _when(e.commit_time)
        cid = escape(e.id)
        href = f"{base}/c/{cid}"
        badges = "".join(
            f' <a class="badge" href="{base}/commits/{escape(quote(b, safe="/"))}">'
            f"{escape(b)}</a>" for b in e.branches)
        if e.id in flags:
            badges += flag_badge_html(flags[e.id], href)
        email = escape(e.author_email)
        user = owners.get(e.author_email.lower())
        if user:
            who = (f'<a href="/user/{escape(quote(user, safe="/"))}" title="{email}">'
                   f"{escape(e.author_name or user)}</a>")
        else:
            who = f'<span title="{email}">{escape(e.author_name or e.author_email)}</span>'
        out.append(
            f'<li class="list-row commit-row"><div class="commit-main">'
            f'<a class="commit-subject" href="{href}">{escape(e.subject or "(no message)")}</a>'
            f'{badges}<div class="muted">{who} committed <time datetime="{isotime(when)}" '
            f'title="{utc(when)}">{reltime(when, now)}</time></div></div>'
            f'<span class="commit-id"><a class="mono" href="{href}" title="{cid}">{cid[:8]}</a>'
            f'<button type="button" class="btn btn-small copy-id" data-copy="{cid}" hidden '
            f'aria-label="Copy the full commit id {cid}">Copy</button></span></li>')
    out.append("</ul>")
    return Markup("\n".join(out))  # noqa: S704 - every piece escaped above


def _commit_meta(r: pygit2.Repository, commit: pygit2.Commit) -> dict[str, Any]:
    message = _text(commit.raw_message)
    subject, body = git_branches.split_message(message)
    return {
        "id": str(commit.id),
        "short": str(commit.id)[:8],
        "subject": subject,
        "body": body,
        "author": _text(commit.author.raw_name),
        "author_email": _text(commit.author.raw_email),
        "author_when": _when(commit.author.time),
        "committer": _text(commit.committer.raw_name),
        "committer_email": _text(commit.committer.raw_email),
        "commit_when": _when(commit.commit_time),
        "parents": [str(p) for p in commit.parent_ids],
        "tree": str(commit.tree_id),
    }


def _diff_html(kind: str, key: str, compute: Any, split: bool, purl: str,
               file_base: str, highlight: bool = True) -> str:
    """The diff section, rendered once per (objects, view options, URL)."""
    def render() -> str:
        result = compute()
        if highlight:
            diff_highlight.highlight_diff(result)
        return render_template("commits/_diff.html", diff=result, split=split,
                               file_base=file_base, split_rows=git_diff.split_rows)
    full_key = f"{DIFF_CACHE_VERSION}:{key}:{int(split)}:{int(highlight)}:{purl}"
    return _cache().get_or_compute(kind, full_key, render)


def _is_split() -> bool:
    return request.args.get("splitview", "").lower() in ("1", "true", "yes", "on")


# -- log -------------------------------------------------------------------------

def _log_page(project: Project, head_id: str, page: int,
              emails: list[str] | None) -> tuple[list[history.LogEntry], bool]:
    """``history.log_page``, cached: a page of the history of a commit id
    (for these author emails) never changes."""
    key = json.dumps([LOG_CACHE_VERSION, head_id, page, history.PER_PAGE, emails])

    def compute() -> str:
        entries, more = history.log_page(_repo_dir(project), head_id, page, history.PER_PAGE,
                                         emails)
        return json.dumps({"more": more, "entries": [
            [e.id, e.parents, e.author_name, e.author_email, e.author_time, e.committer_name,
             e.committer_email, e.commit_time, e.subject] for e in entries]})

    data = json.loads(_cache().get_or_compute("log-page", key, compute))
    return [history.LogEntry(*row) for row in data["entries"]], bool(data["more"])


@project_route(bp, "/commits", endpoint="view_commits")
@project_route(bp, "/commits/", endpoint="view_commits_slash")
@project_route(bp, "/commits/<path:ref>", endpoint="view_commits_ref")
def view_commits(repo: str, namespace: str | None = None, username: str | None = None,
                 ref: str | None = None) -> Any:
    """Paginated log of a branch, tag or commit (default branch by default)."""
    project = _project(repo, namespace, username)
    r = _open(project)
    ctx = header_context(project, "commits")
    try:
        page = max(1, min(int(request.args.get("page", "1")), history.MAX_PAGE))
    except ValueError:
        page = 1
    author_name = request.args.get("author", "").strip()
    if r is None or is_empty(r):
        if ref:
            abort(404)
        return render_template("commits/log.html", state="empty", entries=[], ref=None,
                               page=1, more=False, author=author_name, author_user=None,
                               **ctx)
    default = git_branches.default_branch(r, project.default_branch)
    head = _commit(r, ref or default or "HEAD")
    head_id = str(head.id)
    heads = git_branches.branch_heads(r)  # badges: part of what the ETag covers
    author_user = get_user(db(), author_name) if author_name else None
    emails = None
    if author_name:
        emails = _user_emails(author_user) if author_user is not None else []
    entries, more = _log_page(project, head_id, page, emails)
    # flags change without the commits changing: read for the page's rows in
    # one query, outside the cached log page, and part of the ETag
    flags = core_flags.flags_of_commits(db(), project, [e.id for e in entries])
    tag = _etag("log", head_id, str(page), author_name, json.dumps(emails), _viewer_tag(),
                _heads_tag(heads), core_flags.flags_tag(flags))
    if (nm := _not_modified(tag)) is not None:
        return nm
    for e in entries:
        e.branches = heads.get(e.id, [])
    owners = users_by_email({e.author_email for e in entries})
    html = render_template(
        "commits/log.html", state="ready",
        commit_list=commit_list_html(entries, owners, project_url(project), flags),
        entries=entries, ref=ref or default,
        ref_in_url=ref, head_id=head_id, page=page, more=more, author=author_name,
        author_user=author_user, owners=owners, when=_when, **ctx)
    return _with_etag(html, tag)


# -- one commit, compare, raw ------------------------------------------------------

@project_route(bp, "/c/<cid>", endpoint="view_commit")
@project_route(bp, "/c/<cid>/", endpoint="view_commit_slash")
def view_commit(repo: str, cid: str, namespace: str | None = None,
                username: str | None = None) -> Any:
    """``<id>``: a commit; ``<id>.patch`` / ``<id>.diff``: raw; ``<a>..<b>``: compare."""
    project, r = _load(repo, namespace, username)
    if cid.endswith(".patch"):
        return _patch(project, r, cid[: -len(".patch")])
    if cid.endswith(".diff"):
        return _raw_diff(project, r, cid[: -len(".diff")])
    if ".." in cid:
        return _compare(project, r, cid)
    if _HEX.fullmatch(cid):
        obj = _object(r, cid)
        if isinstance(obj, pygit2.Tag):
            target = _commit(r, cid)
            return redirect(project_url(project, f"/c/{target.id}"))
    commit = _commit(r, cid)
    split = _is_split()
    commit_id = str(commit.id)
    heads = git_branches.branch_heads(r).get(commit_id, [])
    flags = core_flags.flags_of_commit(db(), project, commit_id)
    tag = _etag("commit", commit_id, str(int(split)), _viewer_tag(), ",".join(heads),
                core_flags.flags_tag(flags))
    if (nm := _not_modified(tag)) is not None:
        return nm
    purl = project_url(project)
    base = git_diff.base_tree(commit)
    diff_html = _diff_html(
        "commit-diff", commit_id, lambda: git_diff.commit_diff(r, commit), split, purl,
        f"{purl}/c/{commit_id}/f/")
    meta = _commit_meta(r, commit)
    owners = users_by_email({meta["author_email"], meta["committer_email"]})
    html = render_template("commits/commit.html", c=meta, diff_html=diff_html,
                           split=split, owners=owners, is_root=base is None,
                           heads=heads, flags=flags, flag_link=core_flags.safe_link,
                           flag_labels=core_flags.STATUS_LABELS,
                           flag_classes=core_flags.STATUS_BADGES,
                           **header_context(project, "commits"))
    return _with_etag(html, tag)


def _object(r: pygit2.Repository, cid: str) -> pygit2.Object | None:
    try:
        return r.get(cid) if len(cid) >= 40 else r.revparse_single(cid)
    except (KeyError, ValueError, pygit2.GitError):
        return None


def _two(r: pygit2.Repository, cid: str) -> tuple[pygit2.Commit, pygit2.Commit]:
    left, _, right = cid.partition("..")
    if not left or not right or right.startswith("."):
        abort(404)
    return _commit(r, left), _commit(r, right)


def _compare(project: Project, r: pygit2.Repository, cid: str) -> Any:
    """Commits in ``a..b`` (newest first, as ``git rev-list a..b``) and the
    diff from ``a``'s tree to ``b``'s."""
    old, new = _two(r, cid)
    old_id, new_id = str(old.id), str(new.id)
    split = _is_split()
    tag = _etag("compare", old_id, new_id, str(int(split)), _viewer_tag())
    if (nm := _not_modified(tag)) is not None:
        return nm
    entries, more = history.commit_range(_repo_dir(project), old_id, new_id)
    owners = users_by_email({e.author_email for e in entries})
    purl = project_url(project)
    diff_html = _diff_html(
        "compare-diff", f"{old_id}..{new_id}", lambda: git_diff.compare_diff(r, old, new),
        split, purl, f"{purl}/c/{old_id}..{new_id}/f/")
    html = render_template("commits/compare.html", old=_commit_meta(r, old),
                           new=_commit_meta(r, new), entries=entries, more=more,
                           commit_list=commit_list_html(entries, owners, purl),
                           owners=owners, diff_html=diff_html, split=split,
                           when=_when, limit=history.COMPARE_MAX,
                           **header_context(project, "commits"))
    return _with_etag(html, tag)


@project_route(bp, "/c/<cid>/f/<path:fpath>", endpoint="view_commit_file")
def view_commit_file(repo: str, cid: str, fpath: str, namespace: str | None = None,
                     username: str | None = None) -> Any:
    """One file of a commit's (or a comparison's) diff, for files too big to inline."""
    project, r = _load(repo, namespace, username)
    if ".." in cid:
        old_c, new = _two(r, cid)
        old = old_c.tree
        key = f"{old_c.id}..{new.id}"
    else:
        new = _commit(r, cid)
        old = git_diff.base_tree(new)
        key = str(new.id)
    split = _is_split()
    tag = _etag("file", key, fpath, str(int(split)), _viewer_tag())
    if (nm := _not_modified(tag)) is not None:
        return nm
    f = git_diff.one_file(r, old, new.tree, fpath)
    if f is None:
        abort(404)
    purl = project_url(project)
    diff_html = render_template("commits/_diff.html",
                                diff=diff_highlight.highlight_diff(git_diff.DiffResult([f])),
                                split=split, file_base=None, split_rows=git_diff.split_rows)
    html = render_template("commits/file.html", file=f, key=key, diff_html=diff_html,
                           split=split, back=f"{purl}/c/{key}",
                           **header_context(project, "commits"))
    return _with_etag(html, tag)


def _raw_headers(resp: Response, commit_ids: str, private: bool) -> Response:
    resp.set_etag(_etag("raw", commit_ids))
    resp.headers["Cache-Control"] = "private, no-cache" if private else "public, no-cache"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def _patch(project: Project, r: pygit2.Repository, cid: str) -> Response:
    """``git format-patch`` output of one commit, as text."""
    commit = _commit(r, cid)
    tag = _etag("raw", f"patch:{commit.id}")
    if tag in request.if_none_match:
        return Response(status=304)
    resp = Response(git_diff.stream_git(_repo_dir(project), git_diff.patch_args(commit)),
                    mimetype="text/plain")
    resp.charset = "utf-8"
    return _raw_headers(resp, f"patch:{commit.id}", project.private)


def _raw_diff(project: Project, r: pygit2.Repository, cid: str) -> Response:
    """The raw diff (``?file=<path>``: one file; ``?js=1``: per-file JSON)."""
    if ".." in cid:
        against, commit = _two(r, cid)
    else:
        commit, against = _commit(r, cid), None
    ids = f"diff:{against.id if against else ''}:{commit.id}"
    if request.args.get("js", "").lower() in ("1", "true"):
        old = against.tree if against is not None else git_diff.base_tree(commit)
        texts = git_diff.file_patch_text(r, old, commit.tree)
        resp = Response(json.dumps(texts), mimetype="application/json")
        return _raw_headers(resp, ids + ":js", project.private)
    path = request.args.get("file")
    if path is not None and ("\x00" in path or not path):
        abort(404)
    if path is not None:
        ids += ":" + path
    tag = _etag("raw", ids)
    if tag in request.if_none_match:
        return Response(status=304)
    resp = Response(git_diff.stream_git(_repo_dir(project),
                                        git_diff.raw_diff_args(commit, against, path)),
                    mimetype="text/plain")
    resp.charset = "utf-8"
    return _raw_headers(resp, ids, project.private)


# -- branches and releases -----------------------------------------------------------

@project_route(bp, "/branches", endpoint="view_branches")
@project_route(bp, "/branches/", endpoint="view_branches_slash")
def view_branches(repo: str, namespace: str | None = None, username: str | None = None) -> Any:
    """Every branch with its last commit and ahead/behind the default branch."""
    project = _project(repo, namespace, username)
    r = _open(project)
    ctx = header_context(project, "branches")
    if r is None or is_empty(r):
        return render_template("commits/branches.html", branches=[], default=None,
                               aliases={}, when=_when, cap=git_branches.AHEAD_BEHIND_CAP,
                               **ctx)
    default = git_branches.default_branch(r, project.default_branch)
    cache = _cache()

    def counter(branch_id: str, base_id: str) -> tuple[int, int]:
        value = cache.get_or_compute(
            "ahead-behind", f"{branch_id}:{base_id}:{git_branches.AHEAD_BEHIND_CAP}",
            lambda: "{},{}".format(*git_branches.ahead_behind(r, branch_id, base_id)))
        a, b = value.split(",")
        return int(a), int(b)

    branches = git_branches.list_branches(r, default, counter)
    owners = users_by_email({b.author_email for b in branches})
    return render_template("commits/branches.html", branches=branches, default=default,
                           aliases=git_branches.aliases(r), owners=owners, when=_when,
                           cap=git_branches.AHEAD_BEHIND_CAP, open_prs=_open_prs(project),
                           **ctx)


def _open_prs(project: Project) -> dict[str, Any]:
    """branch -> its open pull request (the first), for "New PR" / "PR #n" links."""
    from pagurus.model import PullRequest

    rows = db().scalars(select(PullRequest).where(
        PullRequest.project_from_id == project.id, PullRequest.status == "Open")
        .order_by(PullRequest.id))
    out: dict[str, Any] = {}
    for pr in rows:
        out.setdefault(pr.branch_from, pr)
    return out


def archive_name(project: Project, tag: str) -> str:
    """A safe top folder / file name for a tag's archive: ``<project>-<tag>``."""
    name = re.sub(r"[^A-Za-z0-9_.+~-]", "-", f"{project.name}-{tag}").strip(".-")
    name = re.sub(r"\.{2,}", ".", name)
    return name[:200] or "archive"


@project_route(bp, "/releases", endpoint="view_releases")
@project_route(bp, "/releases/", endpoint="view_releases_slash")
def view_releases(repo: str, namespace: str | None = None, username: str | None = None) -> Any:
    """Tags, newest tagged commit first, with their annotation and archives."""
    project = _project(repo, namespace, username)
    r = _open(project)
    tags = git_branches.list_tags(r) if r is not None else []
    rows = [{"tag": t, "archive": archive_name(project, t.name)} for t in tags]
    return render_template("commits/releases.html", rows=rows, when=_when,
                           **header_context(project, "releases"))


# -- archives ---------------------------------------------------------------------

@project_route(bp, "/archive/<path:rest>", endpoint="download_archive")
def download_archive(repo: str, rest: str, namespace: str | None = None,
                     username: str | None = None) -> Response:
    """``archive/<ref>/<name>.tar.gz|.tar|.zip``: the tree of ``<ref>`` under
    ``<name>/``, identical to ``git archive``; cached by commit id."""
    project, r = _load(repo, namespace, username)
    ref, _, filename = rest.rpartition("/")
    parsed = git_archive.split_filename(filename)
    if not ref or parsed is None:
        abort(404)
    name, ext = parsed
    commit = _commit(r, ref)
    commit_id = str(commit.id)
    tag = _etag("archive", commit_id, name, ext)
    if tag in request.if_none_match:
        return Response(status=304)
    target = git_archive.cache_path(settings().data_dir, project.fullname, commit_id, name, ext)
    if target.is_file():
        diskcache.touch(target)
        body = git_archive.read_file(target)
        length: int | None = target.stat().st_size
    else:
        body = git_archive.stream_archive(
            _repo_dir(project), target, commit_id, name, ext,
            cache_root=settings().data_dir / "archives",
            max_bytes=settings().archive_cache_bytes)
        length = None
    resp = Response(body, mimetype=git_archive.FORMATS[ext][1])
    if length is not None:
        resp.content_length = length
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}.{ext}"'
    resp.set_etag(tag)
    resp.headers["Cache-Control"] = "private" if project.private else "public"
    return resp


# -- statistics ---------------------------------------------------------------------

@project_route(bp, "/stats", endpoint="view_stats")
@project_route(bp, "/stats/", endpoint="view_stats_slash")
def view_stats(repo: str, namespace: str | None = None, username: str | None = None) -> Any:
    """Top authors and commits per week over the last year, on the default branch."""
    project = _project(repo, namespace, username)
    r = _open(project)
    ctx = header_context(project, "stats")
    if r is None or is_empty(r):
        return render_template("commits/stats.html", authors=[], weeks=[], head=None,
                               owners={}, peak=0, total=0, **ctx)
    default = git_branches.default_branch(r, project.default_branch)
    head = _commit(r, default or "HEAD")
    head_id = str(head.id)
    repo_dir = _repo_dir(project)
    cache = _cache()
    now = int(time.time())
    this_week = now // history.WEEK
    authors_raw = cache.get_or_compute(
        "stats-authors", head_id, lambda: json.dumps(
            [[a.name, a.email, a.commits] for a in history.top_authors(repo_dir, head_id)]))
    weeks_raw = cache.get_or_compute(
        "stats-weeks", f"{head_id}:{this_week}",
        lambda: json.dumps(history.weekly_commits(repo_dir, head_id, now)))
    authors = [{"name": n, "email": e, "commits": c} for n, e, c in json.loads(authors_raw)]
    weeks = [{"start": _when(s), "count": c} for s, c in json.loads(weeks_raw)]
    owners = users_by_email({a["email"] for a in authors})
    return render_template("commits/stats.html", authors=authors, weeks=weeks, head=head_id,
                           owners=owners, peak=max([w["count"] for w in weeks] or [0]),
                           total=sum(w["count"] for w in weeks),
                           top=max([a["commits"] for a in authors] or [0]), **ctx)

