"""The words around an event, in Vietnamese: where (rooms by area), the bridge, setup time.

Calendar readers are the agencies' staff: the description says who chairs, which rooms take
part (grouped the way the province is organised: the rooms with no area first, under the
province, then each area of the site tree, such as a district with its communes), how to dial
in, and when the connection test starts.

Two lengths: an invite names every room (its readers tell the agencies without an address);
a subscribed feed counts the rooms per area, since it repeats the text for every session of a
year. A reader who is a room (its feed, its invite) or an agency (its invite) is told only the
bridges its own rooms dial, from the stored allocation, not the list of every bridge.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from confsched.domain.invites import unreachable
from confsched.domain.model import Fleet, PortAllocation, Session


def printable(value: str) -> str:
    """``value`` without control characters (NUL, ESC, newlines …): titles with them are refused
    at booking, and one stored before that must not reach an invite, a feed or a mail header."""
    return "".join(c for c in value if unicodedata.category(c) not in ("Cc", "Cs"))


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


def location(fleet: Fleet, session: Session, counts: bool = True) -> str:
    """Short enough for a calendar's location field: the chair room and the rooms (per area
    unless ``counts`` is false: a feed's description already counts them)."""
    total = f"{len(session.endpoints)} điểm cầu"
    if counts:
        groups = room_groups(fleet, session.endpoints)
        total += " (" + ", ".join(f"{g.name} {len(g.rooms)}" for g in groups) + ")"
    chair = room_name(fleet, session.chair)
    return f"Điểm cầu chủ trì: {chair}; {total}" if chair else total


def dialled_bridge(fleet: Fleet, allocation: PortAllocation, endpoint_id: str) -> str | None:
    """The bridge the room dials: its port in the stored allocation, else its home bridge
    (a session booked before allocations were stored)."""
    found = allocation.bridge_of(endpoint_id)
    if found is None and not any(allocation.by_bridge.values()):
        endpoint = fleet.endpoints.get(endpoint_id)
        found = endpoint.bridge if endpoint is not None and endpoint.bridge else None
    return found


def bridges_by_room(
    fleet: Fleet, session: Session, rooms: Collection[str] | None = None
) -> dict[str, list[str]]:
    """Bridge id -> the session's rooms that dial it (only ``rooms`` when given), in order."""
    chosen = session.endpoints if rooms is None else [e for e in session.endpoints if e in rooms]
    found: dict[str, list[str]] = {}
    for endpoint_id in chosen:
        bridge = dialled_bridge(fleet, session.allocation, endpoint_id)
        if bridge is not None:
            found.setdefault(bridge, []).append(endpoint_id)
    return found


def bridges_lines(
    fleet: Fleet, session: Session, rooms: Collection[str] | None = None
) -> list[str]:
    """Each bridge carrying the session with its dial-in and room count; for a reader's own
    ``rooms``, only the bridges they dial, each naming those rooms."""
    found = bridges_by_room(fleet, session, rooms)
    several = sum(len(members) for members in found.values()) > 1
    lines = []
    for bridge_id, members in found.items():
        bridge = fleet.bridges.get(bridge_id)
        name = bridge.name if bridge else bridge_id
        dial = f": {bridge.dial_in}" if bridge and bridge.dial_in else ""
        if rooms is None:
            lines.append(f"- {name}{dial} ({len(members)} điểm cầu)")
        elif several:  # an agency's rooms: which of them dials which bridge
            named = ", ".join(room_name(fleet, e) or e for e in members)
            lines.append(f"- {name}{dial} ({named})")
        else:  # one room: the same words for every room on that bridge
            lines.append(f"- {name}{dial}")
    return lines


def setup_line(start: datetime, setup: timedelta, tz: ZoneInfo) -> str:
    minutes = int(setup.total_seconds() // 60)
    begins = (start - setup).astimezone(tz).strftime("%H:%M")
    return f"Kiểm tra kết nối: từ {begins} ({minutes} phút trước giờ họp)"


def description(
    fleet: Fleet,
    session: Session,
    start: datetime,
    tz: ZoneInfo,
    invited: bool = False,
    rooms: Collection[str] | None = None,
) -> str:
    """Organizer, chair, setup time, bridges with dial-in, then the rooms by area.

    ``invited``: an invite names every room, and the agencies taking part that have no e-mail
    address (they get no message of their own: someone must tell them); a feed gives the count
    per area and leaves out what its other fields say (the chair room is in LOCATION, an
    organizer with an address in ORGANIZER). ``rooms``: the reader's own rooms, told only the
    bridges they dial.
    """
    lines = []
    organizer = fleet.agencies.get(session.organizer)
    if invited or organizer is None or not organizer.email:
        lines.append(f"Đơn vị chủ trì: {agency_name(fleet, session.organizer)}")
    chair = room_name(fleet, session.chair)
    if chair and invited:
        lines.append(f"Điểm cầu chủ trì: {chair}")
    if session.setup:
        lines.append(setup_line(start, session.setup, tz))
    bridges = bridges_lines(fleet, session, rooms)
    if bridges:
        lines.append("Cầu truyền hình (MCU):" if rooms is None else "Gọi vào cầu (MCU):")
        lines.extend(bridges)
    groups = room_groups(fleet, session.endpoints)
    if invited:
        lines.append(f"Các điểm cầu ({len(session.endpoints)}):")
        lines.extend(f"{g.name} ({len(g.rooms)}): {', '.join(g.rooms)}" for g in groups)
    else:
        counts = ", ".join(f"{g.name} {len(g.rooms)}" for g in groups)
        lines.append(f"Các điểm cầu ({len(session.endpoints)}): {counts}")
    unreached = unreachable(fleet, session) if invited else ()
    if unreached:
        lines.append(f"Đơn vị chưa có thư điện tử (cần báo trực tiếp): {', '.join(unreached)}")
    return "\n".join(lines)


def alarm_text(setup: timedelta) -> str:
    minutes = int(setup.total_seconds() // 60)
    return f"Kiểm tra kết nối ({minutes} phút trước giờ họp)"
