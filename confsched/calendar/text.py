"""The words around an event, in Vietnamese: where (rooms by area), the bridge, setup time.

Calendar readers are the agencies' staff: the description says who chairs, which rooms take
part (grouped the way the province is organised: the rooms with no area first, under the
province, then each area of the site tree, such as a district with its communes), how to dial
in to the bridges, and when the connection test starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from confsched.domain.invites import unreachable
from confsched.domain.model import Fleet, Session

PROVINCE_GROUP = "Cấp tỉnh"
LEVEL_GROUPS = {"district": "Cấp huyện", "commune": "Cấp xã"}
"""Rooms below the province that belong to no area (a two-tier province's communes) are grouped
by level; a level the fleet file names otherwise keeps its own name."""
OTHER_GROUP = "Khác"


@dataclass(frozen=True, slots=True)
class RoomGroup:
    """The rooms of a session in one area (or with none: under the province), in file order."""

    name: str
    rooms: tuple[str, ...]


def room_groups(fleet: Fleet, endpoint_ids: Sequence[str]) -> list[RoomGroup]:
    """Rooms with no area first, then areas in fleet order; unknown ids (since removed) last."""
    position = positions(fleet)
    known = sorted((e for e in set(endpoint_ids) if e in position), key=position.__getitem__)
    groups: dict[str, list[str]] = {}
    for endpoint_id in known:
        endpoint = fleet.endpoints[endpoint_id]
        if endpoint.area is None:
            top = endpoint.level == fleet.levels[0]
            label = PROVINCE_GROUP if top else LEVEL_GROUPS.get(endpoint.level, endpoint.level)
        else:
            site = fleet.sites.get(endpoint.area)
            label = site.name if site else endpoint.area
        groups.setdefault(label, []).append(endpoint.name)
    missing = [e for e in endpoint_ids if e not in position]
    if missing:
        groups.setdefault(OTHER_GROUP, []).extend(missing)
    ordered = sorted(groups.items(), key=lambda kv: kv[0] != PROVINCE_GROUP)  # stable otherwise
    return [RoomGroup(name, tuple(rooms)) for name, rooms in ordered]


_POSITION_CACHE: list[tuple[Fleet, dict[str, int]]] = []


def positions(fleet: Fleet) -> dict[str, int]:
    """Endpoint id -> order in the fleet file, computed once per fleet (a 10,000-room fleet)."""
    if _POSITION_CACHE and _POSITION_CACHE[0][0] is fleet:
        return _POSITION_CACHE[0][1]
    positions = {endpoint_id: i for i, endpoint_id in enumerate(fleet.endpoints)}
    _POSITION_CACHE[:] = [(fleet, positions)]
    return positions


def room_name(fleet: Fleet, endpoint_id: str | None) -> str | None:
    if endpoint_id is None:
        return None
    endpoint = fleet.endpoints.get(endpoint_id)
    return endpoint.name if endpoint else endpoint_id


def agency_name(fleet: Fleet, agency_id: str) -> str:
    agency = fleet.agencies.get(agency_id)
    return agency.name if agency else agency_id


def location(fleet: Fleet, session: Session) -> str:
    """Short enough for a calendar's location field: the chair room and the rooms per area."""
    groups = room_groups(fleet, session.endpoints)
    counts = ", ".join(f"{g.name} {len(g.rooms)}" for g in groups)
    total = f"{len(session.endpoints)} điểm cầu ({counts})"
    chair = room_name(fleet, session.chair)
    return f"Điểm cầu chủ trì: {chair}; {total}" if chair else total


def bridges_lines(fleet: Fleet, session: Session) -> list[str]:
    """Each bridge carrying the session with its dial-in, from the stored port allocation."""
    by_bridge = {b: len(p) for b, p in session.allocation.by_bridge.items() if p}
    if not by_bridge:  # no allocation stored: the bridges the rooms are homed on
        for endpoint_id in session.endpoints:
            endpoint = fleet.endpoints.get(endpoint_id)
            if endpoint is not None and endpoint.bridge:
                by_bridge[endpoint.bridge] = by_bridge.get(endpoint.bridge, 0) + 1
    lines = []
    for bridge_id, count in by_bridge.items():
        bridge = fleet.bridges.get(bridge_id)
        name = bridge.name if bridge else bridge_id
        dial = f": {bridge.dial_in}" if bridge and bridge.dial_in else ""
        lines.append(f"- {name}{dial} ({count} điểm cầu)")
    return lines


def setup_line(start: datetime, setup: timedelta, tz: ZoneInfo) -> str:
    minutes = int(setup.total_seconds() // 60)
    begins = (start - setup).astimezone(tz).strftime("%H:%M")
    return f"Kiểm tra kết nối: từ {begins} ({minutes} phút trước giờ họp)"


def description(
    fleet: Fleet, session: Session, start: datetime, tz: ZoneInfo, invited: bool = False
) -> str:
    """Organizer, chair, setup time, bridges with dial-in, then every room by area.

    ``invited``: an invite also names the agencies taking part that have no e-mail address
    (they get no message of their own: someone must tell them).
    """
    lines = [f"Đơn vị chủ trì: {agency_name(fleet, session.organizer)}"]
    chair = room_name(fleet, session.chair)
    if chair:
        lines.append(f"Điểm cầu chủ trì: {chair}")
    if session.setup:
        lines.append(setup_line(start, session.setup, tz))
    bridges = bridges_lines(fleet, session)
    if bridges:
        lines.append("Cầu truyền hình (MCU):")
        lines.extend(bridges)
    lines.append(f"Các điểm cầu ({len(session.endpoints)}):")
    for group in room_groups(fleet, session.endpoints):
        lines.append(f"{group.name} ({len(group.rooms)}): {', '.join(group.rooms)}")
    unreached = unreachable(fleet, session) if invited else ()
    if unreached:
        lines.append(f"Đơn vị chưa có thư điện tử (cần báo trực tiếp): {', '.join(unreached)}")
    return "\n".join(lines)


def alarm_text(setup: timedelta) -> str:
    minutes = int(setup.total_seconds() // 60)
    return f"Kiểm tra kết nối điểm cầu: {minutes} phút trước giờ họp"
