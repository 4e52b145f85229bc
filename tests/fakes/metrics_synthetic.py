"""Synthetic fleets and health for the metrics benchmark and tests (no I/O, seeded).

A national-scale fleet does not exist as a file; this builds one shaped like the province
(a few provincial rooms, a twentieth district rooms, the rest communes) at any size, and an
in-memory health board fed with judged reports, so that a scrape can be measured at 10,000
endpoints and its content compared with prometheus-client's.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from confsched.domain import health as judge
from confsched.domain.model import (
    Agency,
    Bridge,
    Endpoint,
    EndpointHealth,
    EndpointKind,
    Fleet,
    Readiness,
    Site,
    WorkingHours,
)
from confsched.metrics.sources import BookingSnapshot, HealthCounters

CHECKS = ("host", "camera", "audio", "display", "client", "bridge")


def synthetic_fleet(n: int, interval: timedelta = timedelta(seconds=10)) -> Fleet:
    """``n`` endpoints in districts of about 20 communes, one bridge per 100 endpoints."""
    districts = max(1, n // 20)
    sites = {"province": Site("province", "Tỉnh", "province")}
    for d in range(districts):
        sites[f"d{d:04d}"] = Site(f"d{d:04d}", f"Huyện {d}", "district", "province")
    bridges = {
        f"mcu-{b:03d}": Bridge(f"mcu-{b:03d}", f"MCU {b}", 120) for b in range(max(2, n // 100))
    }
    bridge_ids = list(bridges)
    agencies: dict[str, Agency] = {}
    endpoints: dict[str, Endpoint] = {}
    for i in range(n):
        level = "province" if i < 5 else "district" if i < 5 + districts else "commune"
        district = None if level == "province" else f"d{i % districts:04d}"
        site = "province" if district is None else district
        agency = f"ubnd-{i:05d}"
        agencies[agency] = Agency(agency, f"UBND {i}")
        ep_id = f"vn-{i // 200:02d}-{level[:3]}-{i:05d}"
        kind = EndpointKind.CODEC if level != "commune" else EndpointKind.PC
        bridge = bridge_ids[i % len(bridge_ids)]
        endpoints[ep_id] = Endpoint(
            ep_id, f"Phòng họp {i}", kind, agency, site, level, district, bridge=bridge
        )
    return Fleet(
        f"Synthetic fleet of {n}", "Asia/Ho_Chi_Minh", WorkingHours(), interval,
        agencies, sites, bridges, endpoints,
    )  # fmt: skip


def observation(endpoint: str, at: datetime, rnd: random.Random) -> judge.Observation:
    """A report like the simulator's: mostly fine, sometimes a device or the network fails."""
    checks: dict[str, bool | None] = {c: True for c in CHECKS}
    if rnd.random() < 0.03:
        checks[rnd.choice(CHECKS)] = False
    loss = rnd.random() / 100 if rnd.random() > 0.02 else 0.05 + rnd.random() / 5
    measurements = {
        "rtt_ms": 5 + rnd.random() * 40,
        "jitter_ms": rnd.random() * 8,
        "loss_ratio": loss,
        "cpu_ratio": rnd.random() / 2,
    }
    if rnd.random() < 0.8:  # agents say what their spool dropped; codecs say nothing
        measurements["spool_dropped"] = float(rnd.choice((0, 0, 0, 3, 1200)))
    return judge.Observation(endpoint, at, checks, {}, measurements)


@dataclass(frozen=True, slots=True)
class Entry:
    """What a health board keeps per endpoint (shaped like the store's ``StoredHealth``)."""

    health: EndpointHealth
    interval: float = 0.0


@dataclass
class FakeHealthBoard:
    """An in-memory health board for the metrics collector."""

    states: dict[str, Entry] = field(default_factory=dict)
    accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)

    def entries(self) -> Mapping[str, Entry]:
        return self.states

    def counters(self) -> HealthCounters:
        return HealthCounters(self.accepted, dict(self.rejected), dict(self.refused))

    def accept(self, obs: judge.Observation, interval: float = 0.0) -> EndpointHealth:
        self.accepted += 1
        health = judge.judge(obs)
        self.states[obs.endpoint] = Entry(health, interval)
        return health


def fill_board(
    fleet: Fleet, now: datetime, rnd: random.Random, silent: float = 0.01
) -> FakeHealthBoard:
    """Every endpoint reported in the last interval, except a ``silent`` share (never)."""
    board = FakeHealthBoard()
    report_all(board, fleet, now, rnd, silent)
    return board


def report_all(
    board: FakeHealthBoard, fleet: Fleet, now: datetime, rnd: random.Random, silent: float = 0.01
) -> None:
    """One more report from every endpoint (as 10 s of a live fleet does between scrapes)."""
    span = fleet.report_interval.total_seconds()
    for ep_id in fleet.endpoints:
        if rnd.random() < silent:
            continue
        board.accept(observation(ep_id, now - timedelta(seconds=rnd.random() * span), rnd))


def synthetic_booking(fleet: Fleet, now: datetime, rnd: random.Random) -> BookingSnapshot:
    """A session of up to 192 rooms starting in 20 minutes, half of them answered."""
    eps = list(fleet.endpoints)[:192]
    start = (now + timedelta(minutes=20)).timestamp()
    answers = (Readiness.READY, Readiness.READY, Readiness.NOT_READY, Readiness.PENDING)
    at_risk = {e: rnd.random() < 0.1 for e in eps}
    areas = {fleet.endpoints[e].area or "" for e, risky in at_risk.items() if risky}
    return BookingSnapshot(
        taken_at=now.timestamp(),
        ports_in_use={b: rnd.randint(0, b_.ports) for b, b_ in fleet.bridges.items()},
        sessions={"upcoming": 3, "setup": 1, "finished": 40, "cancelled": 2},
        next_start=dict.fromkeys(eps, start),
        next_setup=dict.fromkeys(eps, start - 900),
        upcoming_sessions=1,
        readiness={e: rnd.choice(answers) for e in eps},
        at_risk=at_risk,
        sessions_at_risk=dict.fromkeys(areas, 1),
    )


def fixed_now() -> datetime:
    return datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
