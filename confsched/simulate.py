"""Simulated agents: the real agent code (SSH link, spool, protocol) with pretend rooms.

``confsched simulate --agents N`` and ``confsched demo`` run N of them in one process against
a scheduler, each on its own real SSH connection with its own enrolled key. Each room gets a
steady profile (network distance by level) and some get realistic faults: a camera unplugged,
a lossy line to the bridge, a slow link, the conferencing client not started, a room that goes
offline after a while. Faults also come and go, so the fleet stays alive to watch.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncssh
from confsched_agent.agent import Agent
from confsched_agent.link import Link
from confsched_agent.probes import Findings, Probe
from confsched_agent.spool import MemorySpool
from confsched_agent.wire import Check

from confsched.agentlink.keys import AGENT_KEYS_DIR, ensure_host_key, public_text
from confsched.config import Settings, private_dir, write_private
from confsched.devsim.codec_fleet import CodecFaults, attach_simulated_codecs
from confsched.store.db import open_db
from confsched.store.health import enroll_keys
from confsched.store.inventory import load_fleet

log = logging.getLogger(__name__)

FAULTS = ("camera_unplugged", "lossy", "slow", "client_stopped", "goes_offline")


@dataclass
class RoomProfile:
    """How one pretend room behaves: its network and its standing fault, if any."""

    rtt_ms: float = 12.0
    jitter_ms: float = 1.5
    loss_ratio: float = 0.0
    fault: str | None = None
    transient: dict[str, int] = field(default_factory=dict)
    """Faults that come and go: name → reports left."""


def profile_for(endpoint: str, depth: float | None, seed: int, fault_rate: float) -> RoomProfile:
    """A stable profile per endpoint and seed: the same rooms misbehave on every run.

    ``depth``: how far down the fleet's levels the room is, 0 (the province) to 1 (a commune);
    the network to the bridge gets longer the further out a room is."""
    digest = hashlib.sha256(f"{seed}:{endpoint}".encode()).digest()
    rng = random.Random(digest)
    base = 20.0 if depth is None else 4.0 + 24.0 * depth
    profile = RoomProfile(rtt_ms=base * rng.uniform(0.7, 1.4), jitter_ms=rng.uniform(0.5, 4.0))
    if rng.random() < fault_rate:
        profile.fault = rng.choice(FAULTS)
    if profile.fault == "lossy":
        profile.loss_ratio = rng.choice((0.02, 0.04, 0.06, 0.08))
    elif profile.fault == "slow":
        profile.rtt_ms = rng.uniform(180, 320)
        profile.jitter_ms = rng.uniform(20, 60)
    return profile


class SimulatedRoom:
    """One probe standing in for all of a room's probes, with the profile's faults."""

    name = "room"

    def __init__(self, profile: RoomProfile, rng: random.Random) -> None:
        self.profile = profile
        self._rng = rng

    def _tick_transients(self) -> None:
        for name in list(self.profile.transient):
            self.profile.transient[name] -= 1
            if self.profile.transient[name] <= 0:
                del self.profile.transient[name]
        if self._rng.random() < 0.004:
            self.profile.transient[self._rng.choice(("camera_unplugged", "lossy"))] = 6

    async def run(self) -> Findings:
        self._tick_transients()
        p, rng = self.profile, self._rng
        faults = {p.fault, *p.transient}
        camera = "camera_unplugged" not in faults
        client = "client_stopped" not in faults
        loss = p.loss_ratio or (0.05 if "lossy" in faults else 0.0)
        checks = {
            "camera": Check(True) if camera else Check(False, "no /dev/video* device"),
            "audio": Check(True),
            "display": Check(True),
            "client": Check(True) if client else Check(False, "vcclient is not running"),
            "bridge": Check(True),
            "host": Check(True),
        }
        measurements = {
            "rtt_ms": round(max(0.0, p.rtt_ms + rng.gauss(0, p.jitter_ms / 2)), 2),
            "jitter_ms": round(abs(rng.gauss(p.jitter_ms, p.jitter_ms / 4)), 2),
            "loss_ratio": round(max(0.0, loss + rng.gauss(0, loss / 5)) if loss else 0.0, 3),
            "cpu_ratio": round(rng.uniform(0.03, 0.35), 3),
            "memory_used_ratio": round(rng.uniform(0.3, 0.6), 3),
            "disk_free_ratio": 0.42,
            "cameras": 1.0 if camera else 0.0,
        }
        return Findings(checks, measurements)


class SimulatedAgent:
    """The real Agent and Link, with a pretend room and an in-memory spool."""

    def __init__(
        self,
        endpoint: str,
        address: tuple[str, int],
        key: asyncssh.SSHKey,
        host_key: str,
        probes: Sequence[Probe],
        interval: float,
        rng: random.Random,
    ) -> None:
        self.spool = MemorySpool(limit=1000)
        self.agent = Agent(endpoint, probes, self.spool, interval)
        self.link = Link(endpoint, address, key, host_key, self.spool, self.agent.handle, rng=rng)
        self.agent.on_report = self.link.wake
        self.link.on_reconnected = self.agent.report_now
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, first_delay: float = 0.0) -> None:
        async def reports() -> None:
            await asyncio.sleep(first_delay)
            await self.agent.run()

        self._tasks = [asyncio.create_task(reports()), asyncio.create_task(self.link.run())]

    async def stop(self) -> None:
        """Stop like SIGTERM would: no more reports, give the link a moment to deliver."""
        self._tasks[0].cancel()
        self.link.stop()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def kill(self) -> None:
        """Vanish at once, like a room losing power."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


