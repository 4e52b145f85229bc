"""What the sessions, session detail and booking screens show, computed without Textual."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any

from confsched_tui.i18n import N_, _
from confsched_tui.sittings import exception_dates
from confsched_tui.text import (
    count_links,
    count_rooms,
    count_sessions,
    ellipsize,
    fmt_span,
    fmt_span_lines,
    nfc,
    parse_time,
)

READINESS_ORDER = {"not_ready": 0, "no_answer": 1, "pending": 2, "ready": 3}
READINESS_LABEL = {
    "not_ready": N_("✖ not ready"),
    "no_answer": N_("? no answer"),
    "pending": N_("… pending"),
    "ready": N_("✔ ready"),
}
STATE_LABEL = {
    "live": N_("live"),
    "setup": N_("setup"),
    "upcoming": N_("upcoming"),
    "ended": N_("ended"),
    "cancelled": N_("cancelled"),
}
BOOKING_FIELDS = ("title", "organizer", "chair", "with", "start", "duration", "setup", "repeat")
PREVIEW_NEEDS = ("with", "start", "duration")


def readiness_label(status: str) -> str:
    """``✔ ready`` for a room's readiness status, in the console's language."""
    return _(READINESS_LABEL[status]) if status in READINESS_LABEL else status


def state_label(state: str) -> str:
    """A session's state (:func:`session_state`) as the operator reads it."""
    return _(STATE_LABEL[state]) if state in STATE_LABEL else state


def current_occurrence(session: Mapping[str, Any], now: datetime) -> tuple[str | None, str | None]:
    """(start, end) of the occurrence running now or next; the session's own times otherwise."""
    for occurrence in session.get("occurrences") or []:
        end = parse_time(occurrence.get("end"))
        if not occurrence.get("cancelled") and end is not None and end > now:
            return occurrence.get("start"), occurrence.get("end")
    return session.get("start"), session.get("end")


def current_sitting(session: Mapping[str, Any], now: datetime) -> Mapping[str, Any] | None:
    """The first occurrence still to end, cancelled or not (what the operator looks at)."""
    for occurrence in session.get("occurrences") or []:
        end = parse_time(occurrence.get("end"))
        if end is not None and end > now:
            return occurrence
    return None


def sitting_cancelled(session: Mapping[str, Any], now: datetime) -> bool:
    """True when the whole session is cancelled, or the sitting it is at now is."""
    if session.get("status") == "cancelled":
        return True
    sitting = current_sitting(session, now)
    return bool(sitting and sitting.get("cancelled"))


def session_state(session: Mapping[str, Any], now: datetime) -> str:
    """``live``, ``setup`` (the connection test before the start), ``upcoming``, ``ended`` or
    ``cancelled``."""
    if session.get("status") == "cancelled":
        return "cancelled"
    start_text, end_text = current_occurrence(session, now)
    start, end = parse_time(start_text), parse_time(end_text)
    if start is None or end is None:
        return "upcoming"
    setup = timedelta(minutes=float(session.get("setup_minutes") or 0))
    if end <= now:
        return "ended"
    if start <= now:
        return "live"
    return "setup" if start - setup <= now else "upcoming"


def visible_sessions(
    sessions: Sequence[Mapping[str, Any]], now: datetime
) -> list[Mapping[str, Any]]:
    """Live and upcoming sessions, soonest first (ended and cancelled ones left out)."""
    shown = [s for s in sessions if session_state(s, now) not in ("ended", "cancelled")]
    return sorted(shown, key=lambda s: parse_time(current_occurrence(s, now)[0]) or now)


def sessions_summary(sessions: Sequence[Mapping[str, Any]], now: datetime) -> str:
    """``8 sessions: 1 live now, 7 upcoming``: the parts add up to the rows shown."""
    states = [session_state(s, now) for s in sessions]
    labels = (("live", N_("{n} live now")), ("setup", N_("{n} in setup")),
              ("upcoming", N_("{n} upcoming")))  # fmt: skip
    parts = [_(label).format(n=n) for state, label in labels if (n := states.count(state))]
    head = count_sessions(len(sessions))
    return f"{head}: {', '.join(parts)}" if parts else head


def when_text(session: Mapping[str, Any], now: datetime, tz: tzinfo) -> str:
    start, end = current_occurrence(session, now)
    text = fmt_span(start, end, tz)
    return f"{text} ↻" if session.get("rrule") else text


def readiness_text(readiness: Mapping[str, Any] | None) -> str:
    """``ready 187 of 192 · 3 not ready · 2 no answer``; ``—`` before the setup time."""
    if not readiness:
        return "—"
    text = _("ready {ready} of {total}").format(
        ready=readiness.get("ready", 0), total=readiness.get("total", 0)
    )
    labels = (("not_ready", N_("{n} not ready")), ("no_answer", N_("{n} no answer")))
    extras = [_(label).format(n=readiness[key]) for key, label in labels if readiness.get(key)]
    return " · ".join([text, *extras])


