"""The dashboard's charts as SVG geometry, computed on the server: an aging bar chart per
currency and the DSO trend as lines. No chart library and no script: the templates draw
these shapes, and a table under each chart says the same in text.

The coordinates are floats. That is fine here and only here: they place shapes on a drawing,
they are never money. Every amount a chart shows in words is formatted from integer minor
units (`fmt.amount`), never from a coordinate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "WIDTH",
    "HEIGHT",
    "Bar",
    "BarChart",
    "bar_chart",
    "LinePoint",
    "Line",
    "LineChart",
    "line_chart",
    "MAX_SERIES",
]

WIDTH = 480  # the drawing's own units (viewBox); CSS scales it to the page
HEIGHT = 200
_LEFT, _RIGHT, _TOP, _BOTTOM = 8.0, 8.0, 16.0, 28.0  # room for labels under the bars
_GAP = 0.25  # share of each slot left empty between bars
_LINE_SIDE = 30.0  # room left and right of a line chart for the first and last label
MAX_SERIES = 4  # lines on one chart; more currencies are in the table only


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    text: str  # the value in words, e.g. "1,190.00 EUR"
    href: str
    x: float
    y: float
    width: float
    height: float
    label_x: float  # the middle of the bar, where its label is written
    negative: bool


@dataclass(frozen=True, slots=True)
class BarChart:
    bars: tuple[Bar, ...]
    baseline_y: float  # where zero is
    label_y: float  # where the labels are written


def _plot_height() -> float:
    return HEIGHT - _TOP - _BOTTOM


def bar_chart(
    labels: Sequence[str], values: Sequence[int], texts: Sequence[str], hrefs: Sequence[str]
) -> BarChart:
    """Bars for `values` (integers, e.g. minor units) from a zero line; negative values go
    below it. The tallest bar fills the plot; all zero values draw no bar."""
    if not (len(labels) == len(values) == len(texts) == len(hrefs)):
        raise ValueError("one label, text and link per value")
    top = max([0, *values])
    bottom = min([0, *values])
    span = top - bottom
    plot = _plot_height()
    baseline = _TOP + (plot * top / span if span else plot)
    slot = (WIDTH - _LEFT - _RIGHT) / max(len(values), 1)
    bars = []
    for i, (label, value, text, href) in enumerate(zip(labels, values, texts, hrefs, strict=True)):
        height = plot * abs(value) / span if span else 0.0
        x = _LEFT + i * slot + slot * _GAP / 2
        y = baseline - height if value >= 0 else baseline
        bars.append(
            Bar(
                label,
                text,
                href,
                x,
                y,
                slot * (1 - _GAP),
                height,
                x + slot * (1 - _GAP) / 2,
                value < 0,
            )
        )
    return BarChart(tuple(bars), baseline, HEIGHT - _BOTTOM / 3)


@dataclass(frozen=True, slots=True)
class LinePoint:
    label: str
    text: str  # the value in words, e.g. "42.5 days"
    x: float
    y: float | None  # None: no value (not enough data): the line breaks there


@dataclass(frozen=True, slots=True)
class Line:
    name: str  # e.g. the currency
    points: tuple[LinePoint, ...]
    segments: tuple[str, ...]  # SVG polyline point lists, one per unbroken run


@dataclass(frozen=True, slots=True)
class LineChart:
    lines: tuple[Line, ...]
    labels: tuple[tuple[str, float], ...]  # (label, x) along the bottom
    top_text: str  # the value at the top of the plot
    label_y: float
    baseline_y: float


def line_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[Decimal | None], Sequence[str]]],
    unit: str = "",
) -> LineChart:
    """Lines over the same labels, one per series (name, values, texts), from zero up to the
    largest value; a missing value breaks its line. At most MAX_SERIES lines."""
    shown = list(series)[:MAX_SERIES]
    values = [v for _, vs, _ in shown for v in vs if v is not None]
    top = max([Decimal(0), *values])
    plot = _plot_height()
    baseline = _TOP + plot
    step = (WIDTH - 2 * _LINE_SIDE) / max(len(labels) - 1, 1)
    xs = [_LINE_SIDE + i * step if len(labels) > 1 else WIDTH / 2 for i in range(len(labels))]
    lines = []
    for name, vs, texts in shown:
        if len(vs) != len(labels) or len(texts) != len(labels):
            raise ValueError("one value and text per label")
        points = []
        for x, label, value, text in zip(xs, labels, vs, texts, strict=True):
            y = None if value is None else baseline - (float(value / top) * plot if top else 0.0)
            points.append(LinePoint(label, text, x, y))
        segments, run = [], []
        for p in points:
            if p.y is None:
                if run:
                    segments.append(" ".join(run))
                run = []
            else:
                run.append(f"{p.x:.1f},{p.y:.1f}")
        if run:
            segments.append(" ".join(run))
        lines.append(Line(name, tuple(points), tuple(segments)))
    return LineChart(
        tuple(lines),
        tuple(zip(labels, xs, strict=True)),
        f"{top} {unit}".strip(),
        HEIGHT - _BOTTOM / 3,
        baseline,
    )
