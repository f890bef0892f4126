"""The contribution calendar of a user page, as server-rendered SVG.

53 columns (weeks, Sunday first) × 7 rows (days) ending today; a cell's
colour is its count's quartile among the days with activity (so one very busy
day doesn't flatten the rest), and each cell carries a ``<title>`` tooltip
"N contributions on YYYY-MM-DD". Colour is never the only signal: the titles,
a legend and a text summary say the same. No JavaScript; a day with activity
may link somewhere (the user page lists that day's entries).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from markupsafe import Markup

WEEKS = 53
CELL = 11  # px
STEP = 13  # cell + gap
LEFT = 30  # room for weekday names
TOP = 16  # room for month names
LEGEND = 22
# level 0 follows the text colour (visible in light and dark themes)
COLOURS = ("", "#9be9a8", "#40c463", "#30a14e", "#216e39")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DAY_NAMES = {1: "Mon", 3: "Wed", 5: "Fri"}


@dataclass(frozen=True)
class Heatmap:
    svg: Markup
    total: int
    active_days: int
    busiest: tuple[date, int] | None

    @property
    def summary(self) -> str:
        """The text equivalent of the picture."""
        noun = "contribution" if self.total == 1 else "contributions"
        text = f"{self.total} {noun} in the last year"
        if self.busiest:
            day, count = self.busiest
            text += (f" on {self.active_days} day{'s' if self.active_days != 1 else ''}; "
                     f"the busiest was {day.isoformat()} with {count}")
        return text + "."


def first_day(today: date) -> date:
    """The Sunday that starts the first of the 53 columns."""
    this_sunday = today - timedelta(days=(today.weekday() + 1) % 7)
    return this_sunday - timedelta(weeks=WEEKS - 1)


def thresholds(counts: Mapping[date, int]) -> tuple[int, int, int]:
    """Upper bounds of levels 1, 2 and 3: the quartiles of the non-zero counts."""
    values = sorted(c for c in counts.values() if c > 0)
    if not values:
        return (0, 0, 0)

    def quartile(q: int) -> int:
        return values[min(len(values) - 1, (len(values) * q) // 4)]

    return (quartile(1), quartile(2), quartile(3))


def level(count: int, bounds: tuple[int, int, int]) -> int:
    """0 for no activity, else 1-4 by quartile."""
    if count <= 0:
        return 0
    for lvl, bound in enumerate(bounds, start=1):
        if count <= bound:
            return lvl
    return 4


def _title(count: int, day: date) -> str:
    noun = "contribution" if count == 1 else "contributions"
    return f"{count} {noun} on {day.isoformat()}"


def render(counts: Mapping[date, int], today: date, *, label: str,
           link: Callable[[date], str] | None = None) -> Heatmap:
    """The calendar ending ``today``; ``counts`` per day (missing = 0); ``label``
    names the picture ("Contributions of alice"); ``link(day)`` is the href of
    a day with activity."""
    start = first_day(today)
    shown = {d: c for d, c in counts.items() if start <= d <= today and c > 0}
    bounds = thresholds(shown)
    width = LEFT + WEEKS * STEP
    height = TOP + 7 * STEP + LEGEND
    total = sum(shown.values())
    busiest = max(shown.items(), key=lambda kv: (kv[1], kv[0])) if shown else None
    heat = Heatmap(Markup(""), total, len(shown), busiest)
    parts = [Markup(
        '<svg class="heatmap" xmlns="http://www.w3.org/2000/svg" role="img" '
        'viewBox="0 0 {w} {h}" width="{w}" height="{h}" font-size="9" '
        'aria-labelledby="heatmap-title heatmap-desc">'
        '<title id="heatmap-title">{label}</title><desc id="heatmap-desc">{desc}</desc>'
    ).format(w=width, h=height, label=label, desc=heat.summary)]
    parts.append(Markup('<g fill="currentColor">'))
    for col in range(WEEKS):
        sunday = start + timedelta(weeks=col)
        if sunday.day <= 7 and col < WEEKS - 2:  # the column where a month begins
            parts.append(Markup('<text x="{}" y="10">{}</text>').format(
                LEFT + col * STEP, MONTHS[sunday.month - 1]))
    for row, name in DAY_NAMES.items():
        parts.append(Markup('<text x="0" y="{}">{}</text>').format(TOP + row * STEP + 9, name))
    parts.append(Markup('</g><g fill="currentColor" fill-opacity=".1">'))
    for col in range(WEEKS):
        x = LEFT + col * STEP
        for row in range(7):
            day = start + timedelta(days=col * 7 + row)
            if day > today:
                break
            parts.append(_cell(x, TOP + row * STEP, day, shown.get(day, 0), bounds, link))
    parts.append(Markup("</g>"))
    parts.append(_legend(height - LEGEND + 6, width))
    parts.append(Markup("</svg>"))
    return Heatmap(Markup("").join(parts), total, len(shown), busiest)


def _cell(x: int, y: int, day: date, count: int, bounds: tuple[int, int, int],
          link: Callable[[date], str] | None) -> Markup:
    lvl = level(count, bounds)
    paint = Markup(' fill="{}" fill-opacity="1"').format(COLOURS[lvl]) if lvl else Markup("")
    rect = Markup('<rect x="{}" y="{}" width="{}" height="{}"{}><title>{}</title></rect>').format(
        x, y, CELL, CELL, paint, _title(count, day))
    if link is not None and count > 0:
        return Markup('<a href="{}">{}</a>').format(link(day), rect)
    return rect


def _legend(y: int, width: int) -> Markup:
    """"Less ▢▢▢▢▢ More", right-aligned."""
    x = width - 5 * STEP - 32
    out = [Markup('<g fill="currentColor"><text x="{}" y="{}" text-anchor="end">Less</text>'
                  ).format(x - 4, y + 9)]
    for lvl in range(5):
        paint = (Markup(' fill="{}"').format(COLOURS[lvl]) if lvl
                 else Markup(' fill-opacity=".1"'))
        out.append(Markup('<rect x="{}" y="{}" width="{}" height="{}"{}/>').format(
            x + lvl * STEP, y, CELL, CELL, paint))
    out.append(Markup('<text x="{}" y="{}">More</text></g>').format(x + 5 * STEP + 2, y + 9))
    return Markup("").join(out)

