"""A sparkline whose axis starts at zero and reaches at least a floor.

Textual's ``Sparkline`` scales from the data's minimum to its maximum, so a steady 13 ms is
drawn as full-height swings of noise. Here the axis is 0 to ``max(ceiling, highest value)``:
13 ms on a 0–50 ms axis is a low, flat line, and a real spike still shows as one.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

BARS = " ▁▂▃▄▅▆▇█"
STEPS = len(BARS) - 1


def columns(values: Sequence[float], width: int) -> list[float]:
    """``values`` in ``width`` columns, each the highest of its share (a spike never hides)."""
    if not values or width <= 0:
        return []
    count = len(values)
    return [
        max(values[c * count // width : max((c + 1) * count // width, c * count // width + 1)])
        for c in range(width)
    ]


def bar_lines(values: Sequence[float], width: int, height: int, ceiling: float) -> list[str]:
    """The bars, top line first, on an axis from 0 to ``max(ceiling, max(values))``."""
    top = max([ceiling, *values]) or 1.0
    levels = [round(max(v, 0.0) / top * STEPS * height) for v in columns(values, width)]
    lines = []
    for row in reversed(range(height)):
        lines.append("".join(BARS[min(max(n - row * STEPS, 0), STEPS)] for n in levels))
    return lines


class Trend(Widget):
    """Measurements over time on a floored axis; ``stale`` draws them dimmed (last known)."""

    DEFAULT_CSS = """
    Trend { height: 2; }
    """

    data: reactive[tuple[float, ...]] = reactive(())
    stale: reactive[bool] = reactive(False)

    def __init__(self, ceiling: float, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ceiling = ceiling

    def render(self) -> Text:
        lines = bar_lines(self.data, self.size.width, self.size.height or 1, self.ceiling)
        return Text("\n".join(lines), style="grey50" if self.stale else "green")
