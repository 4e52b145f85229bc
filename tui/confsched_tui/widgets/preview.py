"""Rich text for the booking preview pane: free, conflicting, refused, booked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import tzinfo
from typing import Any

from rich.text import Text

from confsched_tui.i18n import _
from confsched_tui.sessionview import group_conflicts
from confsched_tui.text import count_conflicts, count_links, count_rooms, fmt_span, nfc


def render_problem(message: str, style: str) -> Text:
    return Text(message, style=style)


def render_allocation(allocation: Mapping[str, Any] | None) -> Text:
    text = Text()
    bridges = (allocation or {}).get("bridges") or []
    rooms = sum(int(b.get("participants") or 0) for b in bridges)
    text.append(count_rooms(rooms), style="bold")
    if (allocation or {}).get("links"):
        text.append(", " + _("cascaded across bridges"), style="dim")
    for bridge in bridges:
        links = int(bridge.get("links") or 0)
        text.append(f"\n  {bridge.get('bridge')} ")
        ports = _("{used}/{capacity} ports").format(
            used=bridge.get("ports_used"), capacity=bridge.get("capacity")
        )
        text.append(ports, style="bold")
        people = int(bridge.get("participants") or 0)
        text.append(f" ({count_rooms(people)} + {count_links(links)})", style="dim")
    return text


def render_conflicts(conflicts: Sequence[Mapping[str, Any]], tz: tzinfo) -> Text:
    """Every conflict, grouped under the session (or port shortage) it collides with."""
    text = Text()
    for heading, rooms in group_conflicts(list(conflicts), tz):
        text.append("\n✖ ", style="bold red")
        many = f" — {count_rooms(len(rooms))}" if len(rooms) > 1 else ""
        text.append(heading + many, style="bold")
        for room in rooms:
            text.append(f"\n    {room}")
    return text


def render_preview(result: Mapping[str, Any], tz: tzinfo) -> Text:
    conflicts = result.get("conflicts") or []
    text = Text()
    if result.get("ok") and not conflicts:
        text.append("✔ " + _("Free: no conflict") + "\n", style="bold green")
    else:
        refused = _("{conflicts}: booking would be refused").format(
            conflicts=count_conflicts(len(conflicts))
        )
        text.append(f"✖ {refused}\n", style="bold red")
    if result.get("allocation"):
        text.append_text(render_allocation(result.get("allocation")))
    text.append_text(render_conflicts(conflicts, tz))
    return text


def render_refusal(message: str, conflicts: Sequence[Mapping[str, Any]], tz: tzinfo) -> Text:
    text = Text()
    text.append("✖ " + _("Refused: {message}").format(message=nfc(message)), style="bold red")
    text.append(f"\n{count_conflicts(len(conflicts))}", style="bold")
    text.append_text(render_conflicts(conflicts, tz))
    return text


def render_booked(session: Mapping[str, Any], tz: tzinfo) -> Text:
    text = Text()
    booked = _("Booked «{title}»").format(title=nfc(session.get("title")))
    text.append(f"✔ {booked}", style="bold green")
    text.append(f"\n{fmt_span(session.get('start'), session.get('end'), tz)}")
    rooms = count_rooms(int(session.get("endpoint_count") or 0))
    text.append(f"\n{rooms} · " + _("id {id}").format(id=session.get("id")))
    return text
