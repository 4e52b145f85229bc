"""The simulator: real agents over SSH with pretend rooms, some of them faulty."""

from __future__ import annotations

from datetime import UTC, datetime

from confsched.domain.model import EndpointState
from confsched.runtime.components import Components
from confsched.simulate import RoomProfile, SimulatedRoom, profile_for, start_simulation
from tests.test_agentlink import eventually


async def test_simulated_agents_go_live_and_a_killed_one_goes_offline(
    server: Components,
) -> None:
    board = server.board
    settings = server.ctx.settings
    sim = await start_simulation(
        settings,
        12,
        ssh_port=server.ssh_port,
        interval=1.0,
        spread=0.2,
        fault_rate=0.0,
    )
    try:
        await eventually(lambda: len(board.latest) == 12, timeout=15)
        now = datetime.now(UTC)
        assert all(board.health(e, now).state is EndpointState.OK for e in sim.agents)
        victim = next(iter(sim.agents))
        await sim.agents[victim].kill()
        await eventually(
            lambda: board.health(victim, datetime.now(UTC)).state is EndpointState.OFFLINE,
            timeout=6,
        )
    finally:
        await sim.stop()


async def test_faulty_rooms_report_their_faults() -> None:
    import random

    camera = await SimulatedRoom(RoomProfile(fault="camera_unplugged"), random.Random(1)).run()
    assert camera.checks["camera"].ok is False
    lossy = await SimulatedRoom(RoomProfile(loss_ratio=0.04, fault="lossy"), random.Random(1)).run()
    assert 0.02 < lossy.measurements["loss_ratio"] < 0.07


def test_fault_profiles_are_stable_and_some_rooms_are_faulty() -> None:
    profiles = [profile_for(f"room-{i}", None, 1, 0.08) for i in range(500)]
    again = [profile_for(f"room-{i}", None, 1, 0.08) for i in range(500)]
    assert [p.fault for p in profiles] == [p.fault for p in again]
    faulty = sum(1 for p in profiles if p.fault)
    assert 15 < faulty < 70
