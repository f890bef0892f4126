"""A web worker loads every template before it serves, and keeps them
compiled in the data dir, so no visitor waits for template compilation
(about 1.6 s in all) after a start."""

from __future__ import annotations

from pathlib import Path

import requests
from livehelp import live_web

from pagurus import config, db


def test_a_started_web_server_has_every_template_compiled_before_the_first_page(tmp_path):
    settings = config.ensure_data_dir(config.load(env={}, data_dir=str(tmp_path / "data"),
                                                  database_url=""))
    db.upgrade(settings.sqlalchemy_url)
    cache = settings.data_dir / "cache" / "jinja"
    count = sum(1 for _ in (Path(config.__file__).parent / "web" / "ui" / "templates")
                .rglob("*.html"))
    with live_web(settings, tmp_path / "web.log") as base:
        # only /api/0/version was asked (no template): the worker compiled them all
        compiled = [p for p in cache.iterdir() if p.name.endswith(".cache")]
        assert len(compiled) >= count > 50
        stamps = {p.name: p.stat().st_mtime_ns for p in compiled}
        assert requests.get(f"{base}/", timeout=30).status_code == 200
    # a second start reads them instead of compiling them again
    with live_web(settings, tmp_path / "web2.log"):
        assert {p.name: p.stat().st_mtime_ns for p in cache.iterdir()
                if p.name.endswith(".cache")} == stamps
