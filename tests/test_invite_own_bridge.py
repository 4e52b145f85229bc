"""Each reader is told its own bridge: a room's invite (``sessions show --ics --room``) and the
mail to an agency name only the bridges its rooms dial, with their dial-in; the organizer's
names every bridge. A cascade over two bridges on a five-room fleet."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import icalendar

from confsched.calendar.invitations import compose
from confsched.domain.model import Fleet
from confsched.services.booking import get_session
from confsched.services.inventory import require_fleet
from confsched.store.db import open_db
from confsched.store.invites import pending_changes
from tests.test_api_booking import MONDAY
from tests.test_cli_booking import booked_id

FLEET = """\
fleet: {name: Xã Thử, timezone: Asia/Ho_Chi_Minh}
bridges:
  - {id: mcu-a, name: "MCU A — Trung tâm", ports: 3, dial_in: "sip:hop@a.example"}
  - {id: mcu-b, name: "MCU B — Dự phòng", ports: 10, dial_in: "sip:hop@b.example"}
agencies:
  - {id: so, name: Sở Thông tin, email: so@thu.example}
  - {id: ua, name: Ủy ban A, email: ua@thu.example}
  - {id: ub, name: Ủy ban Bê, email: ub@thu.example}
sites:
  - {id: tinh, name: Tỉnh Thử, level: province}
endpoints:
  - {id: a1, name: Phòng Á 1, site: tinh, agency: ua, kind: pc, bridge: mcu-a}
  - {id: a2, name: Phòng Á 2, site: tinh, agency: ub, kind: pc, bridge: mcu-a}
  - {id: a3, name: Phòng Á 3, site: tinh, agency: ub, kind: pc, bridge: mcu-a}
  - {id: a4, name: Phòng Á 4, site: tinh, agency: ub, kind: pc, bridge: mcu-a}
  - {id: b1, name: Phòng Bê 1, site: tinh, agency: ub, kind: pc, bridge: mcu-b}
"""
DIAL = {"mcu-a": "sip:hop@a.example", "mcu-b": "sip:hop@b.example"}


def booked(cli: Any, tmp_path: Path) -> tuple[Path, str]:
    (tmp_path / "thu.yaml").write_text(FLEET, encoding="utf-8")
    data = tmp_path / "data"
    assert cli("rooms", "import", str(tmp_path / "thu.yaml"), data=data).code == 0
    args = ("--start", f"{MONDAY} 08:00", "--duration", "1h", "--with", "all")
    result = cli("book", "Họp thử", *args, "--organizer", "so", data=data)
    assert result.code == 0, result.err
    return data, booked_id(result.out)


def dialled(document: bytes) -> set[str]:
    """The dial-ins an invite names (DESCRIPTION and CONFERENCE)."""
    (event,) = icalendar.Calendar.from_ical(document).walk("VEVENT")
    text = str(event["DESCRIPTION"])
    conferences = event.get("CONFERENCE", [])
    if not isinstance(conferences, list):
        conferences = [conferences]
    named = {d for d in DIAL.values() if d in text}
    assert {str(c) for c in conferences} == named
    return named


def test_a_rooms_invite_names_only_the_bridge_it_dials(cli: Any, tmp_path: Path) -> None:
    data, session_id = booked(cli, tmp_path)
    db = open_db(data)
    allocation = get_session(db, session_id).allocation
    for room in ("a1", "a2", "a3", "a4", "b1"):
        shown = cli("sessions", "show", session_id, "--ics", "--room", room, data=data)
        assert shown.code == 0, shown.err
        bridge = allocation.bridge_of(room)
        assert bridge is not None
        assert dialled(shown.out.encode()) == {DIAL[bridge]}, room
    whole = cli("sessions", "show", session_id, "--ics", data=data)
    assert dialled(whole.out.encode()) == set(DIAL.values())
    refused = cli("sessions", "show", session_id, "--ics", "--room", "nope", data=data)
    assert refused.code != 0 and "room 'nope' does not take part" in refused.err
    alone = cli("sessions", "show", session_id, "--room", "a1", data=data)
    assert alone.code != 0 and "--room goes with --ics" in alone.err


def test_each_agency_is_mailed_the_bridges_of_its_own_rooms(cli: Any, tmp_path: Path) -> None:
    data, session_id = booked(cli, tmp_path)
    db = open_db(data)
    fleet: Fleet = require_fleet(db)
    allocation = get_session(db, session_id).allocation
    (change,) = pending_changes(db)
    invitation = compose(db, fleet, change, "lich@thu.example", datetime.now(UTC))
    assert invitation is not None
    owned = {"so": (), "ua": ("a1",), "ub": ("a2", "a3", "a4", "b1")}
    for recipient in invitation.recipients:
        agency = recipient.address.split("@")[0]
        assert recipient.rooms == owned[agency]
        letter = invitation.letter_for(recipient)
        rooms = owned[agency] or ("a1", "a2", "a3", "a4", "b1")
        expected = {DIAL[allocation.bridge_of(r) or ""] for r in rooms}
        assert dialled(letter.calendar) == expected, agency
        assert {d for d in DIAL.values() if d in letter.text} == expected
    assert len(invitation.recipients) == 3
    (ua,) = [r for r in invitation.recipients if r.rooms == ("a1",)]
    assert len(dialled(invitation.letter_for(ua).calendar)) == 1  # its one room's bridge
