"""The stand-in scheduler's bookings: selectors, a plain overlap rule, slots, seeded sessions.

Only what the console needs to exercise its screens; the real engine lives in the scheduler.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

JSON = dict[str, Any]
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?$")


class BookingError(Exception):
    def __init__(self, message: str, conflicts: list[JSON] | None = None, status: int = 400):
        super().__init__(message)
        self.conflicts = conflicts or []
        self.status = status


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip()) if text else None
    if not match or not any(match.groups()):
        raise BookingError(f"duration {text!r}: use 90m, 2h or 1h30m")
    return timedelta(hours=int(match[1] or 0), minutes=int(match[2] or 0))


class Booker:
    def __init__(self, endpoints: list[JSON], bridges: tuple[JSON, ...], now: datetime) -> None:
        self.endpoints = endpoints
        self.by_id = {e["id"]: e for e in endpoints}
        self.bridges = {b["id"]: b for b in bridges}
        self.now = now
        self.tz = now.tzinfo
        self.sessions: list[JSON] = []

    # -- selectors and times ---------------------------------------------------------------
    def expand(self, selectors: str | list[str]) -> list[str]:
        items = selectors.split(",") if isinstance(selectors, str) else selectors
        chosen: dict[str, None] = {}
        for raw in items:
            item = raw.strip()
            if not item:
                continue
            matched = [e["id"] for e in self.endpoints if self._selects(item, e)]
            if not matched:
                raise BookingError(f"with: {item!r} selects no endpoint")
            chosen.update(dict.fromkeys(matched))
        return list(chosen)

    @staticmethod
    def _selects(item: str, endpoint: JSON) -> bool:
        kind, _, value = item.partition(":")
        if item == "all":
            return True
        if kind == "level":
            return bool(endpoint["level"] == value)
        if kind in ("district", "under"):
            return bool(endpoint["area"] == value or endpoint["site"] == value)
        if kind == "tag":
            return value in endpoint["tags"]
        return bool(endpoint["id"] == item)

    def parse_time(self, text: str) -> datetime:
        try:
            if re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d$", text.strip()):
                return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M").replace(tzinfo=self.tz)
            moment = datetime.fromisoformat(text)
        except (ValueError, TypeError):
            raise BookingError(f"start {text!r}: use YYYY-MM-DD HH:MM") from None
        if moment.tzinfo is None:
            raise BookingError(f"start {text!r}: add an offset or use YYYY-MM-DD HH:MM")
        return moment.astimezone(self.tz)

    # -- booking ---------------------------------------------------------------------------
    def _request(self, body: JSON) -> JSON:
        if not body.get("with"):
            raise BookingError("with: name the endpoints or groups")
        start = self.parse_time(str(body.get("start") or ""))
        end = start + parse_duration(str(body.get("duration") or ""))
        setup = parse_duration(str(body.get("setup") or "15m"))
        endpoints = self.expand(body["with"])
        return {"start": start, "end": end, "setup": setup, "endpoints": endpoints}

    def conflicts(self, request: JSON) -> list[JSON]:
        found = []
        wanted = set(request["endpoints"])
        begin = request["start"] - request["setup"]
        for session in self.sessions:
            if session["status"] == "cancelled":
                continue
            s_start = datetime.fromisoformat(session["start"])
            s_begin = s_start - timedelta(minutes=session["setup_minutes"])
            s_end = datetime.fromisoformat(session["end"])
            if s_begin < request["end"] and begin < s_end:
                for eid in session["endpoints"]:
                    if eid in wanted:
                        found.append(self._conflict(eid, session))
        return found

    def _conflict(self, eid: str, session: JSON) -> JSON:
        return {"kind": "endpoint", "endpoint": eid, "endpoint_name": self.by_id[eid]["name"],
                "session": session["id"], "title": session["title"],
                "start": session["start"], "end": session["end"]}  # fmt: skip

    def allocation(self, endpoints: list[str]) -> JSON:
        per = Counter(self.by_id[e]["bridge"] for e in endpoints)
        links = 1 if len(per) > 1 else 0
        rows = [
            {**self._bridge(b), "participants": n, "links": links, "ports_used": n + links}
            for b, n in sorted(per.items())
        ]  # fmt: skip
        # every room on its home bridge: none moved (``moved`` shares its name with a sitting's)
        return {"bridges": rows, "links": [sorted(per)] if links else [], "moved": []}

    def _bridge(self, bridge_id: str) -> JSON:
        """A bridge as the scheduler names it in an allocation row (the contract test checks)."""
        bridge = self.bridges[bridge_id]
        return {"bridge": bridge_id, "bridge_name": bridge["name"],
                "dial_in": f"sip:hop@{bridge_id}", "capacity": bridge["ports"]}  # fmt: skip

    def _cascade_over_three(self, session: JSON) -> None:
        """The province-wide session as the scheduler cascades it when its two bridges are
        short: 20 rooms on the third bridge, a star of links around the roomiest."""
        rows = session["allocation"]["bridges"]
        hub = max(rows, key=lambda r: r["participants"])
        hub["participants"] -= 20
        rows.append({**self._bridge("mcu-vung-cao"), "participants": 20, "links": 1})
        for row in rows:
            row["links"] = 2 if row is hub else 1
            row["ports_used"] = row["participants"] + row["links"]
        others = [r["bridge"] for r in rows if r is not hub]
        session["allocation"]["links"] = [[hub["bridge"], b] for b in others]

    def with_load(self, session: JSON) -> JSON:
        """The session's allocation, each bridge with ``in_use``: the ports every scheduled
        session overlapping it (setup included) holds there, as the scheduler reports them."""
        start = datetime.fromisoformat(session["start"])
        begin = start - timedelta(minutes=session["setup_minutes"])
        end = datetime.fromisoformat(session["end"])
        in_use: Counter[str] = Counter()
        for other in self.sessions:
            o_start = datetime.fromisoformat(other["start"])
            o_begin = o_start - timedelta(minutes=other["setup_minutes"])
            if other["status"] == "cancelled" or not (
                o_begin < end and begin < datetime.fromisoformat(other["end"])
            ):
                continue
            for row in other["allocation"]["bridges"]:
                in_use[row["bridge"]] += row["ports_used"]
        bridges = [{**b, "in_use": in_use[b["bridge"]]} for b in session["allocation"]["bridges"]]
        return {**session["allocation"], "bridges": bridges}

    def preview(self, body: JSON) -> JSON:
        request = self._request(body)
        conflicts = self.conflicts(request)
        return {"ok": not conflicts, "conflicts": conflicts,
                "allocation": self.allocation(request["endpoints"])}  # fmt: skip

    def book(self, body: JSON) -> JSON:
        if not str(body.get("title") or "").strip():
            raise BookingError("title: a session needs a title")
        request = self._request(body)
        conflicts = self.conflicts(request)
        if conflicts:
            names = len({c["endpoint"] for c in conflicts})
            raise BookingError(f"refused: {names} endpoint(s) already booked", conflicts)
        return self.add(body, request)

    def add(self, body: JSON, request: JSON) -> JSON:
        start, end = request["start"], request["end"]
        selectors = body["with"] if isinstance(body["with"], list) else body["with"].split(",")
        session = {
            "id": f"s-{len(self.sessions) + 1:04d}", "title": body["title"],
            "organizer": body.get("organizer") or "so-tttt",
            "organizer_name": "Sở Thông tin và Truyền thông",
            "chair": body.get("chair") or request["endpoints"][0],
            "selectors": [s.strip() for s in selectors], "endpoints": request["endpoints"],
            "endpoint_count": len(request["endpoints"]),
            "start": start.isoformat(), "end": end.isoformat(),
            "setup_minutes": int(request["setup"].total_seconds() // 60),
            "rrule": body.get("repeat"), "exdates": [], "status": "scheduled", "sequence": 0,
            "allocation": self.allocation(request["endpoints"]),
            "occurrences": self._occurrences(start, end, body.get("repeat")),
            "needs_attention": [],
        }  # fmt: skip
        self.sessions.append(session)
        return session

    @staticmethod
    def _occurrences(start: datetime, end: datetime, rrule: str | None) -> list[JSON]:
        count = 5 if rrule and "WEEKLY" in rrule else 1
        week = timedelta(days=7)
        return [
            {"recurrence_id": (start + i * week).isoformat(),
             "start": (start + i * week).isoformat(),
             "end": (end + i * week).isoformat(), "cancelled": False, "moved": False,
             "sequence": 0, "attention": ""}
            for i in range(count)
        ]  # fmt: skip

    def find(self, session_id: str) -> JSON:
        for session in self.sessions:
            if session["id"] == session_id:
                return session
        raise BookingError(f"no session {session_id!r}", status=404)

    def sitting(self, session: JSON, occurrence: str) -> JSON:
        """The sitting of a series whose original start is ``occurrence`` (local or ISO)."""
        wanted = self.parse_time(occurrence)
        for sitting in session["occurrences"]:
            if datetime.fromisoformat(sitting["recurrence_id"]) == wanted:
                return sitting
        raise BookingError(f"no occurrence {occurrence!r} of session {session['id']}", status=404)

    def move(self, session_id: str, body: JSON) -> JSON:
        """The sitting named by ``occurrence`` (moved on its own), or every sitting by as much
        as the series' start moves (no conflict check: the stand-in's screens need none)."""
        session = self.find(session_id)
        start = self.parse_time(str(body["start"]))
        occurrence = body.get("occurrence")
        if occurrence and session["rrule"]:
            sitting = self.sitting(session, occurrence)
            was = datetime.fromisoformat(sitting["start"])
            length = datetime.fromisoformat(sitting["end"]) - was
            sitting.update(start=start.isoformat(), end=(start + length).isoformat(), moved=True)
            sitting["sequence"] += 1
            return session
        shift = start - datetime.fromisoformat(session["start"])
        for item in (session, *session["occurrences"]):
            for key in ("start", "end"):
                item[key] = (datetime.fromisoformat(item[key]) + shift).isoformat()
        session["sequence"] += 1
        return session

    def cancel(self, session_id: str, occurrence: str | None = None) -> JSON:
        session = self.find(session_id)
        if occurrence and session["rrule"]:
            sitting = self.sitting(session, occurrence)
            sitting["cancelled"] = True
            sitting["sequence"] += 1
            return session
        session["status"] = "cancelled"
        session["sequence"] += 1
        session["allocation"] = {"bridges": [], "links": [], "moved": []}  # its ports are free
        return session

    def listing(self) -> list[JSON]:
        return sorted(self.sessions, key=lambda s: s["start"])

    def in_setup_or_live(self, session: JSON) -> bool:
        start = datetime.fromisoformat(session["start"])
        end = datetime.fromisoformat(session["end"])
        return start - timedelta(minutes=session["setup_minutes"]) <= self.now < end

    def slots(self, selectors: str, duration: str, count: int) -> list[JSON]:
        length = parse_duration(duration)
        endpoints = self.expand(selectors)
        moment = self.now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        found: list[JSON] = []
        while len(found) < count and moment < self.now + timedelta(days=7):
            request = {"start": moment, "end": moment + length, "setup": timedelta(minutes=15),
                       "endpoints": endpoints}  # fmt: skip
            if not self.conflicts(request):
                found.append({"start": moment.isoformat(), "end": (moment + length).isoformat()})
                moment += length
            else:
                moment += timedelta(minutes=30)
        return found

    # -- fixed sessions around ``now`` -----------------------------------------------------
    def seed_sessions(self) -> None:
        """A live province-wide session, a district meeting, a weekly one, a tagged one."""
        day = self.now.replace(hour=0, minute=0, second=0, microsecond=0)
        fixtures = [
            ("Giao ban trực tuyến toàn tỉnh tháng 12", "ubnd-tinh", "all",
             self.now - timedelta(minutes=20), "2h", None),
            ("Giao ban tuần các huyện", "so-tttt", "level:district,so-tttt",
             day + timedelta(hours=14), "1h", "FREQ=WEEKLY;BYDAY=MO"),
            ("Họp UBND huyện Đại Từ về đê điều", "ubnd-h-dai-tu", "district:h-dai-tu",
             day + timedelta(days=1, hours=14), "1h30m", None),
            ("Hội nghị chuyển đổi số vùng cao", "so-tttt", "tag:vung-cao,so-tttt",
             day + timedelta(days=2, hours=8), "3h", None),
        ]  # fmt: skip
        for title, organizer, selectors, start, duration, rrule in fixtures:
            body = {"title": title, "organizer": organizer, "with": selectors, "repeat": rrule}
            request = {
                "start": start,
                "end": start + parse_duration(duration),
                "setup": timedelta(minutes=15),
                "endpoints": self.expand(selectors),
            }
            session = self.add(body, request)
            session["organizer_name"] = _AGENCY_NAMES.get(organizer, organizer)
            session["chair"] = organizer if organizer in self.by_id else session["chair"]
        self._cascade_over_three(self.sessions[0])
        broken = self.sessions[-1]  # a forced re-import shrank a bridge under it
        broken["needs_attention"] = [
            {**broken["occurrences"][0], "attention": "", "reason": "bridge mcu-tinh-2 would "
             "need 98 ports, has 90"}
        ]  # fmt: skip


_AGENCY_NAMES = {
    "ubnd-tinh": "Ủy ban nhân dân tỉnh Thái Nguyên",
    "so-tttt": "Sở Thông tin và Truyền thông",
    "ubnd-h-dai-tu": "UBND huyện Đại Từ",
}
