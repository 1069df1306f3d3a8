"""Bar charts with axes, as geometry for an inline SVG template. Pure.

Server-rendered SVG: no script, no CDN, readable without JavaScript. Each bar
carries its value for hover and focus (a label shown by CSS, and an SVG
title for screen readers and the browser's tooltip). A budget, when given,
is a dashed line across the plot at its height, labelled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 640, 232
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 16, 46
MAX_X_LABELS = 8


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # the bucket, as the axis would say it
    value: int
    text: str  # what hovering says: "Dec 03: 12 calls"


@dataclass(frozen=True, slots=True)
class Tick:
    at: float  # the x or y coordinate
    text: str


@dataclass(frozen=True, slots=True)
class Line:
    y: float
    text: str


@dataclass(frozen=True, slots=True)
class Chart:
    """Everything the SVG template draws: plot box, bars, both axes' ticks, a budget line."""

    title: str
    unit: str
    x_title: str
    bars: tuple[Bar, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    budget: Line | None
    total: int
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    plot_width: int = WIDTH - LEFT - RIGHT
    plot_height: int = HEIGHT - TOP - BOTTOM

    @property
    def base(self) -> int:
        """The y of the x axis."""
        return self.top + self.plot_height

    @property
    def peak(self) -> int:
        return max((b.value for b in self.bars), default=0)


def nice_top(value: float) -> int:
    """The axis top: four equal whole steps of 1, 2 or 5 × 10ⁿ reaching `value` (round ticks)."""
    step = max(1.0, value / 4)
    power = 10 ** math.floor(math.log10(step))
    steps = (1, 2, 2.5, 5, 10) if power >= 10 else (1, 2, 5, 10)  # 2.5 only when whole
    nice = next(m * power for m in steps if m * power >= step)
    return int(4 * nice)


def bar_chart(
    values: Sequence[int],
    labels: Sequence[str],
    *,
    title: str,
    unit: str,
    x_title: str,
    budget: int | None = None,
    budget_text: str = "",
) -> Chart:
    """A chart of `values`, one bar per label, scaled so the bars and the budget both fit."""
    probe = Chart(title, unit, x_title, (), (), (), None, 0)
    top = nice_top(max([0, *values, budget or 0]))
    scale = probe.plot_height / top
    slot = probe.plot_width / max(1, len(values))
    bars = tuple(
        Bar(
            x=round(probe.left + i * slot + slot * 0.1, 2),
            y=round(probe.base - v * scale, 2),
            width=round(max(1.0, slot * 0.8), 2),
            height=round(v * scale, 2),
            label=label,
            value=v,
            text=f"{label}: {v:,} {unit}",
        )
        for i, (v, label) in enumerate(zip(values, labels, strict=True))
    )
    y_ticks = tuple(
        Tick(round(probe.base - top * k / 4 * scale, 2), f"{top * k / 4:g}") for k in range(5)
    )
    every = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    x_ticks = tuple(
        Tick(round(probe.left + (i + 0.5) * slot, 2), label)
        for i, label in enumerate(labels)
        if i % every == 0
    )
    line = None
    if budget is not None:
        line = Line(round(probe.base - budget * scale, 2), budget_text or f"budget {budget:,}")
    return Chart(title, unit, x_title, bars, y_ticks, x_ticks, line, sum(values))
