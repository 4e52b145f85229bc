"""Letting a crowd in: the pace follows the handshakes' duration, and each agent turned away is
given its own time to come back, after everyone before it, at that pace."""

from __future__ import annotations

import asyncio
import itertools
import struct

import asyncssh
import pytest

from confsched.agentlink.admission import BANNER, Pacer, Turns, disconnect_packet, say_busy


def test_the_pace_is_the_places_over_a_handshakes_duration() -> None:
    pacer = Pacer(256, first_seconds=2.0)
    assert pacer.rate() == 128.0
    for _ in range(200):
        pacer.completed(0.5)
    assert pacer.rate() == pytest.approx(512.0, rel=0.01)


def test_slow_handshakes_lower_the_pace_within_a_few_dozen() -> None:
    pacer = Pacer(256, first_seconds=0.5)
    for _ in range(40):
        pacer.completed(8.0)  # a loaded machine: every handshake near the login grace
    assert pacer.rate() < 256 / 4.0


def test_a_stalled_scheduler_slows_the_pace_down_to_one_login_grace_per_place() -> None:
    pacer = Pacer(256, first_seconds=0.5, longest=8.0)
    assert pacer.rate(stalled=0.2) == 512.0  # a moment without completions: nothing to say
    assert pacer.rate(stalled=4.0) == 64.0  # none for 4 s: handshakes take at least that
    assert pacer.rate(stalled=600.0) == 32.0  # never slower: the grace ends every handshake


def test_completions_counted_raise_a_pace_the_smoothed_duration_lags_behind() -> None:
    """A crowd's first handshakes were long (8 s each: the scheduler was starting), then 600
    end within a second: appointments follow the 300 a second counted over the last 2 s, not
    the 32 the smoothed duration still says; once the count ages out the estimate is back."""
    pacer = Pacer(256, first_seconds=8.0)
    for i in range(600):
        pacer.completed(8.0, now=100.0 + i / 600)
    assert pacer.rate() == pytest.approx(32.0)
    assert pacer.rate(now=101.0) == pytest.approx(300.0)
    assert pacer.appointment(now=101.0, ahead=300) == pytest.approx(301 / 300)
    assert pacer.room(now=101.0) == 3000
    assert pacer.rate(now=110.0) == pytest.approx(32.0)


def test_turns_follow_one_another_and_start_from_now_after_a_quiet_spell() -> None:
    turns = Turns()
    assert turns.take(10.0, ahead=1.0, step=0.5) == 1.5
    assert turns.take(10.0, ahead=1.0, step=0.5) == 2.0  # after the one before, not with it
    assert turns.take(100.0, ahead=0.0, step=0.5) == 0.5


def test_appointments_come_after_those_waiting_and_after_each_other() -> None:
    pacer = Pacer(100, first_seconds=1.0)  # 100 logins a second: one every 10 ms
    first = pacer.appointment(now=50.0, ahead=300)
    assert first == pytest.approx(3.01)
    times = [50.0 + first]
    for i in range(1, 100):
        now = 50.0 + i * 0.001  # the rest of the crowd, a millisecond apart
        times.append(now + pacer.appointment(now=now, ahead=300))
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(g == pytest.approx(0.01) for g in gaps)  # spread at the pace, none together


def test_after_a_quiet_spell_appointments_start_from_now_again() -> None:
    pacer = Pacer(100, first_seconds=1.0)
    pacer.appointment(now=0.0, ahead=1000)  # a crowd, told to come back over 10 s
    assert pacer.appointment(now=600.0, ahead=0) == pytest.approx(0.01)


def test_no_appointment_is_beyond_the_horizon() -> None:
    """A crowd's first pace is its lowest (8 s a handshake: 32 logins a second, 10,000 agents
    would be told up to five minutes ahead): times stop at the horizon, the queue goes on from
    there once time has passed, and agents back at the horizon are told again then."""
    pacer = Pacer(256, first_seconds=8.0, horizon=20.0)
    times = [pacer.appointment(now=0.0, ahead=256) for _ in range(10_000)]
    assert times[0] == pytest.approx(257 / 32)
    assert times[1] - times[0] == pytest.approx(1 / 32)
    assert max(times) == 20.0 and times.count(20.0) > 9_000
    assert pacer.appointment(now=5.0, ahead=0) == pytest.approx(15.0 + 1 / 32)


def test_turns_stop_at_the_horizon() -> None:
    turns = Turns()
    assert turns.take(0.0, ahead=18.0, step=1.0, horizon=20.0) == 19.0
    assert turns.take(0.0, ahead=18.0, step=1.0, horizon=20.0) == 20.0
    assert turns.take(0.0, ahead=18.0, step=1.0, horizon=20.0) == 20.0
    assert turns.take(1.0, ahead=0.0, step=1.0, horizon=20.0) == 20.0  # the queue goes on


def test_the_waiting_room_holds_ten_seconds_of_logins_within_bounds() -> None:
    assert Pacer(256, first_seconds=2.0).room() == 1280
    assert Pacer(256, first_seconds=1000.0).room() == 32
    assert Pacer(256, first_seconds=0.01).room() == 4096


def test_the_disconnect_is_a_well_formed_unencrypted_ssh_packet() -> None:
    packet = disconnect_packet(12, "busy: come back in 7.5 s")
    length, padding = struct.unpack(">IB", packet[:5])
    assert len(packet) == 4 + length and len(packet) % 8 == 0 and padding >= 4
    assert packet[5] == 1  # SSH_MSG_DISCONNECT
    (code,) = struct.unpack(">I", packet[6:10])
    assert code == 12 and b"busy: come back in 7.5 s" in packet


async def test_an_ssh_client_reads_the_door_answer_as_a_disconnect_with_its_delay() -> None:
    async def door(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.transport.get_extra_info("socket").dup()
        writer.transport.abort()
        sock.setblocking(False)
        await say_busy(sock, 7.5)

    server = await asyncio.start_server(door, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(asyncssh.DisconnectError) as caught:
            await asyncssh.connect(
                "127.0.0.1", port, username="x", known_hosts=None, agent_path=None, config=[]
            )
        assert caught.value.code == 12
        assert caught.value.reason.startswith("busy: come back in 7.5 s")
    finally:
        server.close()
        await server.wait_closed()


def test_the_door_speaks_as_the_ssh_server_does() -> None:
    assert BANNER == b"SSH-2.0-confsched\r\n"