def at_risk_counts(forecast: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Session id → rooms at risk in its soonest forecast occurrence (the one the screen
    shows: the forecast comes soonest first)."""
    counts: dict[str, int] = {}
    for item in forecast:
        counts.setdefault(str(item.get("session_id")), int(item.get("at_risk") or 0))
    return counts


def at_risk_text(count: int | None) -> str:
    """``3 rooms`` (at risk), ``none``, or ``—`` beyond the forecast's 24 hours."""
    if count is None:
        return "—"
    return count_rooms(count) if count else _("none")


def bridge_lines(
    allocation: Mapping[str, Any] | None, compact: bool = False, width: int = 0
) -> list[str]:
    """``mcu-tinh-1 107/120 · 118 in use`` per bridge: this session's ports of the capacity,
    then the ports in use then across all sessions (when the scheduler tells it).

    ``compact`` (80 columns): ``mcu-tinh-1 107/120 ·118``. With ``width``, a line too long has
    its bridge id cut, never its figures (the figures are what the operator reads)."""
    bridges = (allocation or {}).get("bridges") or []
    lines = []
    for b in bridges:
        figures = f" {b.get('ports_used', 0)}/{b.get('capacity', '?')}"
        if b.get("in_use") is not None:
            figures += (
                f" ·{b['in_use']}" if compact else " · " + _("{n} in use").format(n=b["in_use"])
            )
        name = str(b.get("bridge"))
        if width:
            name = ellipsize(name, max(4, width - len(figures)))
        lines.append(name + figures)
    return lines


def when_lines(session: Mapping[str, Any], now: datetime, tz: tzinfo) -> list[str]:
    """:func:`when_text` in short lines (the day, then the times) for a narrow column."""
    start, end = current_occurrence(session, now)
    lines = fmt_span_lines(start, end, tz)
    if session.get("rrule"):
        lines[-1] += " ↻"
    return lines


def bridge_detail(bridge: Mapping[str, Any], width: int = 0) -> str:
    """One bridge of a session in full: its ports for this session (rooms and cascade links),
    and the ports in use then across all sessions, of its capacity; ids padded to ``width``."""
    capacity = bridge.get("capacity", "?")
    rooms = count_rooms(int(bridge.get("participants") or 0))
    links = int(bridge.get("links") or 0)
    ports = bridge.get("ports_used", 0)
    if links:
        own = _("{ports} ports ({rooms} + {links})").format(
            ports=ports, rooms=rooms, links=count_links(links)
        )
    else:
        own = _("{ports} ports ({rooms})").format(ports=ports, rooms=rooms)
    text = f"{bridge.get('bridge')!s:{width}}  {own}"
    if bridge.get("in_use") is not None:
        text += " · " + _("{in_use}/{capacity} in use then, all sessions").format(
            in_use=bridge["in_use"], capacity=capacity
        )
    else:
        text += " " + _("of {capacity}").format(capacity=capacity)
    return text


def attention_lines(session: Mapping[str, Any], tz: tzinfo) -> list[str]:
    """``Mon 07/12 08:00–10:00: bridge … would need 98 ports, has 96`` per sitting a forced
    fleet re-import broke (the scheduler lists them whatever the window)."""
    return [
        f"{fmt_span(s.get('start'), s.get('end'), tz)}: {nfc(s.get('reason'))}"
        for s in session.get("needs_attention") or []
    ]


def conflict_text(conflict: Mapping[str, Any], tz: tzinfo) -> str:
    """One conflict as a sentence an operator can act on."""
    span = fmt_span(conflict.get("start"), conflict.get("end"), tz)
    if conflict.get("kind") == "ports":
        message = conflict.get("message") or _("needs {needed} bridge ports, {free} free").format(
            needed=conflict.get("needed"), free=conflict.get("free")
        )
        return _("ports: {message} ({span})").format(message=nfc(message), span=span)
    name = nfc(conflict.get("endpoint_name") or conflict.get("endpoint"))
    title = nfc(conflict.get("title") or conflict.get("session"))
    busy = _("busy with «{title}» {span}").format(title=title, span=span)
    return f"{conflict.get('endpoint')} {name}: {busy}"


def group_conflicts(conflicts: list[Mapping[str, Any]], tz: tzinfo) -> list[tuple[str, list[str]]]:
    """Conflicts by what they collide with: one heading per session (then each of its rooms),
    and one per shortage of bridge ports. Every conflict appears exactly once."""
    groups: dict[str, list[str]] = {}
    for conflict in conflicts:
        if conflict.get("kind") == "ports":
            groups.setdefault(conflict_text(conflict, tz), [])
            continue
        span = fmt_span(conflict.get("start"), conflict.get("end"), tz)
        title = nfc(conflict.get("title") or conflict.get("session"))
        heading = _("busy with «{title}» {span}").format(title=title, span=span)
        name = nfc(conflict.get("endpoint_name") or "")
        groups.setdefault(heading, []).append(f"{conflict.get('endpoint')}  {name}".rstrip())
    return list(groups.items())


def readiness_rows(readiness: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Endpoints not ready first (then no answer, pending, ready), by name within each."""
    rows = list(readiness.get("endpoints") or [])
    return sorted(
        rows,
        key=lambda r: (READINESS_ORDER.get(str(r.get("status")), 9), nfc(r.get("endpoint_name"))),
    )


def booking_body(fields: Mapping[str, str]) -> dict[str, Any]:
    """The API body for the form's values: filled fields only, trimmed; ``except`` (sittings
    of a series to skip) as the API's ``exdates`` list."""
    body: dict[str, Any] = {}
    for name in BOOKING_FIELDS:
        value = (fields.get(name) or "").strip()
        if value:
            body[name] = value
    skipped = exception_dates(fields.get("except") or "", fields.get("start") or "")
    if skipped:
        body["exdates"] = skipped
    return body


def missing(fields: Mapping[str, str], needed: tuple[str, ...]) -> list[str]:
    return [name for name in needed if not (fields.get(name) or "").strip()]


def sessions_for_endpoint(
    sessions: Sequence[Mapping[str, Any]], endpoint_id: str, now: datetime
) -> list[Mapping[str, Any]]:
    """Live and upcoming sessions this endpoint takes part in."""
    return [
        s
        for s in visible_sessions(sessions, now)
        if endpoint_id in (s.get("endpoints") or []) or endpoint_id == s.get("chair")
    ]
