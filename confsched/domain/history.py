"""The summary cells a room's health history is kept in: pure, no clock.

Every report of 10,000 rooms every 10 s is 86 million rows a day, so reports are not kept one
by one. What operators read is kept instead, each for its own window (``health_history:`` in
the fleet file, :class:`confsched.domain.retention.Retention`):

- every state change with its reasons and time (``changes``, default 30 days);
- per room and minute, a :class:`Cell` (``minutes``, default 6 hours: the console's graphs);
- per room and hour, a :class:`Cell` (``hourly``, default 13 months: availability, trends).

A cell is :data:`CELL_SIZE` bytes: the worst state seen, how many reports came and how many of
them were ok, the highest RTT and the highest loss. Cells of one room are packed side by side
(60 to an hour row, 24 to a day row), so a day of a room is one row of 216 bytes, which the
day rows keep compressed (a day's cells repeat: about 45 bytes; 13 months at 10,000 rooms are
4 million of them).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from confsched.domain.model import EndpointState

# --- cells ------------------------------------------------------------------------------------

CELL = struct.Struct("<BHHHH")
"""worst state, reports, ok reports, highest RTT (0.1 ms), highest loss (1/10,000)."""
CELL_SIZE = CELL.size
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
MINUTES_PER_ROW = 60
HOURS_PER_ROW = 24
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RANK = {
    EndpointState.OK: 1,
    EndpointState.DEGRADED: 2,
    EndpointState.DOWN: 3,
    EndpointState.OFFLINE: 4,
}
_BY_RANK = {rank: state for state, rank in _RANK.items()}
_TOP = 0xFFFF


@dataclass(frozen=True, slots=True)
class Cell:
    """One room's reports over one minute or hour, as kept."""

    start: datetime
    span: timedelta
    worst: EndpointState | None
    """The worst state a report had, or offline if a silence ended in it; None: no report."""
    reports: int
    ok: int
    rtt_ms: float | None
    """The highest RTT reported (None: none measured); saturates at 6,553.5 ms."""
    loss_ratio: float | None
    """The highest packet loss reported, 0..1 (None: none measured)."""


@dataclass(frozen=True, slots=True)
class Grid:
    """Rows of cells: one row holds ``per_row`` cells of ``span`` each (an hour of minutes,
    a day of hours); a row is numbered from the epoch in its own length."""

    span: timedelta
    per_row: int
    packed: bool = False
    """Rows stored compressed (zlib): the day rows, kept for 13 months."""

    @property
    def row_span(self) -> timedelta:
        return self.span * self.per_row

    def place(self, moment: datetime) -> tuple[int, int]:
        """(row number, cell index) of the cell holding ``moment``."""
        slot = (moment - _EPOCH) // self.span
        return slot // self.per_row, slot % self.per_row

    def row_start(self, row: int) -> datetime:
        return _EPOCH + self.row_span * row

    def empty(self) -> bytearray:
        return bytearray(CELL_SIZE * self.per_row)

    def pack(self, cells: bytearray) -> bytes:
        """A row's cells as stored."""
        return zlib.compress(cells) if self.packed else bytes(cells)

    def unpack(self, blob: bytes) -> bytearray:
        """A stored row's cells."""
        return bytearray(zlib.decompress(blob) if self.packed else blob)

    def cells(self, row: int, blob: bytes) -> list[Cell]:
        """The cells of one stored row that saw a report or a silence, oldest first."""
        start = self.row_start(row)
        out = []
        for index, values in enumerate(CELL.iter_unpack(self.unpack(blob))):
            if values[0]:
                out.append(_cell(start + self.span * index, self.span, values))
        return out


MINUTES = Grid(MINUTE, MINUTES_PER_ROW)
HOURS = Grid(HOUR, HOURS_PER_ROW, packed=True)


def _cell(start: datetime, span: timedelta, values: tuple[int, ...]) -> Cell:
    worst, reports, ok, rtt, loss = values
    return Cell(
        start,
        span,
        _BY_RANK.get(worst),
        reports,
        ok,
        (rtt - 1) / 10 if rtt else None,
        (loss - 1) / 10_000 if loss else None,
    )


def add_report(
    row: bytearray,
    index: int,
    state: EndpointState,
    rtt_ms: float | None,
    loss_ratio: float | None,
) -> None:
    """Count one report in cell ``index`` of ``row`` (measurements kept as their highest).

    RTT and loss are stored one above their value so that 0 can mean "none measured"."""
    worst, reports, ok, rtt, loss = CELL.unpack_from(row, index * CELL_SIZE)
    if rtt_ms is not None:
        rtt = max(rtt, min(_TOP, 1 + round(max(rtt_ms, 0.0) * 10)))
    if loss_ratio is not None:
        loss = max(loss, 1 + round(min(max(loss_ratio, 0.0), 1.0) * 10_000))
    CELL.pack_into(
        row,
        index * CELL_SIZE,
        max(worst, _RANK.get(state, 0)),
        min(_TOP, reports + 1),
        min(_TOP, ok + (state is EndpointState.OK)),
        rtt,
        loss,
    )


def mark_silence(row: bytearray, index: int) -> None:
    """Record in cell ``index`` that a silence long enough to be offline ended there."""
    worst, *rest = CELL.unpack_from(row, index * CELL_SIZE)
    CELL.pack_into(row, index * CELL_SIZE, max(worst, _RANK[EndpointState.OFFLINE]), *rest)


@dataclass(frozen=True, slots=True)
class DaySummary:
    """A room's hour cells summed over one local day."""

    day: date
    worst: EndpointState | None
    reports: int
    ok: int
    rtt_ms: float | None
    loss_ratio: float | None


def by_day(cells: Sequence[Cell], tz: tzinfo) -> list[DaySummary]:
    """Hour cells summed per day in ``tz`` (the fleet's), oldest first."""
    days: dict[date, list[Cell]] = {}
    for cell in cells:
        days.setdefault(cell.start.astimezone(tz).date(), []).append(cell)
    return [_day(day, group) for day, group in days.items()]


def _day(day: date, cells: list[Cell]) -> DaySummary:
    ranks = [_RANK[c.worst] for c in cells if c.worst is not None]
    rtts = [c.rtt_ms for c in cells if c.rtt_ms is not None]
    losses = [c.loss_ratio for c in cells if c.loss_ratio is not None]
    return DaySummary(
        day,
        _BY_RANK[max(ranks)] if ranks else None,
        sum(c.reports for c in cells),
        sum(c.ok for c in cells),
        max(rtts) if rtts else None,
        max(losses) if losses else None,
    )
