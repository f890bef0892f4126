"""Hostile input on the issue pages: an XSS corpus in titles, descriptions,
comments, tags, custom fields, file names, reactions, quick replies and full
names is stored exactly as sent and rendered without anything executable —
checked in the HTML the server sends and, once, in a real Chromium against a
live server, with the page's CSP on and off (the sanitizer alone must hold)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import PASSWORD, csrf_of, login_as, unique
from livehelp import live_web
from sqlalchemy import select

from pagurus import config
from pagurus.core import attachments as core_attachments
from pagurus.core import issues
from pagurus.core import projects as core_projects
from pagurus.core import users as core_users
from pagurus.core.errors import InvalidInput
from pagurus.model import Issue, IssueComment, IssueCustomKey, IssueCustomValue, TagColored

BASE = "http://pagurus.test"

CORPUS = [
    "<script>alert(1)</script>",
    "<ScRiPt>alert(1)</sCrIpT>",
    "<img src=x onerror=alert(1)>",
    "<img src=x onerror=\"alert(1)\"/>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><a xlink:href=\"javascript:alert(1)\"><text y=\"20\">svg</text></a></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "[link](javascript:alert(1))",
    "[link](JaVaScRiPt:alert(1))",
    "[link](&#106;avascript:alert(1))",
    "[link](java\nscript:alert(1))",
    "[link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[link](vbscript:msgbox(1))",
    "![img](x\" onerror=\"alert(1))",
    "[ref][r]\n\n[r]: javascript:alert(1)",
    "<a href=\"javascript:alert(1)\">a</a>",
    "<a href=\"&#x6A;avascript&#x3A;alert(1)\">b</a>",
    "<a href=\" javascript:alert(1)\">c</a>",
    "<a href=\"jav&#x09;ascript:alert(1)\">d</a>",
    "\"><script>alert(1)</script>",
    "'><img src=x onerror=alert(1)>",
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<object data=\"javascript:alert(1)\"></object>",
    "<embed src=\"javascript:alert(1)\">",
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>x</details>",
    "<input autofocus onfocus=alert(1)>",
    "<form action=\"javascript:alert(1)\"><button>go</button></form>",
    "<div style=\"background:url(javascript:alert(1))\">style</div>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<base href=\"javascript:alert(1)//\">",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<!--<img src=x onerror=alert(1)>-->",
    "`<script>alert(1)</script>`",
    "javascript:alert(1)",
    "{{ 7*7 }} {% raw %}",
]
ONE_LINE = [p.replace("\n", " ") for p in CORPUS]
URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data", "poster",
             "background", "srcset", "ping"}
BAD_SCHEME = re.compile(r"^(javascript|vbscript|data|livescript):")
OWN_SVG = {"svg", "rect", "text", "circle"}  # avatars and tag dots drawn by the templates
FORBIDDEN = {"iframe", "object", "embed", "base", "meta", "math", "style", "frame",
             "frameset", "applet", "link"}


class Audit(HTMLParser):
    """Everything executable or script-bearing in a page, as a list of findings."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.findings: list[str] = []
        self.in_head = True
        self.svg_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "body":
            self.in_head = False
        if tag == "script":
            src = names.get("src") or ""
            if not src.startswith("/static/"):
                self.findings.append(f"script {attrs}")
        if tag in FORBIDDEN and not (self.in_head and tag in ("meta", "link")):
            self.findings.append(f"<{tag}> {attrs}")
        if tag == "svg":
            self.svg_depth += 1
        if self.svg_depth and tag not in OWN_SVG:
            self.findings.append(f"<{tag}> inside svg")
        if tag == "form":
            action = names.get("action") or ""
            if not action.startswith("/"):
                self.findings.append(f"form action {action!r}")
        for name, value in attrs:
            if name.startswith("on"):
                self.findings.append(f"<{tag} {name}={value!r}>")
            if name == "style":
                self.findings.append(f"<{tag} style={value!r}>")
            if name in URL_ATTRS and value is not None:
                squeezed = re.sub(r"[\x00-\x20]", "", value).lower()
                if BAD_SCHEME.match(squeezed):
                    self.findings.append(f"<{tag} {name}={value!r}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "svg":
            self.svg_depth -= 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg" and self.svg_depth:
            self.svg_depth -= 1


def audit(html: str) -> list[str]:
    parser = Audit()
    parser.feed(html)
    parser.close()
    return parser.findings


def new_project(session, settings, owner):
    project = core_projects.create_project(session, settings, owner, unique("x"), "desc")
    project.repo_state = "ready"
    project.close_status = ["Fixed"]
    project.quick_replies = CORPUS[:5]
    session.commit()
    return project


def hostile_issue(session, settings, owner, project, helper) -> Issue:
    """One issue with the corpus everywhere the page shows user text; rows the
    core would refuse (tag names, colours, key names) are written directly, as
    an old import might have left them."""
    core_users.set_fullname(owner, ONE_LINE[2])
    core_users.set_fullname(helper, ONE_LINE[0])
    for i, name in enumerate(["<b>bold</b>", "a\" onmouseover=\"alert(1)", "<script>x</script>"]):
        session.add(TagColored(project_id=project.id, name=name,
                               description=CORPUS[i], color=[
                                   # 32 characters: the column's size
                                   "red;background:url(javascript:1)",
                                   "\"><script>alert(1)</script>", "#0f0"][i]))
    for i, (name, kind) in enumerate([("<img src=x onerror=alert(1)>", "text"),
                                      ("links", "link"), ("plain", "text")]):
        session.add(IssueCustomKey(project_id=project.id, name=name, key_type=kind,
                                   position=i))
    session.commit()
    issue = issues.create_issue(session, owner, project, title=ONE_LINE[6][:255],
                                content="\n\n".join(CORPUS), base_url=BASE)
    session.flush()
    issue.tags = list(session.scalars(select(TagColored).where(
        TagColored.project_id == project.id)))
    keys = {k.name: k for k in issues.custom_keys(session, project)}
    session.add(IssueCustomValue(issue_id=issue.id, key_id=keys["links"].id,
                                 value="javascript:alert(1), https://ok.example/<x>"))
    session.add(IssueCustomValue(issue_id=issue.id, key_id=keys["plain"].id,
                                 value=CORPUS[0]))
    session.add(IssueCustomValue(issue_id=issue.id, key_id=keys[
        "<img src=x onerror=alert(1)>"].id, value=CORPUS[1]))
    for text in CORPUS:
        comment = issues.add_comment(session, helper, issue, text, base_url=BASE)
        issues.react(session, owner, comment, ONE_LINE[CORPUS.index(text) % 5][:50])
    core_attachments.store(session, helper, project, filename=ONE_LINE[2] + ".png",
                           stream=io.BytesIO(b"\x89PNG not really"),
                           data_dir=settings.data_dir, max_size=1024, issue=issue)
    session.commit()
    return issue


# -- stored verbatim, rendered inert --------------------------------------------------

def test_the_corpus_sent_through_the_forms_is_stored_verbatim(client, session, settings,
                                                              make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    session.add(IssueCustomKey(project_id=project.id, name="note", key_type="text",
                               position=0))
    session.commit()
    login_as(client, owner)
    token = csrf_of(client)
    for payload in ONE_LINE[:12]:
        resp = client.post(f"/{project.url_path}/new_issue", data={
            "csrf_token": token, "title": payload, "issue_content": payload})
        assert resp.status_code == 302, payload
    stored = session.scalars(select(Issue).where(Issue.project_id == project.id)
                             .order_by(Issue.number)).all()
    assert [(i.title, i.content) for i in stored] == [(p.strip(), p) for p in ONE_LINE[:12]]
    issue = stored[0]
    url = f"/{project.url_path}/issue/{issue.number}"
    for payload in CORPUS:
        assert client.post(url + "/update", data={"csrf_token": token, "comment": payload,
                                                  "note": payload.replace("\n", " ")}
                           ).status_code == 302, payload
    session.expire_all()
    comments = session.scalars(select(IssueComment).where(
        IssueComment.issue_id == issue.id, IssueComment.notification.is_(False))
        .order_by(IssueComment.id)).all()
    assert [c.comment for c in comments] == CORPUS
    value = session.scalar(select(IssueCustomValue.value).where(
        IssueCustomValue.issue_id == issue.id))
    assert value == CORPUS[-1]
    # hostile tag names are refused, clearly, and change nothing
    resp = client.post(url + "/update", data={"csrf_token": token,
                                              "tag": "<script>alert(1)</script>"})
    assert resp.status_code == 400 and "Invalid tag" in resp.get_data(as_text=True)
    assert audit(resp.get_data(as_text=True)) == []
    assert session.get(Issue, issue.id).tags == []


def test_the_issue_page_full_of_payloads_has_nothing_executable(client, session, settings,
                                                                make_user):
    owner, helper = make_user(), make_user()
    project = new_project(session, settings, owner)
    issue = hostile_issue(session, settings, owner, project, helper)
    url = f"/{project.url_path}/issue/{issue.number}"
    for who in (None, owner):
        if who is not None:
            login_as(client, who)
        resp = client.get(url)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200
        assert audit(html) == []
        # the visible text is still there, escaped
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html  # a custom field's name
        assert "red;background" not in html and 'fill="#0f0"' in html  # only valid colours
        assert "{{ 7*7 }}" in html  # shown, never evaluated
    # the edit pages put the text in a textarea, escaped
    comment = issue.comments[CORPUS.index("</textarea><script>alert(1)</script>")]
    for page in (f"{url}/edit", f"{url}/comment/{comment.id}/edit"):
        html = client.get(page).get_data(as_text=True)
        assert "&lt;/textarea&gt;&lt;script&gt;" in html
        assert audit(html) == []


def test_previews_and_prefilled_forms_have_nothing_executable(client, session, settings,
                                                              make_user):
    owner = make_user()
    project = new_project(session, settings, owner)
    login_as(client, owner)
    token = csrf_of(client)
    for payload in CORPUS:
        resp = client.post("/pv/markdown/preview", data={"csrf_token": token,
                                                         "content": payload,
                                                         "project": project.url_path})
        assert resp.status_code == 200
        assert audit(resp.get_data(as_text=True)) == [], payload
        html = client.get(f"/{project.url_path}/new_issue", query_string={
            "title": payload, "content": payload}).get_data(as_text=True)
        assert audit(html) == [], payload
        html = client.post(f"/{project.url_path}/new_issue", data={
            "csrf_token": token, "title": "t", "issue_content": payload,
            "preview": "1"}).get_data(as_text=True)
        assert audit(html) == [], payload


def test_the_audit_catches_what_it_looks_for():
    """The checker itself: each of these must be reported."""
    for bad in ('<p onclick="x">', "<script>alert(1)</script>", '<a href=" JaVa\tscript:x">',
                '<img src="data:text/html,x">', "<iframe></iframe>", '<div style="x">',
                '<form action="javascript:x">', "<svg><script></script></svg>",
                "<body><meta http-equiv=refresh content=0>"):
        assert audit(bad), bad
    with pytest.raises(InvalidInput):
        issues.check_title("a\nb")


# -- a real browser on a live server ---------------------------------------------------

@pytest.fixture(scope="module")
def live(settings: config.Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``pagurus web`` (gunicorn) on the test settings: same database and data dir."""
    with live_web(settings, tmp_path_factory.mktemp("issue-xss-web") / "web.log") as base:
        yield base


CHROMIUM = Path("/usr/bin/chromium")

WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' +
                           (e.sample || ''));
  document.documentElement.dataset.violations = String(window.__violations.length);
});
"""


POKE = """() => {
  for (const el of document.querySelectorAll('main *')) {
    for (const type of ['mouseover', 'mouseenter', 'focus', 'click', 'toggle']) {
      if (type === 'click' && el.closest('a, button, form, summary, input, label')) continue;
      el.dispatchEvent(new Event(type));
    }
  }
  return true;
}"""


INJECT = """() => {
  const s = document.createElement('script');
  s.textContent = 'window.alert(2)';
  document.body.appendChild(s);
  document.body.dataset.probe = 'done';
}"""


@pytest.mark.slow
def test_no_payload_runs_in_chromium(live: str, session: Any, settings: config.Settings,
                                     make_user: Any, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    owner, helper = make_user(), make_user()
    project = new_project(session, settings, owner)
    issue = hostile_issue(session, settings, owner, project, helper)
    url = f"{live}/{project.url_path}/issue/{issue.number}"
    upload = tmp_path / "\"><img src=x onerror=alert(1)>.png"
    upload.write_bytes(b"\x89PNG not really")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM),
                                     args=["--no-sandbox", "--disable-gpu"])
        try:
            # CSP on (as served), then off: the sanitizer alone must be enough
            for bypass_csp in (False, True):
                context = browser.new_context(bypass_csp=bypass_csp)
                context.add_init_script(WATCH_VIOLATIONS)
                page = context.new_page()
                dialogs: list[str] = []
                console: list[str] = []
                errors: list[str] = []

                def on_dialog(dialog: Any, dialogs: list[str] = dialogs) -> None:
                    dialogs.append(dialog.message)
                    dialog.dismiss()

                page.on("dialog", on_dialog)
                page.on("console", lambda m, console=console: console.append(m.text))
                page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                page.goto(f"{live}/login/")
                page.fill("#f-username", owner.name)
                page.fill("#f-password", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_load_state("networkidle")
                page.goto(url, wait_until="networkidle")
                assert page.locator("#issue-title").inner_text().endswith(ONE_LINE[6][:255])
                # the corpus shows as text
                assert page.get_by_text("<script>alert(1)</script>", exact=True).count() >= 1
                # the JavaScript paths: a preview of the whole corpus, a hostile file name
                page.fill("#f-comment", "\n\n".join(CORPUS))
                page.click(".issue-comment-form .md-preview-btn")
                page.wait_for_selector(".issue-comment-form .md-preview:not([hidden])")
                page.locator("#f-filestream").set_input_files(str(upload))
                sync_api.expect(page.locator("#f-comment")).to_have_value(
                    re.compile(r"/issue/raw/files/[0-9a-f]{64}-"))
                page.click(".issue-comment-form .md-preview-btn")  # hide
                page.click(".issue-comment-form .md-preview-btn")  # and render again
                page.wait_for_selector(".issue-comment-form .md-preview img")
                page.wait_for_load_state("networkidle")
                # every focusable and hoverable thing on the page gets poked
                page.evaluate(POKE)
                violations = page.evaluate("window.__violations")
                assert dialogs == [], (bypass_csp, dialogs)
                assert errors == [], (bypass_csp, errors)
                assert violations == [], (bypass_csp, violations)
                assert not [m for m in console if "Content Security Policy" in m], console
                # the watchers themselves work: an alert is seen, so is a blocked script
                page.evaluate("() => { window.alert('probe'); }")
                assert dialogs == ["probe"]
                if not bypass_csp:
                    page.evaluate(INJECT)
                    sync_api.expect(page.locator("html")).to_have_attribute(
                        "data-violations", "1")
                context.close()
        finally:
            browser.close()
