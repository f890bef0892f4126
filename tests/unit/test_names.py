import pytest

from pagurus.core.errors import InvalidInput
from pagurus.core.names import (
    check_not_reserved,
    split_project_path,
    validate_namespace,
    validate_project_name,
    validate_username,
)

BAD_NAMES = ["../x", "..", "-x", ".hidden", "a/b", "x" * 300, "a\nb", "a\tb", "a\x00b",
             "", "foo.git", "a b", "<img>", "%2e%2e%2f", "名前"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_project_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput):
        validate_project_name(name)


@pytest.mark.parametrize("name", ["pagurus", "my-proj", "a.b+c", "_x", "P1"])
def test_good_project_names_pass(name: str) -> None:
    assert validate_project_name(name) == name


def test_a_path_with_two_slashes_is_refused() -> None:
    with pytest.raises(InvalidInput):
        split_project_path("a/b/c")
    assert split_project_path("ns/name") == ("ns", "name")


def test_namespace_rules() -> None:
    assert validate_namespace("") is None
    for bad in ("a/b", "-x", "..", "x" * 101):
        with pytest.raises(InvalidInput):
            validate_namespace(bad)


def test_reserved_top_level_words_are_refused() -> None:
    for ns, name in ((None, "api"), (None, "forks"), ("docs", "x"), (None, "settings")):
        with pytest.raises(InvalidInput):
            check_not_reserved(ns, name)
    check_not_reserved("ns", "api")


def test_usernames() -> None:
    assert validate_username("alice") == "alice"
    for bad in ("-a", "a/b", "admin", "a" * 65, "a..b", "a b"):
        with pytest.raises(InvalidInput):
            validate_username(bad)
