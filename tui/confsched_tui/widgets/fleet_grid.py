"""The fleet at a glance: every endpoint a coloured tile with its state's symbol, in one widget.

One line-API widget draws all tiles (a strip per row, cached until the data, the size or the
cursor changes) instead of one widget per endpoint: 192 or 1,000 tiles cost a few dozen strips,
so the first screen is quick and a fleet-wide state change repaints in a millisecond or two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from confsched_tui.fleetview import (
    MIN_TILE_WIDTH,
    STATES,
    Group,
    Tile,
    distinct_texts,
    symbol,
    tile_width,
)
from confsched_tui.i18n import N_
from confsched_tui.text import count_rooms, ellipsize

LABEL_WIDTH = 15
GAP = 1


@dataclass(frozen=True, slots=True)
class _Row:
    label: str
    first: bool
    tiles: tuple[int, ...]
    """Indexes into the flat tile list."""


class FleetGrid(ScrollView, can_focus=True):
    """Tiles grouped in bands (the province's rooms, then each area with its communes)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *(f"fleet-grid--{state}" for state in STATES),
        "fleet-grid--cursor",
        "fleet-grid--label",
        "fleet-grid--count",
    }
    DEFAULT_CSS = """
    FleetGrid { scrollbar-size-vertical: 1; scrollbar-gutter: stable; overflow-x: hidden; }
    FleetGrid > .fleet-grid--ok { color: #f0fff0; background: #2e7d32; }
    FleetGrid > .fleet-grid--degraded { color: #1a1a1a; background: #f9c74f; }
    FleetGrid > .fleet-grid--down { color: #ffffff; background: #c62828; text-style: bold; }
    FleetGrid > .fleet-grid--offline { color: #e0e0e0; background: #5f6368; }
    FleetGrid > .fleet-grid--unknown { color: #bdbdbd; background: #37373d; }
    FleetGrid > .fleet-grid--cursor { text-style: reverse bold underline; }
    FleetGrid > .fleet-grid--label { text-style: bold; }
    FleetGrid > .fleet-grid--count { color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(-1, 0)", "←", show=False),
        Binding("right", "move(1, 0)", "→", show=False),
        Binding("up", "move(0, -1)", "↑", show=False),
        Binding("down", "move(0, 1)", "↓", show=False),
        Binding("home", "jump(0)", show=False),
        Binding("end", "jump(-1)", show=False),
        Binding("pageup", "move(0, -10)", show=False),
        Binding("pagedown", "move(0, 10)", show=False),
        Binding("enter", "open", N_("Open endpoint")),
    ]

    class Opened(Message):
        """The operator chose an endpoint (Enter or a click)."""

        def __init__(self, endpoint_id: str) -> None:
            super().__init__()
            self.endpoint_id = endpoint_id

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._groups: list[Group] = []
        self._every: list[Group] = []
        self._text_cache: dict[str, tuple[tuple[int, tuple[str, ...]], list[str]]] = {}
        self._tiles: list[Tile] = []
        self._rows: list[_Row] = []
        self._where: list[tuple[int, int]] = []
        """(row, column) of every tile."""
        self._texts: list[str] = []
        """What every tile shows at the current width (distinct within its group)."""
        self._tile_width = MIN_TILE_WIDTH
        self._strips: dict[int, Strip] = {}
        self._styles: dict[str, Style] = {}
        self.cursor = 0
        self.renders = 0
        """Strips built so far (the benchmark reads it)."""

    # -- data ------------------------------------------------------------------------------
    @property
    def tile_count(self) -> int:
        return len(self._tiles)

    @property
    def current(self) -> str | None:
        return self._tiles[self.cursor].id if self._tiles else None

    def show(self, groups: list[Group], every: list[Group] | None = None) -> None:
        """Draw these groups, keeping the cursor on the same endpoint when it is still shown.

        ``every``: the groups before filtering, when ``groups`` is a filtered part of them.
        Tiles take their width and texts from all of them: a text no other tile of its group
        shows stays so in any part, so a filter reuses the texts instead of working them out
        again, and tiles keep their size while the operator types."""
        keep = self.current
        self._groups = groups
        self._every = every if every is not None else groups
        self._tiles = [tile for group in groups for tile in group.tiles]
        ids = [t.id for t in self._tiles]
        self.cursor = ids.index(keep) if keep in ids else min(self.cursor, max(0, len(ids) - 1))
        self._layout()

    def _layout(self) -> None:
        width = self.scrollable_content_region.width or self.size.width or 80
        wanted = tile_width(width, (t.label for group in self._every for t in group.tiles))
        per_row = max(1, (width - LABEL_WIDTH + GAP) // (wanted + GAP))
        # the cells a row has left over go to its tiles: 15 cells a tile at 80 columns, not 12
        self._tile_width = max(wanted, (width - LABEL_WIDTH + GAP) // per_row - GAP)
        text_of = self._texts_at(self._tile_width - 2)
        self._texts = [text_of[t.id] for t in self._tiles]
        rows: list[_Row] = []
        where: list[tuple[int, int]] = []
        index = 0
        for group in self._groups:
            count = len(group.tiles)
            for start in range(0, count, per_row):
                chunk = tuple(range(index + start, index + min(start + per_row, count)))
                label = (
                    group.label if start == 0 else (count_rooms(count) if start == per_row else "")
                )
                for column, _tile in enumerate(chunk):
                    where.append((len(rows), column))
                rows.append(_Row(label, start == 0, chunk))
            index += count
        self._rows, self._where = rows, where
        self._strips.clear()
        self.virtual_size = Size(LABEL_WIDTH + per_row * (self._tile_width + GAP), len(rows))
        self.refresh()

    def _texts_at(self, width: int) -> dict[str, str]:
        """Endpoint id → its tile's text in ``width`` cells, distinct within its whole group;
        a group's texts are kept while its labels and the width stay the same."""
        text_of: dict[str, str] = {}
        for group in self._every:
            labels = tuple(t.label for t in group.tiles)
            cached = self._text_cache.get(group.key)
            if cached is None or cached[0] != (width, labels):
                cached = ((width, labels), distinct_texts(labels, width))
                self._text_cache[group.key] = cached
            text_of.update(zip((t.id for t in group.tiles), cached[1], strict=True))
        return text_of

    # -- drawing ---------------------------------------------------------------------------
    def on_resize(self, event: events.Resize) -> None:
        self._layout()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._strips.clear()

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self.rich_style + self.get_component_rich_style(f"fleet-grid--{name}")
            self._styles[name] = style
        return style

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = scroll_y + y
        width = self.scrollable_content_region.width
        if row >= len(self._rows):
            return Strip.blank(width, self.rich_style)
        strip = self._strips.get(row)
        if strip is None:
            strip = self._strips[row] = self._build(self._rows[row])
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)

    def _build(self, row: _Row) -> Strip:
        self.renders += 1
        base = self.rich_style
        label_style = self._style("label" if row.first else "count")
        segments = [Segment(ellipsize(row.label, LABEL_WIDTH - 1).ljust(LABEL_WIDTH), label_style)]
        for index in row.tiles:
            tile = self._tiles[index]
            style = self._style(tile.state if tile.state in STATES else "unknown")
            if index == self.cursor:
                style += self._style("cursor")
            text = f"{symbol(tile.state)} {self._texts[index]}"
            segments.append(Segment(text.ljust(self._tile_width), style))
            segments.append(Segment(" " * GAP, base))
        return Strip(segments).simplify()

    def _refresh_row(self, row: int) -> None:
        self._strips.pop(row, None)
        self.refresh(Region(0, row - self.scroll_offset.y, self.size.width, 1))

    # -- moving ----------------------------------------------------------------------------
    def _set_cursor(self, index: int) -> None:
        if not self._tiles:
            return
        index = max(0, min(index, len(self._tiles) - 1))
        old_row = self._where[self.cursor][0] if self.cursor < len(self._where) else 0
        self.cursor = index
        row = self._where[index][0]
        self._refresh_row(old_row)
        self._refresh_row(row)
        self.scroll_to_region(Region(0, row, 1, 1), animate=False, immediate=True)

    def action_move(self, dx: int, dy: int) -> None:
        if not self._tiles:
            return
        if dx:
            self._set_cursor(self.cursor + dx)
            return
        row, column = self._where[self.cursor]
        target = max(0, min(len(self._rows) - 1, row + dy))
        tiles = self._rows[target].tiles
        self._set_cursor(tiles[min(column, len(tiles) - 1)])

    def action_jump(self, index: int) -> None:
        self._set_cursor(index if index >= 0 else len(self._tiles) - 1)

    def action_open(self) -> None:
        if self.current is not None:
            self.post_message(self.Opened(self.current))

    def on_click(self, event: events.Click) -> None:
        row = event.y + self.scroll_offset.y
        column = (event.x + self.scroll_offset.x - LABEL_WIDTH) // (self._tile_width + GAP)
        if 0 <= row < len(self._rows) and event.x >= LABEL_WIDTH:
            tiles = self._rows[row].tiles
            if 0 <= column < len(tiles):
                self._set_cursor(tiles[column])
                self.action_open()
