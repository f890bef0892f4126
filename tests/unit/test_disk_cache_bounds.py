"""Cache folders (archives, slow blames) stay under their size bound: the
least recently used files go first, files being written are left alone, and
a trim runs at most once per period."""

from __future__ import annotations

import os
import time

from pagurus import diskcache


def _file(folder, name, size, age):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    when = time.time() - age
    os.utime(path, (when, when))
    return path


def test_a_cache_over_its_bound_loses_its_least_recently_used_files(tmp_path):
    old = _file(tmp_path, "a/1/old.tar.gz", 400, age=5000)
    mid = _file(tmp_path, "a/2/mid.tar.gz", 400, age=3000)
    new = _file(tmp_path, "b/3/new.tar.gz", 400, age=10)
    diskcache.touch(old)  # a hit: now the most recent
    freed = diskcache.trim(tmp_path, 1000)
    # 1200 bytes > 1000: down to 80 % (800) by removing the least recently used
    assert freed == 400
    assert old.exists() and new.exists() and not mid.exists()
    assert not (tmp_path / "a" / "2").exists()  # its emptied folder went too
    assert (tmp_path / "a" / "1").is_dir()


def test_a_trim_waits_for_its_period_and_zero_means_no_bound(tmp_path):
    _file(tmp_path, "x.json", 600, age=100)
    _file(tmp_path, "y.json", 600, age=50)
    assert diskcache.trim(tmp_path, 0) == 0
    assert diskcache.trim(tmp_path, 2000) == 0  # under the bound (the stamp is set)
    assert diskcache.trim(tmp_path, 1000) == 0  # over, but a trim ran a moment ago
    assert diskcache.trim(tmp_path, 1000, every=0) == 600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != diskcache.STAMP) == \
        ["y.json"]


def test_files_being_written_stay_until_their_writer_is_surely_gone(tmp_path):
    writing = _file(tmp_path, ".v.tar.gz.abc.part", 900, age=60)
    dead = _file(tmp_path, ".w.tar.gz.def.part", 900, age=2 * 3600)
    kept = _file(tmp_path, "k.json", 100, age=5)
    freed = diskcache.trim(tmp_path, 500)
    assert freed == 900 and writing.exists() and kept.exists() and not dead.exists()
