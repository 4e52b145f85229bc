"""The counts bar above the fleet: how many endpoints in each state, and which are filtered."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar

from rich.text import Text
from textual.widgets import Static

from confsched_tui.fleetview import STATES, counts_line

NARROW = 96


class CountsBar(Static):
    """``● ok 150  ▲ degraded 20  ✖ down 5  ○ offline 10  ? unknown 7   192 endpoints``."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {*(f"counts--{s}" for s in STATES), "counts--chosen"}
    DEFAULT_CSS = """
    CountsBar { height: 1; padding: 0 1; }
    CountsBar > .counts--ok { color: #4caf50; }
    CountsBar > .counts--degraded { color: #f9c74f; }
    CountsBar > .counts--down { color: #ef5350; text-style: bold; }
    CountsBar > .counts--offline { color: #9e9e9e; }
    CountsBar > .counts--unknown { color: #757575; }
    CountsBar > .counts--chosen { text-style: reverse; }
    """

    def show(
        self,
        counts: Mapping[str, int],
        shown: int,
        total: int,
        chosen: Iterable[str] = (),
        problem: str = "",
    ) -> None:
        """``problem``: why the filter's selectors chose nothing, shown instead of the tail."""
        wanted = set(chosen)
        keys = self.size.width >= NARROW  # the state keys' numbers, where there is room
        text = Text()
        for index, (state, label) in enumerate(counts_line(counts, shown, total)):
            if not state:
                text.append(" " + (problem or label), "bold" if problem else "")
                continue
            style = self.get_component_rich_style(f"counts--{state}")
            if state in wanted:
                style += self.get_component_rich_style("counts--chosen")
            if keys:
                text.append(f"{index + 1}:", "dim")
            text.append(label, style)
            text.append("  ")
        self.update(text)
