"""Deterministic API-shaped data for the stand-in scheduler (``tui.fakeapi``).

A synthetic province in the shape of the sample one (5 provincial rooms, 9 districts, their
communes, Vietnamese names), scalable to any size for benchmarks, and fixed health, sessions and
readiness around a given ``now``. Same arguments, same data: snapshots depend on it.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

JSON = dict[str, Any]

PROVINCE_ROOMS = (
    ("tinh-uy", "Phòng họp Tỉnh ủy", "tinh-uy", "Tỉnh ủy Thái Nguyên"),
    ("ubnd-tinh", "Phòng họp UBND tỉnh", "ubnd-tinh", "Ủy ban nhân dân tỉnh Thái Nguyên"),
    ("hdnd-tinh", "Phòng họp HĐND tỉnh", "hdnd-tinh", "Hội đồng nhân dân tỉnh Thái Nguyên"),
    ("so-tttt", "Phòng họp Sở TT&TT", "so-tttt", "Sở Thông tin và Truyền thông"),
    ("ioc", "Phòng điều hành IOC", "ioc", "Trung tâm Điều hành thông minh tỉnh"),
)
DISTRICTS = (
    ("tp-thai-nguyen", "Thành phố Thái Nguyên"),
    ("tp-song-cong", "Thành phố Sông Công"),
    ("tx-pho-yen", "Thị xã Phổ Yên"),
    ("h-dinh-hoa", "Huyện Định Hóa"),
    ("h-phu-luong", "Huyện Phú Lương"),
    ("h-dong-hy", "Huyện Đồng Hỷ"),
    ("h-vo-nhai", "Huyện Võ Nhai"),
    ("h-dai-tu", "Huyện Đại Từ"),
    ("h-phu-binh", "Huyện Phú Bình"),
)
COMMUNES_PER_DISTRICT = (31, 11, 18, 24, 15, 15, 15, 29, 20)  # the sample's 178
FIRST = ("Phú", "Tân", "Hòa", "Quang", "Minh", "Hùng", "Phúc", "Thượng", "Đồng", "Xuân", "Yên")
SECOND = ("Sơn", "Thịnh", "Lương", "Bình", "Tiến", "Xuyên", "Hà", "Lạc", "Đức", "Khánh", "Vinh")
BRIDGES = (
    {"id": "mcu-tinh-1", "name": "MCU Tỉnh 1 — Trung tâm dữ liệu tỉnh", "ports": 120},
    {"id": "mcu-tinh-2", "name": "MCU Tỉnh 2 — Dự phòng", "ports": 96},
    {"id": "mcu-vung-cao", "name": "MCU Vùng cao — Định Hóa", "ports": 40},  # no room's home
)
REASONS = {
    "degraded": ["loss 3% to bridge", "conferencing client not running", "rtt 210 ms to bridge"],
    "down": ["camera missing", "display disconnected", "bridge unreachable"],
    "offline": ["no report for 3 intervals"],
}


def _slug(text: str) -> str:
    table = str.maketrans(
        "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ",
        "aaaaaaaaaaaaaaaaaeeeeeeeeeeeiiiiiooooooooooooooooouuuuuuuuuuuyyyyyd",
    )
    return text.lower().translate(table).replace(" ", "-")


def _endpoint(
    eid: str,
    name: str,
    level: str,
    site: str,
    site_name: str,
    area: Any,
    agency: str,
    agency_name: str,
    bridge: str,
    tags: list[str],
) -> JSON:
    aname = dict(DISTRICTS).get(area or "") if area else None
    bname = next(b["name"] for b in BRIDGES if b["id"] == bridge)
    return {
        "id": eid, "name": name, "kind": "codec" if level != "commune" else "pc", "level": level,
        "site": site, "site_name": site_name, "area": area, "area_name": aname,
        "agency": agency, "agency_name": agency_name, "address": f"{eid}.vc.thainguyen.gov.vn",
        "bridge": bridge, "bridge_name": bname, "tags": tags,
    }  # fmt: skip


def make_endpoints(count: int = 192) -> list[JSON]:
    """``count`` endpoints: the 5 provincial rooms, the 9 district rooms, then communes spread
    over the districts in the sample's proportions (more than 192: proportionally more)."""
    endpoints = [
        _endpoint(i, n, "province", "tinh", "Tỉnh Thái Nguyên", None, a, an, "mcu-tinh-1",
                  ["lanh-dao"])
        for i, n, a, an in PROVINCE_ROOMS
    ]  # fmt: skip
    for did, dname in DISTRICTS:
        lower = dname[0].lower() + dname[1:]
        endpoints.append(
            _endpoint(did, f"Phòng họp UBND {lower}", "district", did, dname, did, f"ubnd-{did}",
                      f"UBND {lower}", "mcu-tinh-1", ["trung-tam-huyen"])
        )  # fmt: skip
    communes = max(0, count - len(endpoints))
    total = sum(COMMUNES_PER_DISTRICT)
    per = [communes * n // total for n in COMMUNES_PER_DISTRICT]
    per[0] += communes - sum(per)
    for (did, _dname), n in zip(DISTRICTS, per, strict=True):
        for k in range(n):
            place = f"{FIRST[k % len(FIRST)]} {SECOND[(k // len(FIRST) + k) % len(SECOND)]}"
            if k >= len(FIRST) * len(SECOND):
                place += f" {k // (len(FIRST) * len(SECOND)) + 1}"
            kind = "Xã" if k % 4 else "Phường"
            eid = f"{did.split('-', 1)[1][:6]}-{_slug(place)}"
            tags = ["vung-cao"] if k % 5 == 0 else []
            bridge = "mcu-tinh-2" if k % 2 else "mcu-tinh-1"
            endpoints.append(
                _endpoint(eid, f"Phòng họp UBND {kind.lower()} {place}", "commune", eid,
                          f"{kind} {place}", did, f"ubnd-{eid}", f"UBND {kind.lower()} {place}",
                          bridge, tags)
            )  # fmt: skip
    return endpoints[:count]


def fleet_summary(endpoints: list[JSON]) -> JSON:
    agencies = {e["agency"]: e["agency_name"] for e in endpoints}
    return {
        "name": "Tỉnh Thái Nguyên",
        "timezone": "Asia/Ho_Chi_Minh",
        "language": None,
        "report_interval_s": 10.0,
        "bridges": [{**b, "dial_in": f"sip:hop@{b['id']}"} for b in BRIDGES],
        "agencies": [{"id": k, "name": v} for k, v in agencies.items()],
        "levels": list(dict.fromkeys(str(e["level"]) for e in endpoints)),
        "areas": _areas(endpoints),
        "endpoint_count": len(endpoints),
    }


def _areas(endpoints: list[JSON]) -> list[JSON]:
    level_of = {e["site"]: e["level"] for e in endpoints}
    named = {e["area"]: e["area_name"] for e in endpoints if e.get("area")}
    return [{"id": a, "name": n, "level": level_of.get(a, "")} for a, n in named.items()]


def two_tier_endpoints() -> list[JSON]:
    """The rooms of the merged province of 2025 (examples/thai-nguyen-2025.yaml) as the
    scheduler's API shows them: no districts, every commune directly under the province."""
    from confsched.fleetfile import load_fleet_file
    from confsched.services.inventory import endpoint_view
    from tests.conftest import TWO_TIER

    fleet = load_fleet_file(TWO_TIER)
    return [endpoint_view(fleet, e) for e in fleet.endpoints]


def initial_states(endpoints: list[JSON], seed: int = 7) -> dict[str, str]:
    """Mostly ok, a few of every other state, the same every time."""
    rng = random.Random(seed)
    weights = (("ok", 80), ("degraded", 8), ("down", 4), ("offline", 5), ("unknown", 3))
    states, cum = [s for s, _ in weights], [w for _, w in weights]
    return {e["id"]: rng.choices(states, cum)[0] for e in endpoints}


def health_entry(endpoint_id: str, state: str, now: datetime) -> JSON:
    """One ``health`` object as the API returns it."""
    seed = sum(map(ord, endpoint_id))
    reasons = [] if state in ("ok", "unknown") else [REASONS[state][seed % len(REASONS[state])]]
    checks = {c: True for c in ("camera", "audio", "display", "bridge", "client", "host")}
    for reason in reasons:
        word = reason.split()[0]
        if word in checks:
            checks[word] = False
    if state == "unknown":
        return {"endpoint": endpoint_id, "state": state, "reasons": [], "codes": [],
                "last_report_at": None,
                "rtt_ms": None, "jitter_ms": None, "loss_ratio": None, "checks": {},
                "call": None}  # fmt: skip
    age = 40 if state == "offline" else seed % 9
    # in a call on the bridge, not in one, or (an offline room's agent) cannot tell
    in_call = {"active": True, "remote": "sip:hop@mcu1.vc.thainguyen.gov.vn"}
    call = None if state == "offline" else in_call if seed % 2 else {"active": False, "remote": ""}
    return {
        "endpoint": endpoint_id,
        "state": state,
        "reasons": reasons,
        "codes": [r.split()[0] if r.split()[0] in checks else "other" for r in reasons],
        "last_report_at": (now - timedelta(seconds=age)).isoformat(),
        "rtt_ms": 20.0 + seed % 30,
        "jitter_ms": 2.0 + seed % 5,
        "loss_ratio": 0.03 if state == "degraded" else 0.0,
        "checks": checks,
        "call": call,
    }


def history(endpoint_id: str, state: str, now: datetime, hours: float) -> list[JSON]:
    """A point every 5 minutes over ``hours`` (the scheduler's are minutes and hours; the
    console draws whatever comes): a smooth RTT with a bump, loss when degraded."""
    seed = sum(map(ord, endpoint_id))
    points = int(hours * 12)
    rows = []
    for i in range(points):
        at = now - timedelta(minutes=5 * (points - i))
        bump = 60.0 if points * 2 // 3 <= i < points * 2 // 3 + 4 else 0.0
        point_state = state if i > points - 6 else "ok"
        rows.append({
            "at": at.isoformat(), "minutes": 5, "state": point_state, "reports": 30,
            "ok_reports": 30 if point_state == "ok" else 0,
            "rtt_ms": 20.0 + (seed + i * 7) % 25 + bump,
            "loss_ratio": (0.01 * (i % 5)) if state == "degraded" else (0.02 if bump else 0.0),
        })  # fmt: skip
    return rows
