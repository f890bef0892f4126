"""The SVG contribution calendar of user pages."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

from pagurus.web.ui import heatmap

SVG = "{http://www.w3.org/2000/svg}"
TODAY = date(2025, 6, 5)  # a Thursday


def parse(h: heatmap.Heatmap) -> ET.Element:
    return ET.fromstring(str(h.svg))  # noqa: S314 - our own output


def cells(root: ET.Element) -> dict[str, ET.Element]:
    """title text -> rect, for the day cells."""
    out = {}
    for rect in root.iter(f"{SVG}rect"):
        title = rect.find(f"{SVG}title")
        if title is not None:
            out[title.text] = rect
    return out


def test_the_calendar_is_53_weeks_of_7_days_ending_today():
    root = parse(heatmap.render({}, TODAY, label="x"))
    days = cells(root)
    first = heatmap.first_day(TODAY)
    assert first.weekday() == 6  # a Sunday
    assert len(days) == (TODAY - first).days + 1
    assert 52 * 7 < len(days) <= 53 * 7
    assert f"0 contributions on {TODAY.isoformat()}" in days
    assert f"0 contributions on {(TODAY + timedelta(days=1)).isoformat()}" not in days
    xs = {r.get("x") for r in days.values()}
    ys = {r.get("y") for r in days.values()}
    assert (len(xs), len(ys)) == (53, 7)


def test_each_cell_says_its_count_and_busier_days_are_darker():
    counts = {TODAY - timedelta(days=i): n for i, n in enumerate([1, 2, 3, 4, 8, 20])}
    root = parse(heatmap.render(counts, TODAY, label="x"))
    days = cells(root)
    fills = [days[f"{n} contribution{'s' if n != 1 else ''} on "
                  f"{(TODAY - timedelta(days=i)).isoformat()}"].get("fill")
             for i, n in enumerate([1, 2, 3, 4, 8, 20])]
    order = [heatmap.COLOURS.index(f) for f in fills]
    assert order == sorted(order) and order[0] >= 1 and order[-1] == 4
    # days without activity carry no colour of their own
    assert days[f"0 contributions on {(TODAY - timedelta(days=30)).isoformat()}"].get(
        "fill") is None


def test_quartiles_ignore_empty_days():
    assert heatmap.thresholds({}) == (0, 0, 0)
    counts = {date(2025, 1, d): d for d in range(1, 9)}  # 1..8
    assert heatmap.thresholds(counts) == (3, 5, 7)
    assert [heatmap.level(c, (3, 5, 7)) for c in (0, 1, 3, 4, 6, 8, 100)] == \
        [0, 1, 1, 2, 3, 4, 4]


def test_it_is_an_accessible_image_with_a_text_summary():
    counts = {TODAY: 2, TODAY - timedelta(days=3): 5}
    h = heatmap.render(counts, TODAY, label="Contributions of alice")
    root = parse(h)
    assert root.get("role") == "img"
    ids = root.get("aria-labelledby").split()
    assert root.find(f"{SVG}title").get("id") in ids
    assert root.find(f"{SVG}desc").text == h.summary
    assert h.summary == ("7 contributions in the last year on 2 days; the busiest was "
                         f"{(TODAY - timedelta(days=3)).isoformat()} with 5.")
    assert heatmap.render({}, TODAY, label="x").summary == \
        "0 contributions in the last year."


def test_month_labels_and_weekday_names():
    root = parse(heatmap.render({}, TODAY, label="x"))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    for month in ("Jul", "Dec", "Jan", "May"):
        assert month in texts
    assert {"Mon", "Wed", "Fri", "Less", "More"} <= set(texts)


def test_only_active_days_link_to_their_list():
    counts = {TODAY - timedelta(days=1): 3}
    svg = str(heatmap.render(counts, TODAY, label="x",
                             link=lambda d: f"?date={d.isoformat()}").svg)
    hrefs = re.findall(r'<a href="([^"]+)"', svg)
    assert hrefs == [f"?date={(TODAY - timedelta(days=1)).isoformat()}"]


def test_counts_outside_the_year_are_not_shown():
    old = heatmap.first_day(TODAY) - timedelta(days=1)
    h = heatmap.render({old: 10, TODAY + timedelta(days=2): 4}, TODAY, label="x")
    assert h.total == 0 and h.busiest is None


def test_the_label_is_escaped():
    svg = str(heatmap.render({}, TODAY, label='<script>alert("x")</script>').svg)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    ET.fromstring(svg)  # noqa: S314 - our own output, must stay well-formed
