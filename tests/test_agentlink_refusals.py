"""Bad lines on the SSH channel are refused and counted; other agents never notice."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import asyncssh
from confsched_agent import wire

from confsched.runtime.components import Components
from tests.test_agentlink import ENDPOINT, OTHER, enrolled, eventually, make_agent


async def raw_channel(ctx: Components, endpoint: str):  # type: ignore[no-untyped-def]
    """A hand-driven connection with the endpoint's real key: write anything, read replies."""
    config = await enrolled(ctx, endpoint)
    host, port = config.scheduler_address
    conn = await asyncssh.connect(
        host,
        port,
        username=endpoint,
        client_keys=[asyncssh.read_private_key(config.key)],
        known_hosts=asyncssh.import_known_hosts(f"[{host}]:{port} {config.host_key}\n"),
        agent_path=None,
        config=[],
    )
    process = await conn.create_process(encoding=None)
    return conn, process


async def replies(process, count: int) -> list[wire.Message]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(count):
        line = await asyncio.wait_for(process.stdout.readline(), 5)
        out.append(wire.decode(line))
    return out


def report_line(seq: int, endpoint: str | None = None) -> bytes:
    report = wire.Report(seq, datetime.now(UTC), {"camera": wire.Check(True)}, {}, None, endpoint)
    return wire.encode(report)


async def test_garbage_oversized_and_foreign_reports_refused_others_unharmed(
    server: Components,
) -> None:
    board = server.board
    links = server.agentlink
    good_config = await enrolled(server, OTHER)
    agent, link, _ = make_agent(good_config)
    good = asyncio.create_task(link.run())
    conn, process = await raw_channel(server, ENDPOINT)
    try:
        await eventually(lambda: OTHER in links.agents)
        process.stdin.write(b"\x00\xffnot json at all\n")
        process.stdin.write(b'{"v": 1, "type": "report", "seq": "x"}\n')
        process.stdin.write(b"{" + b" " * (wire.MAX_LINE + 10) + b"}\n")
        process.stdin.write(report_line(5, endpoint=OTHER))
        process.stdin.write(json.dumps({"v": 1, "type": "ack", "seq": 1}).encode() + b"\n")
        process.stdin.write(report_line(6, endpoint=ENDPOINT))
        got = await replies(process, 6)
        reasons = [m.reason for m in got if isinstance(m, wire.Reject)]
        assert reasons == ["not_json", "bad_field", "too_long", "wrong_endpoint", "unexpected"]
        assert got[3] == wire.Reject(
            "wrong_endpoint", f"this key belongs to {ENDPOINT}, not {OTHER}", 5
        )
        assert got[5] == wire.Ack(6)  # the channel still works after all that
        await agent.report_once()  # and the other agent is still connected and reporting
        await eventually(lambda: OTHER in board.latest)
        assert link.connects == 1 and OTHER in links.agents and ENDPOINT in links.agents
        assert board.reports_rejected == {
            "not_json": 1,
            "bad_field": 1,
            "too_long": 1,
            "wrong_endpoint": 1,
            "unexpected": 1,
        }
        assert board.latest[ENDPOINT].seq == 6
    finally:
        conn.close()
        link.stop()
        await good


async def test_a_connection_sending_only_garbage_is_closed_alone(server: Components) -> None:
    board = server.board
    links = server.agentlink
    good_config = await enrolled(server, OTHER)
    _, link, _ = make_agent(good_config)
    good = asyncio.create_task(link.run())
    conn, process = await raw_channel(server, ENDPOINT)
    try:
        await eventually(lambda: OTHER in links.agents and ENDPOINT in links.agents)
        process.stdin.write(b"garbage\n" * 150)
        await eventually(lambda: ENDPOINT not in links.agents)
        assert board.connections_closed["garbage"] == 1
        assert OTHER in links.agents and link.connects == 1
    finally:
        conn.close()
        link.stop()
        await good


async def test_a_second_channel_or_a_subsystem_is_refused(server: Components) -> None:
    conn, _process = await raw_channel(server, ENDPOINT)
    try:
        try:
            await conn.create_process(encoding=None)
            refused = False
        except asyncssh.ChannelOpenError:
            refused = True
        assert refused
    finally:
        conn.close()
