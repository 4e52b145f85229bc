"""The console's live view depends on the revision moving when a visible state changes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from confsched.domain.model import EndpointHealth, EndpointState
from confsched.runtime.components import Components
from confsched.store.health import StoredHealth


async def revision_moves_past(ctx: Components, revision: int, within: float) -> bool:
    return await ctx.ctx.wait_for_change(revision, within) != revision


async def test_a_report_that_changes_a_state_and_silence_both_move_the_revision(
    server: Components,
) -> None:
    board = server.board
    await asyncio.sleep(1.2)  # let the first sweep record the initial states
    now = datetime.now(UTC)
    before = server.ctx.revision
    health = EndpointHealth("tinh-uy", EndpointState.OK, (), now)
    board.latest["tinh-uy"] = StoredHealth(health, 1, now, 10.0)
    assert await revision_moves_past(server, before, 2.0)

    settled = server.ctx.revision
    long_ago = now - timedelta(minutes=5)
    silent = EndpointHealth("tinh-uy", EndpointState.OK, (), long_ago)
    board.latest["tinh-uy"] = StoredHealth(silent, 2, long_ago, 10.0)
    assert await revision_moves_past(server, settled, 2.0)
    assert board.health("tinh-uy", datetime.now(UTC)).state is EndpointState.OFFLINE


async def test_nothing_visible_changing_leaves_the_revision_alone(server: Components) -> None:
    await asyncio.sleep(1.2)
    before = server.ctx.revision
    assert not await revision_moves_past(server, before, 1.5)
