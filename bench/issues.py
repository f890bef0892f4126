"""Issue tracker pages over HTTP on a big tracker.

A fresh data dir gets one public project with ``--issues`` issues (default
10,000; about 5 % private, 30 % closed, tags, priorities, milestones,
assignees, a custom field) and ``--comments`` comments (default 50,000),
written with bulk inserts; texts are generated from a fixed vocabulary with
realistic sizes (titles of 4–12 words, descriptions of 20–400 words, comments
of 5–150 words), so the full-text index holds about 10 MB of text. One issue
has 20 comments and one has 500 (the issue pages measured).

``pagurus web`` (gunicorn, one worker) then serves it, and each page is
fetched ``--requests`` times after two warm-ups; the table shows medians (warm),
the server's CPU time per request (steadier than wall time when the machine is
busy) and the goals of issue 5: API list (100 a page) < 30 ms, UI list < 60 ms,
search < 100 ms, issue page < 150 ms.

    python bench/issues.py                          # SQLite
    python bench/issues.py --database-url postgresql+psycopg://postgres@127.0.0.1/postgres
    python bench/issues.py --issues 2000 --comments 10000 --requests 10

With ``--database-url`` a new database is created on that server for the run
and dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import clone  # noqa: E402

PROJECT = "bench"
OWNER = "bencher"
RARE, COMMON = "zanzibar", "the"  # search words: in ~1 % of texts, and in nearly all
SEARCH_PREFIX = "memory lea"      # two words, the last one a prefix
GOALS = {"api": 30.0, "ui": 60.0, "search": 100.0, "issue": 150.0}

COMMON_WORDS = (
    "the a an and or but if when then of to in on at for with from by as is are was "
    "were be been it this that these those not no can cannot should would could will "
    "error crash bug fix fails failure works working broken issue problem report page "
    "file files user users server client request response build test tests release "
    "version update upgrade install config configuration option setting default value "
    "memory leak slow fast performance timeout network disk cache database query index "
    "login logout password token session account project branch commit merge push pull "
    "window button menu dialog screen click open close save load start stop run running "
    "expected actual steps reproduce log logs trace stack exception warning message "
    "linux windows macos python rust javascript browser firefox chromium debian fedora"
).split()


def vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    """Made-up words (syllables), so the index is as varied as real text."""
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "po", "qua", "dri",
                 "fen", "gol", "hex", "jun", "bri", "cor", "dal", "eth", "fyr", "gri"]
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


class Text:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.words = vocabulary(rng)

    def words_(self, low: int, high: int) -> str:
        rng = self.rng
        out = []
        for _ in range(rng.randint(low, high)):
            out.append(rng.choice(COMMON_WORDS) if rng.random() < 0.6 else rng.choice(self.words))
        if rng.random() < 0.01:
            out.insert(rng.randrange(len(out) + 1), RARE)
        return " ".join(out)

    def paragraph(self, low: int, high: int) -> str:
        text = self.words_(low, high)
        # sentences and the odd markdown, as people write
        parts = text.split(" ")
        for i in range(12, len(parts), 14):
            parts[i] = parts[i] + "."
        if self.rng.random() < 0.2:
            parts.append("\n\n```\nTraceback (most recent call last):\n  File \"x.py\"\n```")
        return " ".join(parts)


def populate(url: str, data: Path, issues: int, comments: int, seed: int
             ) -> dict[str, object]:
    """Write the tracker with bulk inserts; returns what the measures need."""
    from sqlalchemy import insert, select, update

    from pagurus import config, db
    from pagurus.core import projects as core_projects
    from pagurus.core import tokens as core_tokens
    from pagurus.core import users as core_users
    from pagurus.db import make_engine, make_sessionmaker
    from pagurus.model import (
        Issue,
        IssueComment,
        IssueCustomKey,
        IssueCustomValue,
        IssueTag,
        Project,
        TagColored,
        User,
    )

    rng = random.Random(seed)
    text = Text(rng)
    settings = config.ensure_data_dir(config.load(env={}, data_dir=str(data), database_url=url))
    db.upgrade(settings.sqlalchemy_url)
    engine = make_engine(settings.sqlalchemy_url)
    session = make_sessionmaker(engine)()
    started = time.perf_counter()
    try:
        owner = core_users.create_user(session, OWNER, "bench@example.com", password=None)
        token, _row = core_tokens.create_token(session, owner, ["issue_create"])
        people = [owner] + [
            User(name=f"user{i:03d}", fullname=f"User {i}", default_email=f"u{i}@example.com")
            for i in range(60)]
        session.add_all(people[1:])
        project = core_projects.create_project(session, settings, owner, PROJECT, "benchmark")
        core_projects.mark_ready(project)
        project.priorities = {"1": "Critical", "2": "High", "3": "Normal", "4": "Low"}
        stones = [f"v{i}.0" for i in range(1, 9)]
        project.milestones = {m: {"date": f"20{25 + i // 4}-0{1 + i % 4}-01",
                                  "active": i >= 3} for i, m in enumerate(stones)}
        project.milestones_keys = stones
        project.close_status = ["Fixed", "Invalid", "Duplicate", "Won't fix"]
        session.flush()
        colors = ["#d73a4a", "#0075ca", "#cfd3d7", "#a2eeef", "#7057ff", "#008672",
                  "#e4e669", "#d876e3", "DeepSkyBlue", "orange"]
        tags = [TagColored(project_id=project.id, name=name, color=colors[i % len(colors)],
                           description=f"About {name}")
                for i, name in enumerate(["bug", "feature", "docs", "ui", "api", "security",
                                          "performance", "easyfix", "question", "packaging",
                                          "tests", "regression", "upstream", "blocker",
                                          "triaged", "help wanted", "i18n", "ci"])]
        session.add_all(tags)
        session.add(IssueCustomKey(project_id=project.id, name="os", key_type="text"))
        session.flush()
        os_key = session.scalar(select(IssueCustomKey.id).where(
            IssueCustomKey.project_id == project.id))
        user_ids = [u.id for u in people]
        start = datetime.now(UTC) - timedelta(days=3 * 365)
        rows = []
        for n in range(1, issues + 1):
            created = start + timedelta(minutes=n * (3 * 365 * 24 * 60 // issues))
            closed = rng.random() < 0.3
            rows.append({
                "uid": uuid.uuid4().hex, "project_id": project.id, "number": n,
                "title": text.words_(4, 12).capitalize()[:255],
                "content": text.paragraph(20, 400), "status": "Closed" if closed else "Open",
                "close_status": rng.choice(project.close_status) if closed else None,
                "private": rng.random() < 0.05, "user_id": rng.choice(user_ids),
                "assignee_id": rng.choice(user_ids) if rng.random() < 0.4 else None,
                "priority": rng.choice([None, 1, 2, 3, 3, 4]),
                "milestone": rng.choice([None, None, *stones]),
                "closed_at": created + timedelta(days=rng.randint(1, 60)) if closed else None,
                "closed_by_id": owner.id if closed else None,
                "date_created": created,
                "last_updated": min(created + timedelta(days=rng.randint(0, 90)),
                                    datetime.now(UTC)),
            })
        for chunk in range(0, len(rows), 2000):
            session.execute(insert(Issue), rows[chunk:chunk + 2000])
        session.execute(update(Project).where(Project.id == project.id)
                        .values(last_number=issues))
        ids = dict(session.execute(select(Issue.number, Issue.id).where(
            Issue.project_id == project.id)).all())
        tag_rows = []
        for issue_id in ids.values():
            for tag in rng.sample(tags, rng.choice([0, 1, 1, 2, 2, 3])):
                tag_rows.append({"issue_id": issue_id, "tag_id": tag.id})
        session.execute(insert(IssueTag), tag_rows)
        session.execute(insert(IssueCustomValue), [
            {"issue_id": i, "key_id": os_key, "value": rng.choice(["Linux", "Windows", "macOS"])}
            for i in list(ids.values())[::7]])
        # the measured issue pages: a public one with 20 comments, one with 500
        page20, page500 = issues // 2, issues // 3
        for number in (page20, page500):
            session.execute(update(Issue).where(Issue.id == ids[number]).values(private=False))
        fixed = {page20: 20, page500: 500}
        left = max(0, comments - sum(fixed.values()))
        numbers = list(ids)
        counts: dict[int, int] = dict(fixed)
        for _ in range(left):
            number = rng.choice(numbers)
            if number not in fixed:
                counts[number] = counts.get(number, 0) + 1
        comment_rows = []
        for number, how_many in counts.items():
            when = start + timedelta(minutes=number * (3 * 365 * 24 * 60 // issues))
            for k in range(how_many):
                comment_rows.append({
                    "issue_id": ids[number], "user_id": rng.choice(user_ids),
                    "comment": text.paragraph(5, 150), "notification": False,
                    "date_created": when + timedelta(hours=k), "reactions": {}})
        for chunk in range(0, len(comment_rows), 5000):
            session.execute(insert(IssueComment), comment_rows[chunk:chunk + 5000])
        session.commit()
        # fresh statistics (and on PostgreSQL the visibility map that index-only
        # scans need), as autovacuum gives a live database
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE" if engine.dialect.name == "postgresql"
                                 else "ANALYZE")
        return {"token": token, "page20": page20, "page500": page500,
                "comments": len(comment_rows), "seconds": time.perf_counter() - started}
    finally:
        session.close()
        engine.dispose()


def fetch(url: str, headers: dict[str, str] | None = None) -> int:
    req = urllib.request.Request(url, headers=headers or {})  # noqa: S310
    with urllib.request.urlopen(req, timeout=300) as resp:  # noqa: S310
        body = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{url}: HTTP {resp.status}")
        return len(body)


def cpu_ms(root: int) -> float:
    """CPU time (user + system) used so far by ``root`` and its children."""
    total = 0
    for pid in clone.tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total * 1000 / os.sysconf("SC_CLK_TCK")


def measure(func: Callable[[], object], runs: int, server: int) -> tuple[float, float]:
    """(median wall ms, mean server CPU ms) of ``runs`` calls after two warm-ups.
    The CPU time of the server barely moves with other load on the machine,
    where wall times do."""
    for _ in range(2):
        func()
    times = []
    cpu_before = cpu_ms(server)
    for _ in range(runs):
        started = time.perf_counter()
        func()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), (cpu_ms(server) - cpu_before) / runs


def create_database(server: str) -> tuple[str, Callable[[], None]]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(server)
    name = f"pagurus_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :n"), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issues", type=int, default=10_000)
    parser.add_argument("--comments", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=20, help="warm requests per page")
    parser.add_argument("--database-url", default="",
                        help="a PostgreSQL server URL (a database is created on it)")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)

    drop: Callable[[], None] | None = None
    url = ""
    if args.database_url:
        url, drop = create_database(args.database_url)
    rows: list[tuple[str, str, float, float, int, str]] = []
    loads = [os.getloadavg()]
    try:
        with tempfile.TemporaryDirectory(prefix="pagurus-bench-issues-") as tmpname:
            tmp = Path(tmpname)
            data = tmp / "data"
            print(f"writing {args.issues} issues and {args.comments} comments…",
                  file=sys.stderr)
            info = populate(url, data, args.issues, args.comments, args.seed)
            print(f"written in {info['seconds']:.1f} s", file=sys.stderr)
            port = clone.free_port()
            env = clone.clean_env()
            if url:
                env["PAGURUS_DATABASE_URL"] = url
            log = open(tmp / "web.log", "wb")  # noqa: SIM115
            proc = subprocess.Popen(
                [sys.executable, "-m", "pagurus.cli", "web", "--data", str(data), "--host",
                 "127.0.0.1", "--port", str(port), "--workers", "1"],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            base = f"http://127.0.0.1:{port}"
            try:
                clone.wait_for("pagurus web", lambda: clone.http_ok(f"{base}/api/0/version"))
                token = {"Authorization": f"token {info['token']}"}
                p = f"/{PROJECT}"
                pages: list[tuple[str, str, str, dict[str, str] | None]] = [
                    ("API list, 100 a page", "api", f"/api/0{p}/issues?per_page=100", None),
                    ("API list, owner's token", "api", f"/api/0{p}/issues?per_page=100",
                     token),
                    ("API list, filtered+sorted", "api",
                     f"/api/0{p}/issues?per_page=100&status=all&tags=bug&tags=!docs"
                     "&order_key=priority", None),
                    ("API list, page 50", "api",
                     f"/api/0{p}/issues?per_page=100&status=all&page=50", None),
                    ("UI list", "ui", f"{p}/issues", None),
                    ("UI list, closed, by priority", "ui",
                     f"{p}/issues?status=Closed&order_key=priority&tags=bug", None),
                    (f"search '{RARE}' (UI)", "search",
                     f"{p}/issues?status=all&search_pattern={RARE}", None),
                    (f"search '{RARE}' (API)", "search",
                     f"/api/0{p}/issues?status=all&per_page=100&search_pattern={RARE}", None),
                    (f"search '{SEARCH_PREFIX}' (UI)", "search",
                     f"{p}/issues?status=all&search_pattern="
                     + urllib.parse.quote(SEARCH_PREFIX), None),
                    (f"search '{COMMON}' (UI)", "search",
                     f"{p}/issues?status=all&search_pattern={COMMON}", None),
                    ("roadmap", "ui", f"{p}/roadmap", None),
                    ("issue page, 20 comments", "issue", f"{p}/issue/{info['page20']}", None),
                    ("issue page, 500 comments", "issue", f"{p}/issue/{info['page500']}",
                     None),
                ]
                for label, kind, path, headers in pages:
                    try:
                        size = fetch(base + path, headers)
                    except urllib.error.HTTPError as exc:
                        if kind == "issue" and exc.code == 404:
                            print(f"  {label}: {path} answers 404 (the issue page is not "
                                  "there yet): skipped", file=sys.stderr)
                            continue
                        raise
                    print(f"  {label}…", file=sys.stderr)
                    ms, cpu = measure(lambda u=base + path, h=headers: fetch(u, h),
                                      args.requests, proc.pid)
                    rows.append((label, kind, ms, cpu, size, path))
                loads.append(os.getloadavg())
            finally:
                clone.stop(proc, 30)
                log.close()
    finally:
        if drop is not None:
            drop()

    engine = "PostgreSQL" if url else "SQLite"
    print()
    print(f"{args.issues} issues, {info['comments']} comments, {engine}; warm = median "
          f"of {args.requests} HTTP requests after 2 warm-ups; gunicorn, 1 worker; "
          f"{os.cpu_count()} CPUs")
    print("load average (1, 5, 15 min) before / after: "
          + " / ".join(" ".join(f"{x:.2f}" for x in load) for load in loads))
    print(f"{'page':34} {'warm ms':>8} {'CPU ms':>7} {'KiB':>7} {'goal':>6}  met")
    failures = 0
    for label, kind, ms, cpu, size, _path in rows:
        goal = GOALS[kind]
        met = ms <= goal
        failures += not met
        print(f"{label:34} {ms:8.1f} {cpu:7.1f} {size / 1024:7.1f} {goal:6.0f}  "
              f"{'yes' if met else 'NO'}")
    print("warm ms: median wall time of a request (the goal applies to it); CPU ms: the "
          "server's CPU time per request (steadier on a busy machine)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
