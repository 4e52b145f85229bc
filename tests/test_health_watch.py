"""The visible-state sweep: it tells every change an operator would see (a report that changes
a room, silence turning it offline, the clock moving an offline room's words) and judges again
only the rooms that can have changed, so a sweep over 10,000 quiet rooms is a dict read each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from confsched.domain.health import Observation, judge
from confsched.runtime.health import StateWatcher, Visible
from confsched.services.health import HealthBoard
from confsched.store.health import StoredHealth

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def _report(board: HealthBoard, endpoint: str, at: datetime, **checks: bool) -> None:
    obs = Observation(endpoint, at, {"camera": True, "audio": True, **checks}, {}, {})
    board.latest[endpoint] = StoredHealth(judge(obs, board.thresholds), 1, at, 10.0, "a" * 16)


def _seen(board: HealthBoard, endpoints: list[str], now: datetime) -> Visible:
    """The reference: every room judged in full, as the sweep did before."""
    out = {}
    for endpoint in endpoints:
        health = board.health(endpoint, now)
        out[endpoint] = (health.state, health.reasons)
    return out


def test_the_sweep_tells_every_visible_change_and_judges_only_what_can_have_changed() -> None:
    board = HealthBoard()
    rooms = ["a", "b", "c", "never"]
    for room in rooms[:3]:
        _report(board, room, T0)
    watcher = StateWatcher(board)
    steps: list[tuple[datetime, bool, int]] = []

    def sweep(now: datetime) -> None:
        changed = watcher.changed(rooms, now)
        steps.append((now, changed, watcher.judged))
        assert watcher.visible == _seen(board, rooms, now)

    sweep(T0)  # first sweep: everything judged, and that is a change
    sweep(T0 + timedelta(seconds=1))  # nothing new: nothing judged
    _report(board, "a", T0 + timedelta(seconds=2), camera=False)  # a turns down
    sweep(T0 + timedelta(seconds=2))
    _report(board, "b", T0 + timedelta(seconds=3))  # b reports the same: no visible change
    sweep(T0 + timedelta(seconds=3))
    # 30 s of silence (3 intervals of 10 s): c turns offline, then its words move each second
    sweep(T0 + timedelta(seconds=30.5))
    sweep(T0 + timedelta(seconds=31.5))
    assert [(changed, judged) for _, changed, judged in steps] == [
        (True, 4),
        (False, 0),
        (True, 1),
        (False, 1),
        (True, 1),  # c offline; a and b were heard later, their moment has not come
        (True, 1),  # "no report for 31 s": c judged again, the others not
    ]


def test_a_new_report_interval_judges_every_room_again() -> None:
    board = HealthBoard()
    _report(board, "a", T0)
    watcher = StateWatcher(board)
    watcher.changed(["a"], T0)
    board.default_interval = timedelta(seconds=5)
    assert not watcher.changed(["a"], T0 + timedelta(seconds=1))
    assert watcher.judged == 1


def test_rooms_leaving_the_fleet_leave_the_sweep() -> None:
    board = HealthBoard()
    for room in ("a", "b"):
        _report(board, room, T0)
    watcher = StateWatcher(board)
    watcher.changed(["a", "b"], T0)
    assert watcher.changed(["a"], T0 + timedelta(seconds=1))
    assert set(watcher.visible) == {"a"}
    assert not watcher.changed(["a"], T0 + timedelta(seconds=2))


def test_ten_thousand_quiet_rooms_cost_a_dict_read_each() -> None:
    board = HealthBoard()
    rooms = [f"r{i:05d}" for i in range(10_000)]
    for room in rooms:
        _report(board, room, T0)
    watcher = StateWatcher(board)
    watcher.changed(rooms, T0)
    assert watcher.judged == 10_000
    for second in range(1, 6):
        assert not watcher.changed(rooms, T0 + timedelta(seconds=second))
        assert watcher.judged == 0
