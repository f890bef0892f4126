"""Version, error codes, whoami, task status, JSON errors, the OpenAPI document."""

from __future__ import annotations

from datetime import timedelta

from apihelp import API, error_of
from conftest import auth, csrf_of, login_as

from pagurus import API_VERSION
from pagurus.core import tokens as core_tokens
from pagurus.model import utcnow
from pagurus.web.api.openapi import openapi_path


def test_client_reads_the_api_version_under_every_path(client):
    for path in ("/-/version", "/version", "/version/"):
        resp = client.get(API + path)
        assert resp.status_code == 200
        assert resp.get_json() == {"version": API_VERSION} == {"version": "0.31"}


def test_client_lists_error_codes_with_the_settings_url_in_the_token_message(client):
    for path in ("/-/error_codes", "/error_codes", "/error_codes/"):
        codes = client.get(API + path).get_json()
        assert {"ENOPROJECT", "EINVALIDTOK", "EINVALIDPERPAGEVALUE", "EUBLOCKED"} <= set(codes)
        assert "http://pagurus.test/settings#nav-api-tab" in codes["EINVALIDTOK"]


def test_whoami_names_the_owner_of_a_good_token(client, make_user, make_token):
    user = make_user()
    raw = make_token(user, ["create_project"])
    resp = client.post(API + "/-/whoami", headers=auth(raw))
    assert resp.status_code == 200
    assert resp.get_json() == {"username": user.name}
    # what follows the word "token" counts, spaces stripped
    resp = client.post(API + "/-/whoami", headers={"Authorization": f"token    {raw}  "})
    assert resp.get_json() == {"username": user.name}


def test_whoami_refuses_unknown_expired_and_missing_tokens(client, session, make_user,
                                                          make_token):
    user = make_user()
    raw = make_token(user, ["create_project"])
    row = core_tokens.find_token(session, raw)
    row.expiration = utcnow() - timedelta(minutes=1)
    session.commit()
    resp = client.post(API + "/-/whoami", headers=auth(raw))
    assert error_of(resp) == (401, "EINVALIDTOK")
    assert resp.get_json()["errors"] == "Expired token"
    assert "settings#nav-api-tab" in resp.get_json()["error"]
    resp = client.post(API + "/-/whoami", headers=auth("X" * 64))
    assert error_of(resp) == (401, "EINVALIDTOK")
    assert resp.get_json()["errors"] == "Invalid token"
    assert error_of(client.post(API + "/-/whoami")) == (401, "EINVALIDTOK")


def test_browser_session_needs_the_csrf_header_for_api_posts(client, make_user):
    user = make_user()
    login_as(client, user)
    resp = client.post(API + "/-/whoami")
    assert error_of(resp) == (401, "EINVALIDTOK")
    assert "X-CSRFToken" in resp.get_json()["errors"]
    resp = client.post(API + "/-/whoami", headers={"X-CSRFToken": "wrong"})
    assert error_of(resp) == (401, "EINVALIDTOK")
    resp = client.post(API + "/-/whoami", headers={"X-CSRFToken": csrf_of(client)})
    assert resp.get_json() == {"username": user.name}


def test_task_status_of_an_unknown_or_malformed_id(client):
    resp = client.get(API + "/task/0123456789abcdef/status/")
    assert resp.status_code == 200
    assert resp.get_json() == {"ready": False, "status": "PENDING"}
    assert error_of(client.get(API + "/task/..%2F..%2Fx/status")) in (
        (400, "EINVALIDREQ"), (404, "ENOCODE"))


def test_unknown_urls_and_wrong_methods_answer_json(client):
    assert error_of(client.get(API + "/a/b/c/d/e/f/g"))[0] == 404
    resp = client.delete(API + "/projects")
    assert error_of(resp)[0] == 405
    assert "GET" in resp.headers["Allow"]
    assert error_of(client.get(API + "/no-such-project")) == (404, "ENOPROJECT")


def test_openapi_document_describes_every_api_route(app, client):
    doc = client.get(API + "/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["tokenAuth"]["name"] == "Authorization"
    missing = []
    for rule in app.url_map.iter_rules():
        if not (rule.rule.startswith(API + "/") or rule.rule == API):
            continue
        path = openapi_path(rule.rule[len(API):] or "/")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            op = doc["paths"].get(path, {}).get(method.lower())
            if op is None:
                missing.append(f"{method} {rule.rule}")
                continue
            assert op["responses"]["200"], path
            assert op["summary"], path
    assert missing == []
    # the four {P} forms are all there
    for form in ("/{repo}", "/{namespace}/{repo}", "/fork/{username}/{repo}",
                 "/fork/{username}/{namespace}/{repo}"):
        assert "post" in doc["paths"][form + "/git/modifyacls"]
    new = doc["paths"]["/new"]["post"]
    assert new["security"] == [{"tokenAuth": []}, {"sessionAuth": []}]
    assert "create_project" in new["description"]
    assert "\"false\"" in new["requestBody"]["content"]["application/json"]["schema"][
        "properties"]["wait"]["description"]
    assert new["responses"]["401"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"}
    assert "ENOUSER" in doc["paths"]["/{repo}"]["patch"]["responses"]["400"]["description"]
    assert "fork" not in str([p for p in doc["paths"] if "patch" in doc["paths"][p]])


def test_api_index_page_lists_endpoints_as_plain_escaped_html(client):
    resp = client.get(API)
    assert resp.status_code in (301, 308)
    resp = client.get(API + "/")
    assert resp.status_code == 200
    assert resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    assert "/api/0/fork/{username}/{namespace}/{repo}/git/modifyacls" in html
    assert "<script" not in html
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
