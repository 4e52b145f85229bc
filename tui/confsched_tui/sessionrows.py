"""The Sessions screen's rows at any width: what each cell says, and column widths that fit.

At 120 columns and more a session is two lines (when and state; title and organizer) beside one
line per bridge and its readiness. Narrower, down to 80 columns, the times go under the day, the
room count joins the readiness, the bridges take their short form (``mcu-tinh-1 88/120 ·88``)
and the title wraps; nothing an operator acts on (start, readiness, any bridge's figures) is cut.
Rich text only, no Textual: the screen puts these cells in its table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from rich.text import Text

from confsched_tui.i18n import N_, _
from confsched_tui.sessionview import (
    at_risk_text,
    bridge_lines,
    readiness_text,
    session_state,
    state_label,
    when_lines,
    when_text,
)
from confsched_tui.text import count_rooms, ellipsize, nfc, wrap, wrap_all

STATE_STYLE = {"live": "bold green", "setup": "bold yellow", "upcoming": "", "ended": "dim"}
PAD = 2
"""Cells a DataTable column adds to its width (one each side)."""
SCROLLBAR = 2
MIN_TITLE = 36
"""Below this the wide layout gives way to the compact one."""
MIN_COMPACT_TITLE = 14
MAX_COMPACT_READINESS = 18
"""Wider readiness lines wrap (Vietnamese says "37 điểm cầu có nguy cơ")."""
WIDE_COLUMNS = (
    (N_("When"), "when"),
    (N_("Title · organizer"), "title"),
    (N_("Rooms"), "rooms"),
    (N_("Bridges: ports used · in use"), "bridges"),
    (N_("Readiness"), "readiness"),
)
COMPACT_COLUMNS = (
    (N_("When"), "when"),
    (N_("Title · organizer"), "title"),
    (N_("Rooms · readiness"), "readiness"),
    (N_("Bridges ports ·in use"), "bridges"),
)
"""Headings as msgids: the screen translates them, the widths count the translation."""


def attention_mark() -> str:
    return "⚠ " + _("attention")


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One session as the Sessions screen shows it, before it is fitted to a width."""

    key: str
    when: str
    when_lines: tuple[str, ...]
    state: str
    attention: bool
    title: str
    organizer: str
    rooms: int
    allocation: Mapping[str, Any] | None
    readiness: Mapping[str, Any] | None
    at_risk: int | None

    def state_lines(self, compact: bool) -> list[str]:
        state = state_label(self.state)
        if not self.attention:
            return [state]
        return [state, attention_mark()] if compact else [f"{state} {attention_mark()}"]


@dataclass(frozen=True, slots=True)
class Columns:
    compact: bool
    widths: tuple[int, ...]
    """Content cells per column, in the order of :attr:`labels`."""

    @property
    def labels(self) -> tuple[tuple[str, str], ...]:
        return COMPACT_COLUMNS if self.compact else WIDE_COLUMNS

    @property
    def title_width(self) -> int:
        return self.widths[1]

    @property
    def bridges_width(self) -> int:
        return self.widths[3]


def session_row(
    session: Mapping[str, Any], now: datetime, tz: tzinfo, at_risk: int | None
) -> SessionRow:
    return SessionRow(
        key=str(session["id"]),
        when=when_text(session, now, tz),
        when_lines=tuple(when_lines(session, now, tz)),
        state=session_state(session, now),
        attention=bool(session.get("needs_attention")),
        title=nfc(session.get("title")),
        organizer=nfc(session.get("organizer_name") or session.get("organizer")),
        rooms=int(session.get("endpoint_count") or 0),
        allocation=session.get("allocation"),
        readiness=session.get("readiness"),
        at_risk=at_risk,
    )


def columns_for(rows: Sequence[SessionRow], width: int) -> Columns:
    """The wide layout if the title keeps ``MIN_TITLE`` cells beside the rest, else the
    compact one, the title taking what is left (bridge ids cut first if even that is short)."""
    wide = _wide_widths(rows)
    title = width - SCROLLBAR - PAD * len(WIDE_COLUMNS) - sum(wide)
    if title >= MIN_TITLE:
        return Columns(False, (wide[0], min(title, _title_needs(rows)), *wide[1:]))
    when, ready, bridges = _compact_widths(rows)
    title = width - SCROLLBAR - PAD * len(COMPACT_COLUMNS) - when - ready - bridges
    if title < MIN_COMPACT_TITLE:
        bridges = max(len(_(COMPACT_COLUMNS[3][0])), bridges - (MIN_COMPACT_TITLE - title))
    title = max(MIN_COMPACT_TITLE, width - SCROLLBAR - PAD * 4 - when - ready - bridges)
    return Columns(True, (when, min(title, _title_needs(rows)), ready, bridges))


