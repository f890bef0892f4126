"""The issue pages as users drive them through plain forms (no JavaScript):
opening issues (with templates from a real tickets repo), reading,
commenting, editing, reacting, watching, changing metadata, deleting — and
every refusal leaving everything as it was."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import csrf_of, login_as, unique
from sqlalchemy import select

from pagurus import paths
from pagurus.core import attachments as core_attachments
from pagurus.core import issues
from pagurus.core import projects as core_projects
from pagurus.git.repos import init_bare
from pagurus.model import Attachment, Issue, IssueComment, IssueCustomKey, IssueWatcher

BASE = "http://pagurus.test"


# -- helpers ---------------------------------------------------------------------

def new_project(session, settings, owner, **settings_values):
    project = core_projects.create_project(session, settings, owner, unique("p"), "desc")
    project.repo_state = "ready"
    project.priorities = {"1": "High", "2": "Normal", "3": "Low"}
    project.default_priority = "Normal"
    project.milestones = {"v1": {"date": None, "active": True},
                          "old": {"date": None, "active": False}}
    project.close_status = ["Fixed", "Invalid"]
    project.quick_replies = ["Thanks, fixed in the next release.", "Cannot reproduce."]
    project.settings = {**(project.settings or {}), **settings_values}
    session.commit()
    return project


def grant(session, project, user, level):
    core_projects.set_user_access(session, project.user, project, user, level)
    session.commit()


def open_issue(session, author, project, **kwargs):
    kwargs.setdefault("title", "Crash on start")
    kwargs.setdefault("content", "It **crashes**.")
    issue = issues.create_issue(session, author, project, base_url=BASE, **kwargs)
    session.commit()
    return issue


def purl(project) -> str:
    return "/" + project.url_path


def post(client, url, data=None, **kwargs):
    data = dict(data or {})
    data.setdefault("csrf_token", csrf_of(client))
    return client.post(url, data=data, **kwargs)


def fresh(session, obj):
    session.expire_all()
    return session.get(type(obj), obj.id)


def git(*args, cwd=None):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)


def tickets_repo_with(settings, project, files: dict[str, str], tmp: Path) -> None:
    """A tickets repo made and filled the way a maintainer would: git clone,
    commit, push."""
    bare = paths.repo_path(settings.data_dir, "tickets", project.fullname)
    init_bare(bare, "master")
    if not files:
        return
    work = tmp / "tickets-work"
    git("clone", "-q", str(bare), str(work))
    for name, text in files.items():
        target = work / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git("-c", "user.name=Maintainer", "-c", "user.email=m@example.com", "add", ".", cwd=work)
    git("-c", "user.name=Maintainer", "-c", "user.email=m@example.com", "commit", "-q", "-m",
        "Issue templates", cwd=work)
    git("push", "-q", "origin", "HEAD:refs/heads/master", cwd=work)


# -- opening an issue ----------------------------------------------------------------

def test_a_reporter_opens_an_issue_and_its_metadata_is_ignored(client, session, settings,
                                                               make_user):
    owner, reporter = make_user(), make_user()
    project = new_project(session, settings, owner)
    login_as(client, reporter)
    page = client.get(purl(project) + "/new_issue")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="title"' in html and 'name="issue_content"' in html
    assert 'name="assignee"' not in html and 'name="priority"' not in html
    resp = post(client, purl(project) + "/new_issue", {
        "title": "Login fails", "issue_content": "Steps: *click*", "priority": "1",
        "tag": "urgent", "assignee": reporter.name})
    assert resp.status_code == 302
    issue = session.scalar(select(Issue).where(Issue.project_id == project.id))
    assert resp.headers["Location"].endswith(f"{purl(project)}/issue/{issue.number}")
    assert (issue.title, issue.content, issue.user_id) == ("Login fails", "Steps: *click*",
                                                           reporter.id)
    assert issue.priority is None and issue.tags == [] and issue.assignee_id is None
    assert issue.private is False


def test_a_triager_opens_an_issue_with_assignee_milestone_priority_and_tags(
        client, session, settings, make_user):
    owner, triager = make_user(), make_user()
    project = new_project(session, settings, owner)
    grant(session, project, triager, "ticket")
    login_as(client, triager)
    html = client.get(purl(project) + "/new_issue").get_data(as_text=True)
    assert 'name="assignee"' in html
    assert '<option value="2" selected>Normal</option>' in html  # the default priority
    assert '<option value="v1">v1</option>' in html
    assert '<option value="old"' not in html  # inactive milestones are not offered
    resp = post(client, purl(project) + "/new_issue", {
        "title": "Plan it", "issue_content": "x", "priority": "1", "milestone": "v1",
        "tag": "ui, backend", "assignee": owner.name})
    assert resp.status_code == 302
    issue = session.scalar(select(Issue).where(Issue.project_id == project.id))
    assert (issue.priority, issue.milestone, issue.assignee_id) == (1, "v1", owner.id)
    assert sorted(t.name for t in issue.tags) == ["backend", "ui"]


def test_open_metadata_access_lets_anyone_set_metadata(client, session, settings, make_user):
    owner, reporter = make_user(), make_user()
    project = new_project(session, settings, owner, open_metadata_access_to_all=True)
    login_as(client, reporter)
    assert 'name="assignee"' in client.get(purl(project) + "/new_issue").get_data(as_text=True)
    post(client, purl(project) + "/new_issue", {"title": "t", "issue_content": "c",
                                                "tag": "docs"})
    issue = session.scalar(select(Issue).where(Issue.project_id == project.id))
    assert [t.name for t in issue.tags] == ["docs"]


def test_bad_input_on_the_new_issue_form_keeps_the_text_and_creates_nothing(
        client, session, settings, make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    login_as(client, owner)
    resp = post(client, purl(project) + "/new_issue", {
        "title": "", "issue_content": "my long report"})
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "my long report" in html and "This field is required." in html
    resp = post(client, purl(project) + "/new_issue", {
        "title": "t", "issue_content": "c", "milestone": "old"})
    assert resp.status_code == 400
    assert session.scalar(select(Issue).where(Issue.project_id == project.id)) is None


def test_private_is_prechecked_when_the_project_wants_it(client, session, settings, make_user):
    owner, reporter = make_user(), make_user()
    project = new_project(session, settings, owner, issues_default_to_private=True)
    login_as(client, reporter)
    html = client.get(purl(project) + "/new_issue").get_data(as_text=True)
    assert 'name="private" type="checkbox" value="1" checked' in html
    post(client, purl(project) + "/new_issue", {"title": "t", "issue_content": "c",
                                                "private": "1"})
    issue = session.scalar(select(Issue).where(Issue.project_id == project.id))
    assert issue.private is True


def test_the_form_is_prefilled_from_the_query(client, session, settings, make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    login_as(client, owner)
    html = client.get(purl(project) + "/new_issue?title=Broken%20%3Cb%3E&content=Line%201"
                      ).get_data(as_text=True)
    assert 'value="Broken &lt;b&gt;"' in html
    assert "Line 1</textarea>" in html


def test_templates_come_from_the_tickets_repo(client, session, settings, make_user, tmp_path):
    owner = make_user()
    project = new_project(session, settings, owner)
    tickets_repo_with(settings, project, {
        "templates/default.md": "## Steps\n\n## Expected <default>\n",
        "templates/bug.md": "Bug template body\n",
        "templates/contributing.md": "Please search **first**.\n",
        "templates/notes.txt": "not a template",
    }, tmp_path)
    login_as(client, owner)
    html = client.get(purl(project) + "/new_issue").get_data(as_text=True)
    assert "## Expected &lt;default&gt;" in html  # default.md preloaded (escaped)
    assert '<option value="bug">bug</option>' in html
    assert '<option value="default" selected>default</option>' in html
    assert 'value="notes"' not in html and 'value="contributing"' not in html
    assert "Please search <strong>first</strong>." in html  # guidance, rendered
    html = client.get(purl(project) + "/new_issue?template=bug").get_data(as_text=True)
    assert "Bug template body" in html and "## Steps" not in html
    resp = post(client, f"/pv{purl(project)}/issue/template", {"template": "bug"})
    assert resp.get_json() == {"code": "OK", "message": "Bug template body\n"}
    resp = post(client, f"/pv{purl(project)}/issue/template", {"template": "../default"})
    assert resp.status_code == 404 and resp.get_json()["code"] == "ERROR"
    html = client.get(purl(project) + "/new_issue?template=nope").get_data(as_text=True)
    assert "No template called nope" in html


def test_an_empty_or_missing_tickets_repo_means_no_templates(client, session, settings,
                                                             make_user, tmp_path):
    owner = make_user()
    missing, empty = new_project(session, settings, owner), new_project(session, settings, owner)
    tickets_repo_with(settings, empty, {}, tmp_path)
    login_as(client, owner)
    for project in (missing, empty):
        resp = client.get(purl(project) + "/new_issue")
        assert resp.status_code == 200
        assert 'name="template"' not in resp.get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_log_in(client, session, settings, make_user):
    project = new_project(session, settings, make_user())
    resp = client.get(purl(project) + "/new_issue")
    assert resp.status_code == 302 and "/login/" in resp.headers["Location"]


# -- the issue page ---------------------------------------------------------------------

def test_the_issue_page_shows_the_issue_and_comments_in_order(client, session, settings,
                                                              make_user):
    owner, reporter = make_user(), make_user()
    project = new_project(session, settings, owner)
    other = open_issue(session, owner, project, title="Other one")
    issue = open_issue(session, reporter, project, content=f"See #{other.number} and "
                       f"@{owner.name}")
    issues.add_comment(session, owner, issue, "first reply", base_url=BASE)
    issues.update_metadata(session, owner, issue, base_url=BASE, priority="High", tags="bug")
    issues.add_comment(session, reporter, issue, "second reply", base_url=BASE)
    session.commit()
    html = client.get(f"{purl(project)}/issue/{issue.number}").get_data(as_text=True)
    assert "Crash on start" in html and "Open</span>" in html
    assert f'href="{purl(project)}/issue/{other.number}"' in html  # #N linked
    assert f'href="/user/{owner.name}"' in html
    assert html.index("first reply") < html.index("Metadata Update") < html.index(
        "second reply")
    assert 'class="issue-event"' in html  # the system comment is an event, not a card
    assert "High" in html and ">bug</a>" in html
    # anonymous: no forms to change anything
    assert 'action="' + f"{purl(project)}/issue/{issue.number}/update" not in html
    assert "Log in</a> to comment" in html


def test_a_user_comments_and_uses_a_quick_reply(client, session, settings, make_user):
    owner, reporter = make_user(), make_user()
    project = new_project(session, settings, owner)
    issue = open_issue(session, reporter, project)
    login_as(client, reporter)
    url = f"{purl(project)}/issue/{issue.number}"
    html = client.get(url).get_data(as_text=True)
    assert "Thanks, fixed in the next release." in html  # offered as a quick reply
    resp = post(client, url + "/update", {"comment": "More **details**"})
    assert resp.status_code == 302 and "#comment-" in resp.headers["Location"]
    resp = post(client, url + "/update", {"comment": "", "quick_reply": "1"})
    assert resp.status_code == 302
    issue = fresh(session, issue)
    assert [c.comment for c in issue.comments] == ["More **details**", "Cannot reproduce."]
    html = client.get(url).get_data(as_text=True)
    assert "More <strong>details</strong>" in html
    # nothing at all: refused, clearly
    resp = post(client, url + "/update", {"comment": "  "})
    assert resp.status_code == 400 and "Nothing to change" in resp.get_data(as_text=True)


def test_the_preview_renders_without_posting(client, session, settings, make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    issue = open_issue(session, owner, project)
    login_as(client, owner)
    url = f"{purl(project)}/issue/{issue.number}"
    resp = post(client, url + "/update", {"comment": "*draft*", "preview": "1"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<em>draft</em>" in html and "*draft*</textarea>" in html
    assert fresh(session, issue).comments == []
    resp = post(client, "/pv/markdown/preview", {"content": "**b** <script>x</script>",
                                                 "project": project.url_path})
    assert resp.status_code == 200
    assert resp.get_data(as_text=True).strip() == "<p><strong>b</strong> </p>"
    assert client.post("/pv/markdown/preview", data={"content": "x"}).status_code == 400
    resp = post(client, purl(project) + "/new_issue", {"title": "t", "issue_content": "`c`",
                                                       "preview": "1"})
    assert "<code>c</code>" in resp.get_data(as_text=True)
    assert session.scalar(select(Issue).where(Issue.project_id == project.id,
                                              Issue.title == "t")) is None


def test_the_author_edits_the_issue_and_others_may_not(client, session, settings, make_user):
    owner, reporter, stranger = make_user(), make_user(), make_user()
    project = new_project(session, settings, owner)
    issue = open_issue(session, reporter, project)
    url = f"{purl(project)}/issue/{issue.number}"
    login_as(client, stranger)
    assert client.get(url + "/edit").status_code == 403
    resp = post(client, url + "/edit", {"title": "Hacked", "issue_content": "x"})
    assert resp.status_code == 403 and "You may not edit this issue" in resp.get_data(
        as_text=True)
    assert fresh(session, issue).title == "Crash on start"
    login_as(client, reporter)
    assert 'value="Crash on start"' in client.get(url + "/edit").get_data(as_text=True)
    resp = post(client, url + "/edit", {"title": "Crash on start-up",
                                        "issue_content": "Better text", "private": "1"})
    assert resp.status_code == 302
    issue = fresh(session, issue)
    assert (issue.title, issue.content, issue.private) == ("Crash on start-up", "Better text",
                                                           True)


def test_editing_a_comment_leaves_an_edited_marker(client, session, settings, make_user):
    owner, reporter, stranger = make_user(), make_user(), make_user()
    project = new_project(session, settings, owner)
    issue = open_issue(session, owner, project)
    comment = issues.add_comment(session, reporter, issue, "typo hre", base_url=BASE)
    session.commit()
    url = f"{purl(project)}/issue/{issue.number}/comment/{comment.id}/edit"
    login_as(client, stranger)
    assert client.get(url).status_code == 403
    resp = post(client, url + "?js=1", {"update_comment": "vandal"})
    assert resp.status_code == 403 and resp.get_data(as_text=True).startswith("notok: ")
    login_as(client, reporter)
    assert "typo hre</textarea>" in client.get(url).get_data(as_text=True)
    resp = post(client, url, {"update_comment": "typo here"})
    assert resp.status_code == 302
    resp = post(client, url + "?js=1", {"update_comment": "typo here!"})
    assert resp.get_data(as_text=True) == "ok"
    comment = fresh(session, comment)
    assert comment.comment == "typo here!" and comment.editor_id == reporter.id
    html = client.get(f"{purl(project)}/issue/{issue.number}").get_data(as_text=True)
    assert f"edited by {reporter.name} at" in html
    # also through the update form's edit_comment
    resp = post(client, f"{purl(project)}/issue/{issue.number}/update",
                {"edit_comment": str(comment.id), "update_comment": "third take"})
    assert resp.status_code == 302 and fresh(session, comment).comment == "third take"


def test_the_issue_author_may_not_delete_someone_elses_comment(client, session, settings,
                                                               make_user):
    owner, reporter, helper, committer = make_user(), make_user(), make_user(), make_user()
    project = new_project(session, settings, owner)
    grant(session, project, committer, "commit")
    issue = open_issue(session, reporter, project)
    theirs = issues.add_comment(session, helper, issue, "helpful words", base_url=BASE)
    mine = issues.add_comment(session, reporter, issue, "my own words", base_url=BASE)
    spam = issues.add_comment(session, helper, issue, "spam", base_url=BASE)
    session.commit()
    url = f"{purl(project)}/issue/{issue.number}"
    login_as(client, reporter)
    html = client.get(url).get_data(as_text=True)
    assert f'name="drop_comment" value="{theirs.id}"' not in html
    resp = post(client, url + "/update", {"drop_comment": str(theirs.id)})
    assert resp.status_code == 403
    assert "You may not delete this comment" in resp.get_data(as_text=True)
    resp = post(client, url + "/update?js=1", {"drop_comment": str(theirs.id)})
    assert resp.get_data(as_text=True) == "notok: You may not delete this comment"
    assert session.get(IssueComment, theirs.id) is not None
    assert post(client, url + "/update", {"drop_comment": str(mine.id)}).status_code == 302
    login_as(client, committer)
    assert post(client, url + "/update?js=1",
                {"drop_comment": str(spam.id)}).get_data(as_text=True) == "ok"
    session.expire_all()
    assert [c.comment for c in fresh(session, issue).comments] == ["helpful words"]


def test_reactions_are_given_once_and_taken_back(client, session, settings, make_user):
    owner, fan = make_user(), make_user()
    project = new_project(session, settings, owner)
    issue = open_issue(session, owner, project)
    comment = issues.add_comment(session, owner, issue, "shipped", base_url=BASE)
    session.commit()
    url = f"{purl(project)}/issue/{issue.number}/comment/{comment.id}/react"
    login_as(client, fan)
    assert post(client, url, {"reaction": "Heart"}).status_code == 302
    resp = post(client, url + "?js=1", {"reaction": "Heart"})
    assert resp.status_code == 409 and resp.get_data(as_text=True).startswith("notok: ")
    assert fresh(session, comment).reactions == {"Heart": [fan.name]}
    html = client.get(f"{purl(project)}/issue/{issue.number}").get_data(as_text=True)
    assert f'title="Heart: {fan.name}"' in html and 'aria-pressed="true"' in html
    assert 'name="unreact" value="Heart"' in html  # the button now takes it back
    assert post(client, url, {"unreact": "Heart"}).status_code == 302
    assert fresh(session, comment).reactions == {}
    assert post(client, url + "?js=1", {"reaction": "Confused"}).get_data(as_text=True) == "ok"
    assert post(client, url + "?js=1", {"reaction": "Confused", "remove": "1"}
                ).get_data(as_text=True) == "ok"
    assert fresh(session, comment).reactions == {}
    client.get("/logout")
    with client.session_transaction() as sess:
        sess.clear()
    assert post(client, url, {"reaction": "Heart"}).status_code == 302  # to the login page
    assert fresh(session, comment).reactions == {}


def test_watching_and_unwatching_an_issue(client, session, settings, make_user):
    owner, bystander = make_user(), make_user()
    project = new_project(session, settings, owner)
    issue = open_issue(session, owner, project)
    url = f"{purl(project)}/issue/{issue.number}"
    login_as(client, bystander)
    html = client.get(url).get_data(as_text=True)
    assert "Watch this issue" in html and f">{bystander.name}</a>" not in html
    assert post(client, url + "/watch", {"watch": "1"}).status_code == 302
    html = client.get(url).get_data(as_text=True)
    assert "Unwatch this issue" in html and f">{bystander.name}</a>" in html
    post(client, url + "/watch", {"watch": "0"})
    row = session.get(IssueWatcher, (issue.id, bystander.id))
    session.refresh(row)
    assert row.watch is False
    assert "Watch this issue" in client.get(url).get_data(as_text=True)


def test_the_update_form_changes_each_field(client, session, settings, make_user):
    owner, dev = make_user(), make_user()
    project = new_project(session, settings, owner)
    for i, (name, kind, data) in enumerate((("severity", "list", ["minor", "major"]),
                                            ("easy", "boolean", None),
                                            ("due", "date", None),
                                            ("docs", "link", None),
                                            ("note", "text", None))):
        session.add(IssueCustomKey(project_id=project.id, name=name, key_type=kind, data=data,
                                   position=i))
    session.commit()
    parent = open_issue(session, owner, project, title="parent")
    issue = open_issue(session, owner, project)
    child = open_issue(session, owner, project, title="child")
    url = f"{purl(project)}/issue/{issue.number}"
    login_as(client, owner)
    html = client.get(url).get_data(as_text=True)
    assert 'name="severity"' in html and 'name="depending"' in html
    resp = post(client, url + "/update", {
        "priority": "1", "milestone": "v1", "tag": "bug, ui", "assignee": dev.name,
        "depending": str(parent.number), "blocking": f"#{child.number}",
        "severity": "major", "easy": "true", "due": "2030-01-31",
        "docs": "https://example.com/a", "note": "see logs", "private_shown": "1",
        "private": "1", "comment": "triaged"})
    assert resp.status_code == 302
    issue = fresh(session, issue)
    assert (issue.priority, issue.milestone, issue.assignee_id, issue.private) == (
        1, "v1", dev.id, True)
    assert [t.name for t in issue.tags] == ["bug", "ui"]
    assert issues.depends_numbers(session, issue) == [parent.number]
    assert issues.blocks_numbers(session, issue) == [child.number]
    assert {v.key.name: v.value for v in issue.custom_values} == {
        "severity": "major", "easy": "true", "due": "2030-01-31",
        "docs": "https://example.com/a", "note": "see logs"}
    note, text = issue.comments[-2:]
    assert note.notification and "Issue priority set to: High" in note.comment
    assert text.comment == "triaged"
    html = client.get(url).get_data(as_text=True)
    for shown in (f'href="{purl(project)}/issue/{parent.number}"', ">major<",
                  'href="https://example.com/a"', "see logs", ">v1</a>"):
        assert shown in html
    # closing is refused while a dependency is open: nothing changes, the page says why
    resp = post(client, url + "/update", {"status": "Closed", "close_status": "Fixed",
                                          "comment": "closing"})
    assert resp.status_code == 400
    assert "You cannot close a ticket" in resp.get_data(as_text=True)
    assert fresh(session, issue).status == "Open"
    issues.update_metadata(session, owner, fresh(session, parent), base_url=BASE,
                           status="Closed")
    session.commit()
    resp = post(client, url + "/update?js=1", {"status": "Closed", "close_status": "Fixed"})
    assert resp.get_data(as_text=True) == "ok"
    issue = fresh(session, issue)
    assert (issue.status, issue.close_status) == ("Closed", "Fixed")
    # resets, with ?js=1
    assert post(client, url + "/update?js=1", {
        "status": "Open", "priority": "", "milestone": "", "tag": "", "assignee": "",
        "depending": "", "blocking": "", "severity": "", "private_shown": "1"}
    ).get_data(as_text=True) == "ok"
    issue = fresh(session, issue)
    assert (issue.status, issue.priority, issue.milestone, issue.assignee_id, issue.tags,
            issue.private) == ("Open", None, None, None, [], False)
    assert issues.depends_numbers(session, issue) == []
    resp = post(client, url + "/update?js=1", {"priority": "Urgent"})
    assert resp.status_code == 400
    assert resp.get_data(as_text=True) == "notok: Invalid priority submitted"
    resp = post(client, url + "/update?js=1", {"severity": "huge", "tag": "fine"})
    assert resp.get_data(as_text=True).startswith("notok: Invalid value for severity")
    assert fresh(session, issue).tags == []


def test_a_reporter_may_comment_with_the_full_form_but_not_change_metadata(
        client, session, settings, make_user):
    owner, reporter = make_user(), make_user()
    project = new_project(session, settings, owner)
    issue = open_issue(session, reporter, project)
    issues.update_metadata(session, owner, issue, base_url=BASE, tags="bug", priority="Low")
    session.commit()
    url = f"{purl(project)}/issue/{issue.number}"
    login_as(client, reporter)
    html = client.get(url).get_data(as_text=True)
    # the reporter may comment, not close or retag
    assert 'name="status"' not in html and 'name="tag"' not in html
    # the whole form as it stands plus a comment: no rights needed for unchanged fields
    resp = post(client, url + "/update", {"comment": "ping", "tag": "bug", "priority": "3",
                                          "status": "Open", "close_status": ""})
    assert resp.status_code == 302
    resp = post(client, url + "/update", {"comment": "sneaky", "tag": "wontfix"})
    assert resp.status_code == 403
    assert "sneaky</textarea>" in resp.get_data(as_text=True)  # the text is kept
    issue = fresh(session, issue)
    assert [t.name for t in issue.tags] == ["bug"]
    assert [c.comment for c in issue.comments if not c.notification] == ["ping"]
    assert post(client, url + "/update", {"status": "Closed"}).status_code == 403
    assert fresh(session, issue).status == "Open"


def test_a_private_issue_is_a_404_to_those_who_may_not_see_it(client, session, settings,
                                                              make_user):
    owner, reporter, stranger = make_user(), make_user(), make_user()
    project = new_project(session, settings, owner)
    issue = open_issue(session, reporter, project, private=True)
    url = f"{purl(project)}/issue/{issue.number}"
    missing = f"{purl(project)}/issue/{issue.number + 100}"
    assert client.get(url).status_code == 404
    login_as(client, stranger)
    for target in (url, missing, url + "/edit"):
        assert client.get(target).status_code == 404
    assert post(client, url + "/update", {"comment": "hi"}).status_code == 404
    assert post(client, url + "/watch", {"watch": "1"}).status_code == 404
    assert fresh(session, issue).comments == []
    login_as(client, reporter)
    assert client.get(url).status_code == 200
    login_as(client, owner)
    assert "Private</span>" in client.get(url).get_data(as_text=True)


def test_a_disabled_tracker_is_a_404(client, session, settings, make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    issue = open_issue(session, owner, project)
    project.settings = {**project.settings, "issue_tracker": False}
    session.commit()
    login_as(client, owner)
    for target in ("/new_issue", f"/issue/{issue.number}", f"/issue/{issue.number}/edit"):
        assert client.get(purl(project) + target).status_code == 404
    assert post(client, f"{purl(project)}/issue/{issue.number}/update",
                {"comment": "x"}).status_code == 404


def test_a_read_only_tracker_refuses_every_change(client, session, settings, make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    issue = open_issue(session, owner, project)
    comment = issues.add_comment(session, owner, issue, "old", base_url=BASE)
    project.settings = {**project.settings, "issue_tracker_read_only": True}
    session.commit()
    login_as(client, owner)
    page = client.get(purl(project) + "/new_issue")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "read-only" in html and 'name="title"' not in html
    resp = post(client, purl(project) + "/new_issue", {"title": "t", "issue_content": "c"})
    assert resp.status_code == 403 and "read-only" in resp.get_data(as_text=True)
    url = f"{purl(project)}/issue/{issue.number}"
    html = client.get(url).get_data(as_text=True)
    assert "read-only" in html and 'name="comment"' not in html
    resp = post(client, url + "/update", {"comment": "new"})
    assert resp.status_code == 403 and "read-only" in resp.get_data(as_text=True)
    assert post(client, url + "/update?js=1", {"status": "Closed"}).get_data(
        as_text=True).startswith("notok: ")
    assert post(client, url + "/edit", {"title": "x", "issue_content": "y"}).status_code == 403
    assert post(client, f"{url}/comment/{comment.id}/edit",
                {"update_comment": "z"}).status_code == 403
    assert post(client, f"{url}/comment/{comment.id}/react",
                {"reaction": "Heart"}).status_code == 302
    assert post(client, url + "/drop").status_code == 403
    session.expire_all()
    issue = session.get(Issue, issue.id)
    assert issue is not None and (issue.title, issue.status) == ("Crash on start", "Open")
    assert [(c.comment, c.reactions) for c in issue.comments] == [("old", {})]
    assert session.scalars(select(Issue).where(Issue.project_id == project.id)).all() == [
        issue]


def test_a_post_without_the_csrf_token_is_refused(client, session, settings, make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    issue = open_issue(session, owner, project)
    comment = issues.add_comment(session, owner, issue, "keep", base_url=BASE)
    session.commit()
    login_as(client, owner)
    url = f"{purl(project)}/issue/{issue.number}"
    for target, data in ((url + "/update", {"comment": "x", "status": "Closed"}),
                         (url + "/edit", {"title": "x", "issue_content": "y"}),
                         (url + "/drop", {}),
                         (url + "/watch", {"watch": "0"}),
                         (f"{url}/comment/{comment.id}/react", {"reaction": "Heart"}),
                         (f"{url}/comment/{comment.id}/edit", {"update_comment": "z"}),
                         (url + "/update", {"drop_comment": str(comment.id)}),
                         (purl(project) + "/new_issue", {"title": "t", "issue_content": "c"})):
        for token in ({"csrf_token": "forged"}, {}):  # wrong, then missing
            resp = client.post(target, data={**data, **token})
            assert resp.status_code == 400, target
            assert "CSRF" in resp.get_data(as_text=True)
    session.expire_all()
    issue = session.get(Issue, issue.id)
    assert (issue.title, issue.status) == ("Crash on start", "Open")
    assert [(c.comment, c.reactions) for c in issue.comments] == [("keep", {})]
    assert session.get(IssueWatcher, (issue.id, owner.id)) is None
    assert len(session.scalars(select(Issue).where(Issue.project_id == project.id)).all()) == 1


def test_only_committers_may_delete_an_issue(client, session, settings, make_user):
    owner, reporter, triager = make_user(), make_user(), make_user()
    project = new_project(session, settings, owner)
    grant(session, project, triager, "ticket")
    issue = open_issue(session, reporter, project)
    url = f"{purl(project)}/issue/{issue.number}"
    for user in (reporter, triager):
        login_as(client, user)
        assert client.get(url + "/drop").status_code == 403
        resp = post(client, url + "/drop")
        assert resp.status_code == 403
        assert "Only committers may delete an issue" in resp.get_data(as_text=True)
    assert session.get(Issue, issue.id) is not None
    login_as(client, owner)
    assert "Delete this issue" in client.get(url + "/drop").get_data(as_text=True)
    resp = post(client, url + "/drop")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(
        purl(project) + "/issues")
    session.expunge_all()
    assert session.scalar(select(Issue.id).where(Issue.id == issue.id)) is None
    assert client.get(url).status_code == 404


def test_files_attach_through_the_comment_form_without_javascript(
        client, session, settings, make_user):
    import io

    owner = make_user()
    project = new_project(session, settings, owner)
    issue = open_issue(session, owner, project)
    login_as(client, owner)
    url = f"{purl(project)}/issue/{issue.number}"
    resp = client.post(url + "/update", data={
        "csrf_token": csrf_of(client), "comment": "log attached",
        "filestream": (io.BytesIO(b"trace line\n"), "crash log.txt")},
        content_type="multipart/form-data")
    assert resp.status_code == 302
    row = session.scalar(select(Attachment).where(Attachment.issue_id == issue.id))
    assert row is not None and row.name.endswith("-crash_log.txt")
    text = fresh(session, issue).comments[-1].comment
    assert text.startswith("log attached\n\n") and f"/issue/raw/files/{row.name}" in text
    html = client.get(url).get_data(as_text=True)
    assert f'{purl(project)}/issue/raw/files/{row.name}"' in html and "crash log.txt" in html
    served = client.get(f"{url.rsplit('/', 1)[0]}/raw/files/{row.name}")
    assert served.status_code == 200 and served.data == b"trace line\n"
    # the JavaScript path: the upload endpoint answers names and locations
    resp = client.post(url + "/upload", data={"filestream": (io.BytesIO(b"\x89PNG"), "s.png")},
                       headers={"X-CSRFToken": csrf_of(client)},
                       content_type="multipart/form-data")
    assert resp.get_json()["output"] == "ok"
    # a refused comment leaves no file behind
    resp = client.post(url + "/update", data={
        "csrf_token": csrf_of(client), "comment": "x", "priority": "Bogus",
        "filestream": (io.BytesIO(b"orphan"), "orphan.txt")},
        content_type="multipart/form-data")
    assert resp.status_code == 400
    session.expire_all()
    names = [a.filename for a in session.scalars(select(Attachment).where(
        Attachment.project_id == project.id))]
    assert "orphan.txt" not in names
    assert not list(core_attachments.folder(settings.data_dir, project).glob("*-orphan.txt"))


@pytest.mark.parametrize("who", ["anonymous", "stranger"])
def test_strangers_get_no_edit_controls(client, session, settings, make_user, who):
    owner, stranger = make_user(), make_user()
    project = new_project(session, settings, owner)
    issue = open_issue(session, owner, project)
    issues.add_comment(session, owner, issue, "hello", base_url=BASE)
    session.commit()
    if who == "stranger":
        login_as(client, stranger)
    html = client.get(f"{purl(project)}/issue/{issue.number}").get_data(as_text=True)
    assert "Edit details" not in html and "/drop" not in html
    assert "drop_comment" not in html and "/edit" not in html


def test_files_sent_with_a_new_issue_fill_its_placeholders(client, session, settings,
                                                          make_user):
    import io

    owner = make_user()
    project = new_project(session, settings, owner)
    login_as(client, owner)
    resp = client.post(purl(project) + "/new_issue", data={
        "csrf_token": csrf_of(client), "title": "Screens",
        "issue_content": "Before:\n<!!image>\nAfter.",
        "filestream": [(io.BytesIO(b"one"), "one.png"), (io.BytesIO(b"two"), "two.txt")]},
        content_type="multipart/form-data")
    assert resp.status_code == 302
    issue = session.scalar(select(Issue).where(Issue.project_id == project.id))
    rows = {a.filename: a for a in session.scalars(select(Attachment).where(
        Attachment.issue_id == issue.id))}
    assert set(rows) == {"one.png", "two.txt"}
    one = f"{purl(project)}/issue/raw/files/{rows['one.png'].name}"
    two = f"{purl(project)}/issue/raw/files/{rows['two.txt'].name}"
    assert issue.content == (f"Before:\n[![one.png]({one})]({one})\nAfter.\n\n"
                             f"[![two.txt]({two})]({two})")
    # refused (no title): no issue, no file left behind
    resp = client.post(purl(project) + "/new_issue", data={
        "csrf_token": csrf_of(client), "title": "", "issue_content": "x",
        "filestream": (io.BytesIO(b"lost"), "lost.txt")}, content_type="multipart/form-data")
    assert resp.status_code == 400
    session.expire_all()
    assert "lost.txt" not in [a.filename for a in session.scalars(select(Attachment).where(
        Attachment.project_id == project.id))]
    assert not list(core_attachments.folder(settings.data_dir, project).glob("*-lost.txt"))


def test_rendered_references_follow_the_viewer_and_changes(client, session, settings,
                                                           make_user):
    """Renderings are cached; a cached one must not show a stranger the link
    (and title) of a private issue a member saw, nor an old title."""
    owner, stranger = make_user(), make_user()
    project = new_project(session, settings, owner)
    secret = open_issue(session, owner, project, title="Secret plan", private=True)
    issue = open_issue(session, owner, project, content=f"Related: #{secret.number}")
    issues.add_comment(session, owner, issue, f"Also #{secret.number}", base_url=BASE)
    session.commit()
    url = f"{purl(project)}/issue/{issue.number}"
    link = f'href="{purl(project)}/issue/{secret.number}"'
    login_as(client, owner)
    html = client.get(url).get_data(as_text=True)
    assert html.count(link) == 2 and 'title="Secret plan"' in html
    login_as(client, stranger)
    html = client.get(url).get_data(as_text=True)
    assert link not in html and "Secret plan" not in html
    assert f"Related: #{secret.number}" in html
    issues.edit_issue(session, owner, fresh(session, secret), base_url=BASE,
                      title="Public plan", content="c", private=False)
    session.commit()
    html = client.get(url).get_data(as_text=True)
    assert html.count(link) == 2 and 'title="Public plan"' in html
