"""Rich text for the booking preview pane: free, conflicting, refused, booked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import tzinfo
from typing import Any

from rich.text import Text

from confsched_tui.sessionview import group_conflicts
from confsched_tui.text import fmt_span, nfc, plural


def render_problem(message: str, style: str) -> Text:
    return Text(message, style=style)


def render_allocation(allocation: Mapping[str, Any] | None) -> Text:
    text = Text()
    bridges = (allocation or {}).get("bridges") or []
    rooms = sum(int(b.get("participants") or 0) for b in bridges)
    text.append(plural(rooms, "room"), style="bold")
    if (allocation or {}).get("links"):
        text.append(", cascaded across bridges", style="dim")
    for bridge in bridges:
        links = int(bridge.get("links") or 0)
        text.append(f"\n  {bridge.get('bridge')} ")
        text.append(f"{bridge.get('ports_used')}/{bridge.get('capacity')} ports", style="bold")
        people = int(bridge.get("participants") or 0)
        text.append(f" ({plural(people, 'room')} + {plural(links, 'link')})", style="dim")
    return text


def render_conflicts(conflicts: Sequence[Mapping[str, Any]], tz: tzinfo) -> Text:
    """Every conflict, grouped under the session (or port shortage) it collides with."""
    text = Text()
    for heading, rooms in group_conflicts(list(conflicts), tz):
        text.append("\n✖ ", style="bold red")
        text.append(heading + (f" — {len(rooms)} rooms" if len(rooms) > 1 else ""), style="bold")
        for room in rooms:
            text.append(f"\n    {room}")
    return text


def render_preview(result: Mapping[str, Any], tz: tzinfo) -> Text:
    conflicts = result.get("conflicts") or []
    text = Text()
    if result.get("ok") and not conflicts:
        text.append("✔ Free: no conflict\n", style="bold green")
    else:
        text.append(f"✖ {plural(len(conflicts), 'conflict')}: booking would be refused\n",
                    style="bold red")  # fmt: skip
    if result.get("allocation"):
        text.append_text(render_allocation(result.get("allocation")))
    text.append_text(render_conflicts(conflicts, tz))
    return text


def render_refusal(message: str, conflicts: Sequence[Mapping[str, Any]], tz: tzinfo) -> Text:
    text = Text()
    text.append(f"✖ Refused: {nfc(message)}", style="bold red")
    text.append(f"\n{plural(len(conflicts), 'conflict')}", style="bold")
    text.append_text(render_conflicts(conflicts, tz))
    return text


def render_booked(session: Mapping[str, Any], tz: tzinfo) -> Text:
    text = Text()
    text.append(f"✔ Booked «{nfc(session.get('title'))}»", style="bold green")
    text.append(f"\n{fmt_span(session.get('start'), session.get('end'), tz)}")
    rooms = plural(int(session.get("endpoint_count") or 0), "room")
    text.append(f"\n{rooms} · id {session.get('id')}")
    return text