def cells(row: SessionRow, columns: Columns) -> tuple[list[Text | str], int]:
    """The row's cells in column order, and its height: tall enough for every bridge and
    every line of readiness; the title wraps into the lines the others leave."""
    compact = columns.compact
    when = when_cell(row, compact)
    bridges = "\n".join(bridge_lines(row.allocation, compact, columns.bridges_width))
    readiness = (
        readiness_cell(row.readiness, row.at_risk, row.rooms, columns.widths[2])
        if compact
        else readiness_cell(row.readiness, row.at_risk)
    )
    height = max(2, _lines(when), _lines(readiness), bridges.count("\n") + 1)
    title = title_cell(row, columns.title_width, height)
    if compact:
        return [when, title, readiness, bridges], height
    return [when, title, str(row.rooms or ""), bridges, readiness], height


def when_cell(row: SessionRow, compact: bool) -> Text:
    """When (the day over the times when compact), the state, and "⚠ attention"."""
    when = Text("\n".join(row.when_lines if compact else [row.when]))
    when.append("\n" + state_label(row.state), style=STATE_STYLE.get(row.state, ""))
    if row.attention:
        when.append("\n" if compact else " ")
        when.append(attention_mark(), style="bold red")
    return when


def title_cell(row: SessionRow, width: int, height: int) -> Text:
    """The title wrapped into the lines the row has (its last line for the organizer)."""
    text = Text("\n".join(wrap(row.title, width, max(1, height - 1))), style="bold")
    text.append("\n" + ellipsize(row.organizer, width), style="dim")
    return text


def readiness_cell(
    readiness: Mapping[str, Any] | None,
    at_risk: int | None,
    rooms: int | None = None,
    width: int = 0,
) -> Text:
    """ "ready N of M" and what is missing (once checked), then the forecast's rooms at risk
    (for a session within 24 h): "not checked yet" / "1 room at risk". With ``rooms`` (the
    compact layout) the room count comes first and each missing kind has its own line; with
    ``width`` a longer line wraps ("37 điểm cầu có nguy cơ" in 18 cells)."""
    parts: list[tuple[str, str]] = [(count_rooms(rooms), "")] if rooms is not None else []
    if not readiness:
        parts.append((_("not checked yet"), "dim"))
    else:
        bad = readiness.get("not_ready") or readiness.get("no_answer")
        first, _sep, rest = readiness_text(readiness).partition(" · ")
        parts.append((first, "bold yellow" if bad else "bold green"))
        missing = rest.split(" · ") if rest else []
        if rooms is not None:
            parts += [(line, "yellow") for line in missing]
        elif missing:
            parts.append((", ".join(missing), "yellow"))
    if at_risk is not None:
        risk = (
            _("{rooms} at risk").format(rooms=at_risk_text(at_risk))
            if at_risk
            else _("none at risk")
        )
        parts.append((risk, "yellow" if at_risk else "green"))
    text = Text()
    for i, (line, style) in enumerate(parts):
        wrapped = wrap_all(line, width) if width else [line]
        text.append(("\n" if i else "") + "\n".join(wrapped), style=style)
    return text


def _lines(cell: Text) -> int:
    return len(_plain_lines(cell))


def _plain_lines(cell: Text) -> list[str]:
    return cell.plain.split("\n")


def _longest(lines: Sequence[str]) -> int:
    return max((len(line) for line in lines), default=0)


def _wide_widths(rows: Sequence[SessionRow]) -> tuple[int, int, int, int]:
    """When, rooms, bridges, readiness: each as wide as its widest line or its heading."""
    when = [r.when for r in rows] + [line for r in rows for line in r.state_lines(False)]
    bridges = [line for r in rows for line in bridge_lines(r.allocation)]
    ready = [
        line for r in rows for line in readiness_cell(r.readiness, r.at_risk).plain.split("\n")
    ]
    labels = [_(label) for label, _key in WIDE_COLUMNS]
    return (
        max(len(labels[0]), _longest(when)),
        max(len(labels[2]), _longest([str(r.rooms) for r in rows])),
        max(len(labels[3]), _longest(bridges)),
        max(len(labels[4]), _longest(ready)),
    )


def _compact_widths(rows: Sequence[SessionRow]) -> tuple[int, int, int]:
    """When, rooms · readiness, bridges in the compact layout."""
    when = [line for r in rows for line in (*r.when_lines, *r.state_lines(True))]
    ready = [
        line for r in rows for line in _plain_lines(readiness_cell(r.readiness, r.at_risk, r.rooms))
    ]
    bridges = [line for r in rows for line in bridge_lines(r.allocation, compact=True)]
    labels = [_(label) for label, _key in COMPACT_COLUMNS]
    return (
        max(len(labels[0]), _longest(when)),
        min(max(len(labels[2]), _longest(ready)), MAX_COMPACT_READINESS),
        max(len(labels[3]), _longest(bridges)),
    )


def _title_needs(rows: Sequence[SessionRow]) -> int:
    return max(
        len(_(WIDE_COLUMNS[1][0])), _longest([r.title for r in rows] + [r.organizer for r in rows])
    )