@dataclass
class Simulation:
    agents: dict[str, SimulatedAgent]
    offline_later: list[str]

    async def stop(self) -> None:
        await asyncio.gather(*(a.stop() for a in self.agents.values()), return_exceptions=True)


def synthetic_fleet(path: Path, total: int) -> Path:
    """The sample province grown to ``total`` endpoints (extra rooms in its last commune), for
    load tests and benchmarks that need more agents than the province has rooms."""
    from importlib import resources

    sample = (resources.files("confsched") / "sample_rooms.yaml").read_text(encoding="utf-8")
    have = sum(1 for line in sample.splitlines() if line.startswith("  - {id:") and "kind:" in line)
    extra = [
        f'  - {{id: sim-{i:05d}, name: "Phòng mô phỏng {i}", site: pb-ha-chau, '
        f"agency: ubnd-pb-ha-chau, kind: pc, bridge: mcu-tinh-2}}"
        for i in range(1, max(0, total - have) + 1)
    ]
    path.write_text(sample.rstrip("\n") + "\n" + "\n".join(extra) + "\n", encoding="utf-8")
    return path


def enroll_simulated(data_dir: Path, endpoints: Sequence[str]) -> dict[str, asyncssh.SSHKey]:
    """A fresh key pair per endpoint, enrolled in one transaction; keys kept in the data dir."""
    keys = {e: asyncssh.generate_private_key("ssh-ed25519") for e in endpoints}
    directory = private_dir(data_dir / AGENT_KEYS_DIR)
    for endpoint, key in keys.items():
        write_private(directory / f"{endpoint}.key", key.export_private_key())
    db = open_db(data_dir)
    try:
        enroll_keys(db, {e: public_text(k) for e, k in keys.items()}, datetime.now(UTC))
    finally:
        db.close()
    return keys


def _fleet_levels(data_dir: Path) -> tuple[dict[str, float], float]:
    """How far down the levels every room an agent watches is (polled codecs have none), and
    the interval."""
    db = open_db(data_dir)
    try:
        fleet = load_fleet(db)
    finally:
        db.close()
    if fleet is None:
        return {}, 10.0
    last = max(len(fleet.levels) - 1, 1)
    rank = {name: i / last for i, name in enumerate(fleet.levels)}
    levels = {e.id: rank[e.level] for e in fleet.endpoints.values() if e.codec is None}
    return levels, fleet.report_interval.total_seconds()


async def start_simulation(
    settings: Settings,
    count: int,
    *,
    ssh_port: int | None = None,
    interval: float | None = None,
    fault_rate: float = 0.08,
    seed: int = 1,
    spread: float | None = None,
) -> Simulation:
    """Enrol and start ``count`` simulated agents (the fleet's first ``count`` agent rooms)."""
    levels, fleet_interval = await asyncio.to_thread(_fleet_levels, settings.data_dir)
    endpoints = list(levels)[:count]
    if not endpoints:
        raise ValueError("no endpoints in the store: import a fleet first")
    keys = await asyncio.to_thread(enroll_simulated, settings.data_dir, endpoints)
    host_key = public_text(await asyncio.to_thread(ensure_host_key, settings.data_dir))
    address = (settings.ssh_host, ssh_port or settings.ssh_port)
    every = interval or fleet_interval
    spread = min(10.0, 0.02 * len(endpoints)) if spread is None else spread
    agents: dict[str, SimulatedAgent] = {}
    offline_later: list[str] = []
    for endpoint in endpoints:
        rng = random.Random(f"{seed}:{endpoint}")
        profile = profile_for(endpoint, levels.get(endpoint), seed, fault_rate)
        if profile.fault == "goes_offline":
            offline_later.append(endpoint)
        room = SimulatedRoom(profile, rng)
        sim = SimulatedAgent(endpoint, address, keys[endpoint], host_key, [room], every, rng)
        sim.start(first_delay=rng.uniform(0, spread))
        agents[endpoint] = sim
    return Simulation(agents, offline_later)


async def run_simulation(
    settings: Settings,
    count: int,
    *,
    ssh_port: int | None = None,
    interval: float | None = None,
    fault_rate: float = 0.08,
    seed: int = 1,
    codecs: CodecFaults | None = None,
) -> None:
    """Run ``count`` simulated agents until cancelled; rooms with the goes_offline fault drop
    out after a few reports, as a room losing power would. With ``codecs``, the fleet's codec
    rooms are served by simulated codecs (with those faults) that the scheduler polls."""
    lab = await attach_simulated_codecs(settings.data_dir, codecs) if codecs else None
    if lab is not None:
        log.info("simulating %d codecs at %s", len(lab.codecs), lab.base_url)
    try:
        await _run_agents(settings, count, ssh_port, interval, fault_rate, seed)
    finally:
        if lab is not None:
            await lab.close()


async def _run_agents(
    settings: Settings,
    count: int,
    ssh_port: int | None,
    interval: float | None,
    fault_rate: float,
    seed: int,
) -> None:
    sim = await start_simulation(
        settings, count, ssh_port=ssh_port, interval=interval, fault_rate=fault_rate, seed=seed
    )
    every = interval or 10.0
    log.info("simulating %d agents (%d will go offline)", len(sim.agents), len(sim.offline_later))
    try:
        await asyncio.sleep(every * 4)
        for endpoint in sim.offline_later:
            await sim.agents[endpoint].kill()
        await asyncio.Event().wait()
    finally:
        await sim.stop()
