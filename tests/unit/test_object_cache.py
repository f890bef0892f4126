"""The object-id cache: computed once, bounded, shared through Redis when set."""

import os

import pytest

from pagurus.cache import ObjectCache


def test_a_value_is_computed_once_per_key():
    cache = ObjectCache()
    calls = []

    def compute():
        calls.append(1)
        return "<b>html</b>"

    assert cache.get_or_compute("blob-html", "abc", compute) == "<b>html</b>"
    assert cache.get_or_compute("blob-html", "abc", compute) == "<b>html</b>"
    assert cache.get_or_compute("readme", "abc", compute) == "<b>html</b>"
    assert len(calls) == 2  # kinds are separate namespaces


def test_the_memory_tier_stays_within_its_size():
    cache = ObjectCache(max_bytes=1000)
    for i in range(100):
        cache.put("k", str(i), "x" * 100)
    assert cache._size <= 1000
    assert cache.get("k", "99") is not None and cache.get("k", "0") is None


@pytest.mark.skipif(not os.environ.get("PAGURUS_TEST_REDIS_URL"), reason="no Redis configured")
def test_redis_shares_values_between_processes():
    url = os.environ["PAGURUS_TEST_REDIS_URL"]
    first, second = ObjectCache(redis_url=url), ObjectCache(redis_url=url)
    key = os.urandom(8).hex()
    first.put("raw", key, b"\x00\xffbytes")
    first.put("html", key, "é")
    assert second.get("raw", key) == b"\x00\xffbytes"
    assert second.get("html", key) == "é"
