"""Charts drawn by the server as SVG (the dashboard's, app/web/dashboard.py): horizontal bars
and lines. Each is an image with a title and a description, each bar with its number written
beside it and each point with its value as a tooltip; the page puts the same figures in a table
below. Drawn 360 units wide and scaled to the width the page gives (dashboard.css): text stays
readable on a 390 px phone, and the lines need no script."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 360
FONT = 13
LINE = 17
"""A line of text: its height."""
SERIES = ("s0", "s1", "s2", "s3", "s4")
"""The series' classes (their colours are dashboard.css's), in order."""


@dataclass(frozen=True)
class BarRow:
    """One row of a bar chart: its label, one value per series and each value as written."""

    label: str
    values: Sequence[float]
    texts: Sequence[str]


def text_width(text: str) -> float:
    """About how wide ``text`` is drawn (a CJK character is a full em, others about half)."""
    return sum(FONT if unicodedata.east_asian_width(c) in "WF" else FONT * 0.6 for c in text)


def _fit(text: str, width: float) -> str:
    """``text`` cut to about ``width`` (an ellipsis where it was cut): the table has it whole."""
    if text_width(text) <= width:
        return text
    while text and text_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _open(ident: str, title: str, description: str, height: float) -> list[str]:
    return [f'<svg class="chart" viewBox="0 0 {WIDTH} {height:g}" role="img" '
            f'aria-labelledby="{ident}-t {ident}-d" xmlns="http://www.w3.org/2000/svg">',
            f'<title id="{ident}-t">{escape(title)}</title>',
            f'<desc id="{ident}-d">{escape(description)}</desc>']


def _legend(series: Sequence[str], classes: Sequence[str], y: float) -> list[str]:
    """The series' names with their colours, on one line (wrapping where it must)."""
    parts, x = [], 0.0
    for name, css in zip(series, classes, strict=True):
        width = 14 + text_width(name) + 14
        if x and x + width > WIDTH:
            x, y = 0.0, y + LINE
        parts.append(f'<rect class="{css}" x="{x:g}" y="{y + 2:g}" width="10" height="10"/>'
                     f'<text x="{x + 14:g}" y="{y + 11:g}">{escape(name)}</text>')
        x += width
    return parts


def _legend_height(series: Sequence[str]) -> float:
    lines, x = 1, 0.0
    for name in series:
        width = 14 + text_width(name) + 14
        if x and x + width > WIDTH:
            lines, x = lines + 1, 0.0
        x += width
    return lines * LINE + 6


def bars(ident: str, title: str, description: str, series: Sequence[str],
         rows: Sequence[BarRow], classes: Sequence[str] = SERIES) -> Markup:
    """Horizontal bars, a group per row (its label above it), one bar per series, each with
    its number beside it; the longest bar spans the chart."""
    classes = classes[:len(series)]
    bar, gap, row_gap = 13, 3, 10
    top = _legend_height(series) if len(series) > 1 else 0
    per_row = LINE + len(series) * (bar + gap) + row_gap
    height = top + len(rows) * per_row
    most = max((v for row in rows for v in row.values), default=0) or 1
    longest = max((text_width(t) for row in rows for t in row.texts), default=0)
    room = WIDTH - longest - 8
    parts = _open(ident, title, description, height)
    if len(series) > 1:
        parts += _legend(series, classes, 0)
    y = top
    for row in rows:
        parts.append(f'<text x="0" y="{y + FONT:g}">{escape(_fit(row.label, WIDTH))}</text>')
        y += LINE
        for name, css, value, text in zip(series, classes, row.values, row.texts, strict=True):
            width = max(value / most * room, 1.5 if value else 0)
            parts.append(f'<rect class="{css}" x="0" y="{y:g}" width="{width:.1f}" '
                         f'height="{bar}"><title>{escape(row.label)} · {escape(name)}: '
                         f'{escape(text)}</title></rect>'
                         f'<text class="num" x="{width + 4:.1f}" y="{y + 11:g}">'
                         f'{escape(text)}</text>')
            y += bar + gap
        y += row_gap
    parts.append("</svg>")
    return Markup("".join(parts))


def _ceiling(most: float) -> int:
    """A round top for the axis at or above ``most`` (1, 2 or 5 times a power of ten)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= most:
                return step * factor
        step *= 10


def lines(ident: str, title: str, description: str, x_labels: Sequence[str],
          series: Sequence[tuple[str, Sequence[int]]]) -> Markup:
    """A line per series over ``x_labels`` (months), the axis from 0 to a round top, a point
    per value with the value as its tooltip; the series' names in a legend above."""
    names = [name for name, _values in series]
    top = _legend_height(names) if names else 0
    most = _ceiling(max((v for _n, values in series for v in values), default=0) or 1)
    edge = text_width(max(x_labels, key=text_width, default="")) / 2  # a label's half
    left = max(text_width(str(most)) + 6, edge)
    plot_top, plot_height = top + 6, 140
    base = plot_top + plot_height
    height = base + LINE + 4
    span = WIDTH - left - edge
    count = len(x_labels)

    def x_at(index: int) -> float:
        return left + (span / 2 if count == 1 else span * index / (count - 1))

    def y_at(value: float) -> float:
        return base - plot_height * value / most

    parts = _open(ident, title, description, height)
    parts += _legend(names, SERIES[:len(names)], 0)
    for value in (0, most / 2, most):
        y = y_at(value)
        parts.append(f'<line class="grid" x1="{left:g}" x2="{WIDTH:g}" y1="{y:.1f}" '
                     f'y2="{y:.1f}"/><text class="axis" x="{left - 4:g}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{value:g}</text>')
    every = max(1, -(-count * int(edge * 2 + 8) // int(span)))  # labels never overlap
    for index, label in enumerate(x_labels):
        if index % every == 0:
            parts.append(f'<text class="axis" x="{x_at(index):.1f}" y="{base + 15:g}" '
                         f'text-anchor="middle">{escape(label)}</text>')
    for (name, values), css in zip(series, SERIES, strict=False):
        points = " ".join(f"{x_at(i):.1f},{y_at(v):.1f}" for i, v in enumerate(values))
        parts.append(f'<polyline class="{css}" points="{points}"/>')
        for index, value in enumerate(values):
            parts.append(f'<circle class="{css}" cx="{x_at(index):.1f}" cy="{y_at(value):.1f}" '
                         f'r="3"><title>{escape(name)} · {escape(x_labels[index])}: '
                         f'{value}</title></circle>')
    parts.append("</svg>")
    return Markup("".join(parts))
