"""Caches for values computed from immutable git objects.

A highlighted blob, a rendered README, a diff or a blame is a pure function of
object ids, so it can be kept forever under those ids: an in-process LRU
bounded by size, and Redis as a shared second tier when configured. Values are
``str`` or ``bytes`` only (no pickling of arbitrary objects).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger(__name__)

V = TypeVar("V", str, bytes)
REDIS_TTL = 7 * 24 * 3600
REDIS_MAX_VALUE = 8 * 1024 * 1024


class ObjectCache:
    """``get_or_compute(kind, key, compute)``: ``kind`` names what is cached
    (``blob-html``, ``readme``…), ``key`` must identify the inputs completely
    (object ids plus any option that changes the output)."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024, redis_url: str = "") -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, str | bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self._redis = None
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url, socket_timeout=0.5,
                                               socket_connect_timeout=0.5)

    @staticmethod
    def _key(kind: str, key: str) -> str:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:40]
        return f"pagurus:cache:{kind}:{digest}"

    def get(self, kind: str, key: str) -> str | bytes | None:
        k = self._key(kind, key)
        with self._lock:
            value = self._items.get(k)
            if value is not None:
                self._items.move_to_end(k)
                return value
        if self._redis is not None:
            try:
                raw = self._redis.get(k)
            except Exception:  # a cache outage must never break a page
                log.warning("redis cache unavailable", exc_info=True)
                raw = None
            if raw is not None:
                value = raw[1:].decode("utf-8") if raw[:1] == b"s" else raw[1:]
                self._remember(k, value)
                return value
        return None

    def put(self, kind: str, key: str, value: str | bytes) -> None:
        k = self._key(kind, key)
        self._remember(k, value)
        if self._redis is not None and len(value) <= REDIS_MAX_VALUE:
            raw = b"s" + value.encode("utf-8") if isinstance(value, str) else b"b" + value
            try:
                self._redis.set(k, raw, ex=REDIS_TTL)
            except Exception:
                log.warning("redis cache unavailable", exc_info=True)

    def get_or_compute(self, kind: str, key: str, compute: Callable[[], V]) -> V:
        found = self.get(kind, key)
        if found is not None:
            return found  # type: ignore[return-value]
        value = compute()
        self.put(kind, key, value)
        return value

    def _remember(self, k: str, value: str | bytes) -> None:
        size = len(value)
        if size > self.max_bytes // 4:
            return  # one huge value would evict everything else
        with self._lock:
            old = self._items.pop(k, None)
            if old is not None:
                self._size -= len(old)
            self._items[k] = value
            self._size += size
            while self._size > self.max_bytes and self._items:
                _, evicted = self._items.popitem(last=False)
                self._size -= len(evicted)


_instances: dict[str, ObjectCache] = {}
_instances_lock = threading.Lock()


def object_cache(redis_url: str = "") -> ObjectCache:
    """The process-wide cache (one per Redis URL)."""
    with _instances_lock:
        cache = _instances.get(redis_url)
        if cache is None:
            cache = _instances[redis_url] = ObjectCache(redis_url=redis_url)
        return cache
