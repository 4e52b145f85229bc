"""Rich text for the booking preview pane: free, conflicting, refused, booked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import tzinfo
from typing import Any

from rich.text import Text

from tui.sessionview import conflict_text
from tui.text import fmt_span, nfc


def render_problem(message: str, style: str) -> Text:
    return Text(message, style=style)


def render_allocation(allocation: Mapping[str, Any] | None) -> Text:
    text = Text()
    bridges = (allocation or {}).get("bridges") or []
    rooms = sum(int(b.get("participants") or 0) for b in bridges)
    text.append(f"{rooms} rooms", style="bold")
    for bridge in bridges:
        text.append(
            f"\n  {bridge.get('bridge')}: {bridge.get('participants')} rooms"
            f" + {bridge.get('links', 0)} link → {bridge.get('ports_used')}"
            f" of {bridge.get('capacity')} ports"
        )
    if (allocation or {}).get("links"):
        text.append("\n  cascaded across bridges", style="dim")
    return text


def render_conflicts(conflicts: Sequence[Mapping[str, Any]], tz: tzinfo) -> Text:
    text = Text()
    for conflict in conflicts:
        text.append("\n✖ ", style="bold red")
        text.append(conflict_text(conflict, tz))
    return text


def render_preview(result: Mapping[str, Any], tz: tzinfo) -> Text:
    conflicts = result.get("conflicts") or []
    if result.get("ok") and not conflicts:
        text = Text("✔ Free: no conflict\n", style="bold green")
    else:
        text = Text(f"✖ {len(conflicts)} conflicts: booking would be refused\n", style="bold red")
    text.append_text(render_allocation(result.get("allocation")))
    text.append_text(render_conflicts(conflicts, tz))
    return text


def render_refusal(message: str, conflicts: Sequence[Mapping[str, Any]], tz: tzinfo) -> Text:
    text = Text(f"✖ Refused: {nfc(message)}", style="bold red")
    text.append(f"\n{len(conflicts)} conflicts", style="bold")
    text.append_text(render_conflicts(conflicts, tz))
    return text


def render_booked(session: Mapping[str, Any], tz: tzinfo) -> Text:
    text = Text(f"✔ Booked «{nfc(session.get('title'))}»", style="bold green")
    text.append(f"\n{fmt_span(session.get('start'), session.get('end'), tz)}")
    text.append(f"\n{session.get('endpoint_count')} rooms · id {session.get('id')}")
    return text
