"""Server-rendered SVG charts: stacked bars and lines, coloured by CSS variables so they follow the
light and dark themes. Each chart is an ``<svg role="img">`` with a title and a one-line summary;
the pages put the same numbers in a table next to it for screen readers and copy-paste."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Drawn about at their size on a 1400 px wide page, so the 11 px labels stay readable.
WIDE, NARROW, HEIGHT = 1320, 440, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 16, 28  # TOP leaves room for a cut bar's total
PLOT_H = HEIGHT - TOP - BOTTOM


def plot_width(width: int) -> int:
    return width - LEFT - RIGHT


@dataclass(frozen=True)
class Series:
    key: str  # CSS class suffix: .s-<key> picks the colour
    label: str
    values: Sequence[float | None]


def nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power  # pragma: no cover


# A bar more than DWARF times the next tallest would flatten every other bar: the axis is cut.
DWARF = 4
MAX_CUT_BARS = 3


def split_axis_max(totals: Sequence[float]) -> float:
    """The y maximum for bars of these totals: ``nice_max`` of the tallest, or, when up to
    MAX_CUT_BARS bars dwarf the rest (each over DWARF times the next), of the tallest of the rest.
    Bars above it are drawn cut, with their totals written on top."""
    ranked = sorted((t for t in totals if t > 0), reverse=True)
    for cut in range(min(MAX_CUT_BARS, len(ranked) - 2)):
        if ranked[cut] > DWARF * ranked[cut + 1]:
            return nice_max(ranked[cut + 1])
    return nice_max(ranked[0] if ranked else 0)


def ms_label(value: float | None) -> str:
    """Milliseconds for people: 850 ms, 4.2 s, 3 min 20 s, 2 h 05 min."""
    if value is None:
        return "—"
    if value < 1000:
        return f"{value:.0f} ms"
    seconds = value / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def ms_axis(value: float | None) -> str:
    """Milliseconds, short enough for an axis label: 850 ms, 4.2 s, 3.3 min, 11.8 h."""
    if value is None:
        return "—"
    for unit, size in (("h", 3_600_000), ("min", 60_000), ("s", 1000)):
        if value >= size:
            return f"{value / size:.3g} {unit}"
    return f"{value:.0f} ms"


def percent_label(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def count_label(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _frame(
    width: int,
    title: str,
    summary: str,
    body: str,
    y_max: float,
    fmt: Callable[[float | None], str],
    labels: Sequence[str],
) -> Markup:
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {HEIGHT}" role="img" aria-label="{escape(title)}: {escape(summary)}"'
        ' preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">',
    ]
    for fraction in (0, 0.5, 1):
        y = TOP + PLOT_H * (1 - fraction)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(fmt(y_max * fraction))}</text>"
        )
    n = len(labels)
    for index in sorted({0, n // 2, n - 1}) if n else []:
        x = LEFT + plot_width(width) * (index + 0.5) / n
        anchor = "start" if index == 0 and n > 2 else ("end" if index == n - 1 and n > 2 else "middle")
        parts.append(
            f'<text class="axis" x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}">{escape(labels[index])}</text>'
        )
    parts.append(body)
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_group(
    index: int,
    count: int,
    stack: Sequence[tuple[str, str, float | None]],
    y_max: float,
    label: str,
    *,
    element_id: str | None = None,
) -> str:
    """One stacked bar in slot ``index`` of ``count``; ``stack`` is (key, label, value) bottom up.

    With ``element_id`` the bar is its own nested ``<svg>`` in the chart's coordinates, so an htmx
    out-of-band swap can replace it (a bare ``<g>`` would not parse as SVG in a response)."""
    slot = plot_width(WIDE) / count
    width = max(1.0, slot * 0.78)
    x = LEFT + slot * index + (slot - width) / 2
    base: float = TOP + PLOT_H
    total = sum(value or 0 for _, _, value in stack)
    details = ", ".join(f"{name} {count_label(value)}" for _, name, value in stack if value)
    parts = [f"<title>{escape(label)}: {count_label(total)} ({escape(details or 'none')})</title>"]
    for key, _, value in stack:
        if not value or value <= 0:
            continue
        height = min(base - TOP, PLOT_H * value / y_max)
        base -= height
        parts.append(f'<rect class="s-{key}" x="{x:.1f}" y="{base:.1f}" width="{width:.1f}" height="{height:.1f}"/>')
    if total > y_max:
        parts.append(_cut_mark(x, width, total))
    parts.append(f'<rect class="hit" x="{LEFT + slot * index:.1f}" y="{TOP}" width="{slot:.1f}" height="{PLOT_H}"/>')
    if element_id:
        return (
            f'<svg id="{escape(element_id)}" class="bar" x="0" y="0" width="{WIDE}" height="{HEIGHT}" '
            f'overflow="visible">{"".join(parts)}</svg>'
        )
    return f'<g class="bar">{"".join(parts)}</g>'


def _cut_mark(x: float, width: float, total: float) -> str:
    """A bar taller than the axis: a zig-zag break near its top and its total above it."""
    y = TOP + 10
    zigzag = f"M{x - 2:.1f},{y + 3:.1f} L{x + width / 2:.1f},{y - 3:.1f} L{x + width + 2:.1f},{y + 3:.1f}"
    return (
        f'<path class="cut" d="{zigzag}"/>'
        f'<text class="axis cut-total" x="{x + width / 2:.1f}" y="{TOP - 2}" text-anchor="middle">'
        f"{count_label(total)}</text>"
    )


def stack_at(series: Sequence[Series], index: int) -> list[tuple[str, str, float | None]]:
    return [(s.key, s.label, s.values[index]) for s in series]


def stacked_bars(
    title: str, labels: Sequence[str], series: Sequence[Series], *, current_id: str | None = None
) -> tuple[Markup, float]:
    """Stacked bars per label; returns the SVG and its y maximum (the live bar reuses the scale)."""
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    y_max = split_axis_max(totals)
    body = "".join(
        bar_group(
            i,
            len(labels),
            stack_at(series, i),
            y_max,
            labels[i],
            element_id=current_id if i == len(labels) - 1 else None,
        )
        for i in range(len(labels))
    )
    summary = (
        f"{count_label(sum(totals))} in {len(labels)} intervals, at most {count_label(max(totals, default=0))} in one"
    )
    if max(totals, default=0) > y_max:
        summary += f"; the axis stops at {count_label(y_max)}, taller bars are cut and show their totals"
    return _frame(WIDE, title, summary, body, y_max, count_label, labels), y_max


def lines(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    fmt: Callable[[float | None], str],
    *,
    y_floor: float = 0,
    axis: Callable[[float | None], str] | None = None,
    notes: Sequence[str] | None = None,
) -> Markup:
    """One line per series; gaps where a value is missing (no data in that interval).

    ``notes`` (one per label, e.g. "2 of 3 finished") go into each point's tooltip, and the highest
    point of the first series is labelled with its value and note: a rate says what it is made of."""
    values = [v for s in series for v in s.values if v is not None]
    y_max = nice_max(max([*values, y_floor], default=0))
    n = len(labels)
    body = []
    for s in series:
        points: list[list[str]] = [[]]
        for i, value in enumerate(s.values):
            if value is None:
                points.append([])
                continue
            x = LEFT + plot_width(NARROW) * (i + 0.5) / n
            y = TOP + PLOT_H * (1 - min(value, y_max) / y_max)
            points[-1].append(f"{x:.1f},{y:.1f}")
            note = f" ({notes[i]})" if notes and notes[i] else ""
            tip = escape(f"{labels[i]}: {s.label} {fmt(value)}{note}")
            body.append(f'<circle class="s-{s.key}" cx="{x:.1f}" cy="{y:.1f}" r="2.5"><title>{tip}</title></circle>')
        for run in points:
            if len(run) > 1:
                body.insert(0, f'<polyline class="line s-{s.key}" points="{" ".join(run)}"/>')
    present = [s for s in series if any(v is not None for v in s.values)]
    summary = "; ".join(f"{s.label} from {fmt(min(_known(s)))} to {fmt(max(_known(s)))}" for s in present) or "no data"
    if notes and present:
        peak, label = _peak_label(present[0], labels, fmt, notes, y_max)
        body.append(label)
        summary += f"; highest {peak}"
    return _frame(NARROW, title, summary, "".join(body), y_max, axis or fmt, labels)


def _peak_label(
    series: Series, labels: Sequence[str], fmt: Callable[[float | None], str], notes: Sequence[str], y_max: float
) -> tuple[str, str]:
    """The highest point's text ("66.7% (2 of 3 finished) at Mar 03 10:00") and its SVG label."""
    i = max(range(len(series.values)), key=lambda k: -1 if series.values[k] is None else series.values[k] or 0)
    value = series.values[i] or 0
    text = f"{fmt(value)} ({notes[i]})" if notes[i] else fmt(value)
    x = LEFT + plot_width(NARROW) * (i + 0.5) / len(labels)
    y = max(TOP + PLOT_H * (1 - min(value, y_max) / y_max) - 6, TOP + 8)
    anchor = "start" if i < len(labels) / 3 else ("end" if i > 2 * len(labels) / 3 else "middle")
    svg = f'<text class="axis peak-label" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(text)}</text>'
    return f"{text} at {labels[i]}", svg


def _known(series: Series) -> list[float]:
    return [v for v in series.values if v is not None]


def sparkline(values: Sequence[int], key: str, *, width: int = 96, height: int = 22) -> Markup:
    """A tiny line of counts (oldest first), scaled to its own maximum; decorative (the tile states the count)."""
    top = max(values, default=0) or 1
    n = max(len(values) - 1, 1)
    points = " ".join(f"{width * i / n:.1f},{height - 2 - (height - 4) * v / top:.1f}" for i, v in enumerate(values))
    return Markup(
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" aria-hidden="true" '
        f'focusable="false"><polyline class="line s-{escape(key)}" points="{points}"/></svg>'
    )
